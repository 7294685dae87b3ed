"""Each model on a small log where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from offline.learn.als import ALSParams, fit_als
from offline.learn.catalog_prior import artist_depth, catalog_lists
from offline.learn.item2item import I2IParams, fit_i2i
from offline.learn.listens import read_listens
from offline.learn.popularity import listened_time, top_by_plays, top_tracks
from offline.learn.ranking import PAD
from offline.learn.tracks import load_tracks
from tests.train.helpers import log_events, write_catalog, write_events


def listens_of(tmp_path, sessions, artists, genres=None):
    tracks = load_tracks(write_catalog(tmp_path / "tracks.json", artists, genres))
    write_events(tmp_path / "log" / "events.jsonl", log_events(sessions))
    listens, account = read_listens([str(tmp_path / "log")], tracks)
    return tracks, listens, account


def ids(tracks, row) -> list[int]:
    return tracks.ids[row[row != PAD]].tolist()


# Tracks 0..11, each by its own artist, so that the catalog suggests nothing.
SOLO = list(range(12))


def followed_log():
    """Track 1 is always followed by track 2, listened to almost fully, except in sessions
    where 3 follows it and is skipped at once; 4 follows 1 once, half listened."""
    sessions = [(u, [(1, 1.0), (2, 0.9), (5, 0.2)]) for u in range(10)]
    sessions += [(u, [(1, 1.0), (3, 0.0), (6, 0.1)]) for u in range(10, 14)]
    sessions += [(20, [(1, 1.0), (4, 0.5)])]
    return sessions


@pytest.mark.parametrize("method", ["next", "session", "blend"])
def test_a_track_always_listened_after_another_comes_first(tmp_path, method):
    tracks, listens, _ = listens_of(tmp_path, followed_log(), SOLO)
    i2i = fit_i2i(listens, tracks, I2IParams(n=5), als_similar=None if method != "blend" else
                  np.full((len(tracks), 5), PAD), methods=(method,))  # fmt: skip
    row = ids(tracks, i2i.method(method)[1])
    assert row[0] == 2
    # Skipped every time it followed: negative evidence keeps 3 out of the list.
    assert 3 not in row


def test_next_ranks_by_shrunk_mean_and_leaves_out_what_was_skipped(tmp_path):
    tracks, listens, _ = listens_of(tmp_path, followed_log(), SOLO)
    lists = fit_i2i(listens, tracks, I2IParams(n=5, prior=2.0), None, ("next",)).method("next")
    # Transitions' mean listened fraction: (10 * 0.9 + 0 * 4 + 0.5 + 0.2 * 10 + 0.1 * 4) / 29.
    # 2: 10 listens at 0.9 -> well above; 4: one listen at 0.5, shrunk towards the mean, above;
    # 3: four skips -> below; 5 after 2 (0.2) is below the mean too.
    assert ids(tracks, lists[1]) == [2, 4]
    assert ids(tracks, lists[2]) == []


def test_session_component_counts_listens_further_apart_less(tmp_path):
    sessions = [(u, [(7, 1.0), (8, 0.9), (9, 0.9), (10, 0.9)]) for u in range(5)]
    tracks, listens, _ = listens_of(tmp_path, sessions, SOLO)
    params = I2IParams(n=5, window=2, decay=0.5)
    lists = fit_i2i(listens, tracks, params, None, ("session",)).method("session")
    # Within 2 listens only: 7 -> 8 (weight 0.9), 9 (0.9 * 0.5); 10 is 3 apart.
    assert ids(tracks, lists[7]) == [8, 9]
    assert ids(tracks, lists[9]) == [8, 10, 7]


def two_taste_sessions():
    """Users 0..9 listen to tracks 0..4, users 10..19 to tracks 5..9, each a few times."""
    rng = np.random.default_rng(3)
    sessions = []
    for user in range(20):
        pool = np.arange(5) if user < 10 else np.arange(5, 10)
        for _ in range(3):
            picks = rng.choice(pool, 3, replace=False)
            sessions.append((user, [(int(t), 0.9) for t in picks]))
    return sessions


def test_als_users_get_their_own_taste_and_tracks_their_own_neighbours(tmp_path):
    tracks, listens, _ = listens_of(tmp_path, two_taste_sessions(), SOLO)
    model = fit_als(listens, ALSParams(factors=2, iterations=20, regularization=0.01))
    users, lists = model.recommend(5)
    assert users.tolist() == list(range(20))
    for user, row in zip(users.tolist(), lists, strict=True):
        expected = set(range(5)) if user < 10 else set(range(5, 10))
        assert set(ids(tracks, row)) == expected, user
    # The evaluation asks for some users only; unknown ones are left out.
    users, some = model.recommend(5, only=np.array([3, 15, 99]))
    assert users.tolist() == [3, 15] and (some == lists[[3, 15]]).all()
    similar = model.similar(len(tracks), 4)
    assert set(ids(tracks, similar[0])) == {1, 2, 3, 4}
    assert set(ids(tracks, similar[7])) == {5, 6, 8, 9}
    # Never played: no factors, no list.
    assert ids(tracks, similar[11]) == []
    some = model.similar(len(tracks), 4, only=np.array([7, 11]))
    assert (some[7] == similar[7]).all() and (some[[0, 11]] == PAD).all()


# Artist 0: tracks 0..5, artist 1: 6..8, artist 2: 9..10 (all genre 0); artist 3: 11 (genre 1).
ARTISTS = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
GENRES = [0] * 11 + [1]


def fatigue_sessions(n: int = 25):
    """Sessions from track 0: the artist's 2nd play is heard at 0.8, the 3rd at 0.5, the 4th at
    0.1; a first play of a genre-mate artist at 0.3."""
    return [(u, [(0, 1.0), (1, 0.8), (2, 0.5), (3, 0.1), (6, 0.3), (9, 0.3)]) for u in range(n)]


def test_catalog_learns_how_many_of_the_artist_to_list_before_genre_mates(tmp_path):
    tracks, listens, _ = listens_of(tmp_path, fatigue_sessions(), ARTISTS, GENRES)
    depth = artist_depth(listens, tracks.artists, tracks.genres, 10)
    assert depth.repeat_means == pytest.approx([0.8, 0.5, 0.1])
    assert depth.genre_mean == pytest.approx(0.3)
    assert depth.depth == 2
    lists = catalog_lists(
        tracks.artists, tracks.genres, listened_time(listens, len(tracks)), depth, 10
    )
    # Artist 0's two most listened others, then the best track of each genre-mate artist.
    assert ids(tracks, lists[0]) == [1, 2, 6, 9]
    # Track 6: its artist's others (never played: catalog order), then artist 0's best (0,
    # listened fully 25 times) and artist 2's; artist 3 is of another genre.
    assert ids(tracks, lists[6]) == [7, 8, 0, 9]
    # Even a track nobody played has a list.
    assert ids(tracks, lists[10]) == [9, 0, 6]


def test_catalog_without_genres_lists_the_artist_alone(tmp_path):
    tracks, listens, _ = listens_of(tmp_path, fatigue_sessions(), ARTISTS)
    depth = artist_depth(listens, tracks.artists, tracks.genres, 10)
    assert depth.depth is None
    lists = catalog_lists(tracks.artists, None, listened_time(listens, len(tracks)), depth, 10)
    assert ids(tracks, lists[0]) == [1, 2, 3, 4, 5]
    assert ids(tracks, lists[11]) == []


def test_catalog_with_too_few_observations_sets_no_depth(tmp_path):
    tracks, listens, _ = listens_of(tmp_path, fatigue_sessions(5), ARTISTS, GENRES)
    assert artist_depth(listens, tracks.artists, tracks.genres, 10).depth is None


def test_top_tracks_weigh_listens_by_the_fraction_heard(tmp_path):
    # Track 3 is played most but skipped; track 1 is played less and heard fully.
    sessions = [(u, [(1, 1.0), (3, 0.05), (3, 0.05)]) for u in range(4)]
    sessions += [(u, [(2, 1.0), (3, 0.05)]) for u in range(4, 6)]
    tracks, listens, _ = listens_of(tmp_path, sessions, SOLO)
    assert ids(tracks, top_tracks(listens, len(tracks))) == [1, 2, 3]
    assert ids(tracks, top_by_plays(listens, len(tracks))) == [3, 1, 2]
    assert ids(tracks, top_tracks(listens, len(tracks), limit=2)) == [1, 2]
