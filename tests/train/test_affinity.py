"""The item-to-item `affinity` method on logs whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from offline.learn.artist_affinity import AffinityParams, affinity_lists, fatigue_of, fit_affinity
from offline.learn.popularity import listened_time
from tests.train.test_models import ids, listens_of

# Artist 0: tracks 0..3, artist 1: 4..6, artist 2: 7..9, artist 3: 10 (genre 0); artist 4: 11
# (genre 1).
ARTISTS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4]
GENRES = [0] * 11 + [1]
PARAMS = AffinityParams(prior=1.0, bonus=0.0, artists=10)


def sessions(n: int = 25):
    """From track 0, the artist tires (0.8, 0.64, 0.4); artist 1's first play is enjoyed
    (0.9) and its second at 0.72; artist 2's first play skipped (0.1)."""
    return [
        (u, [(0, 1.0), (1, 0.8), (2, 0.64), (3, 0.4), (4, 0.9), (5, 0.72), (7, 0.1)])
        for u in range(n)
    ]


def fitted(tmp_path, params=PARAMS, log=None):
    tracks, listens, _ = listens_of(tmp_path, log or sessions(), ARTISTS, GENRES)
    model = fit_affinity(listens, tracks.artists, tracks.genres, params)
    popularity = listened_time(listens, len(tracks))
    return (
        tracks,
        model,
        affinity_lists(model, tracks.artists, tracks.genres, popularity, params, 8),
    )


def test_pairs_count_first_plays_both_ways_weighted_by_the_earlier_listen(tmp_path):
    _, model, _ = fitted(tmp_path)
    weights, sums = model.weights.toarray(), model.sums.toarray()
    # 0 -> 1 (weight 1.0, heard 0.9), 0 -> 2 (1.0, 0.1), 1 -> 2 (0.9, 0.1), each way, 25 times.
    assert weights[0, 1] == weights[1, 0] == pytest.approx(25.0)
    assert sums[0, 1] / weights[0, 1] == pytest.approx(0.9)
    assert weights[1, 2] == pytest.approx(25 * 0.9)
    assert sums[1, 2] / weights[1, 2] == pytest.approx(0.1)
    assert weights[0, 3] == 0  # never paired
    assert model.repeat_means == pytest.approx([0.8, 0.64, 0.4])
    assert model.mate_mean == pytest.approx((25 * 0.9 + 25 * 0.1 + 22.5 * 0.1) / (25 + 25 + 22.5))


def test_lists_merge_the_artist_with_the_artists_its_listeners_enjoy_as_they_tire(tmp_path):
    tracks, model, lists = fitted(tmp_path)
    # Track 0: its artist's 2nd play (0.8), then artist 1's first (about 0.87), its own 3rd
    # (0.64) and artist 1's second (0.87 x 0.8)... ; the never-paired artist 3 (the genre's
    # mean) before artist 2, shown skipped; artist 4, another genre, never.
    listed = ids(tracks, lists[0])
    assert listed[:2] == [1, 4] or listed[:2] == [4, 1]
    assert listed.index(10) < listed.index(7)
    assert 11 not in listed and 0 not in listed
    assert set(listed[:5]) == {1, 2, 4, 5, 6}
    # A track's list leaves itself out; its artist's others lead.
    assert ids(tracks, lists[2])[0] in (1, 4) and 2 not in ids(tracks, lists[2])
    # Artist 1's listeners, by the pairs counted both ways, are led to artist 0.
    assert ids(tracks, lists[4])[:3].count(0) == 1


def test_thompson_draws_give_an_artists_tracks_different_untried_artists(tmp_path):
    # Artist 0 (4 tracks) is paired with artist 1 alone; artists 5..29 (genre 0, one track
    # each) were never tried. Drawn with a wide spread, its tracks' lists try different ones.
    artists = [0, 0, 0, 0, 1, 1, *range(5, 30)]
    genres = [0] * len(artists)
    log = [(u, [(0, 1.0), (4, 0.9)]) for u in range(5)]
    tracks, listens, _ = listens_of(tmp_path, log, artists, genres)
    model = fit_affinity(listens, tracks.artists, tracks.genres, PARAMS)
    popularity = listened_time(listens, len(tracks))

    def other_artists(params, track):
        lists = affinity_lists(model, tracks.artists, tracks.genres, popularity, params, 8)
        return [artists[t] for t in ids(tracks, lists[track]) if artists[t] not in (0, 1)][:3]

    wide = AffinityParams(prior=1.0, bonus=1.0, artists=5, variants=4)
    drawn = {tuple(other_artists(wide, track)) for track in range(4)}
    assert len(drawn) > 1  # the variants differ
    assert other_artists(wide, 0) == other_artists(wide, 0)  # seeded: the same run after run
    # Without spread every variant ranks alike: artist 1, then the genre's untried in order.
    flat = AffinityParams(prior=1.0, bonus=0.0, artists=5, variants=4)
    assert len({tuple(other_artists(flat, track)) for track in range(4)}) == 1


def test_the_genre_mates_mean_counts_each_pairs_first_observation(tmp_path):
    # Artist 1 was tried once after artist 0 and skipped (0.1); artist 2 once, enjoyed (0.9),
    # then played after artist 0 again and again for it: the mean of a first try stays 0.5.
    log = [(0, [(0, 1.0), (4, 0.1)]), (1, [(0, 1.0), (7, 0.9)])]
    log += [(u, [(0, 1.0), (8, 0.9)]) for u in range(2, 12)]
    each_alike = AffinityParams(prior=1.0, bonus=0.0, artists=10, listener_prior=1e12)
    _, model, _ = fitted(tmp_path, params=each_alike, log=log)
    assert model.mate_mean == pytest.approx(0.5)
    assert model.sums[0, 2] / model.weights[0, 2] == pytest.approx(0.9)


def test_fatigue_is_the_median_ratio_of_repeat_means():
    assert fatigue_of([0.8, 0.64, 0.512]) == pytest.approx(0.8)
    assert fatigue_of([]) == pytest.approx(0.8)  # no repeats seen: the default


def test_listener_effects_keep_who_tried_a_pair_from_deciding_its_affinity(tmp_path):
    # Artists 1 and 2 are as good as each other for artist 0's listeners, but only generous
    # listeners (users 0-9: they hear 0.4 more of everything) tried artist 1, and only sparing
    # ones (10-19) artist 2. Everyone tried artist 3 in sessions of their own too: that tells
    # the listeners apart. Three sessions of each: a listener's effect is shrunk by 3.
    log = []
    for user in range(20):
        heard, tried = (0.9, 4) if user < 10 else (0.5, 7)
        log += [(user, [(0, 1.0), (tried, heard)]), (user, [(0, 1.0), (10, heard)])] * 3

    def gap(params):
        _, model, _ = fitted(tmp_path, params=params, log=log)
        mean = model.sums.toarray() / np.maximum(model.weights.toarray(), 1e-12)
        return mean[0, 1] - mean[0, 2]

    alike = AffinityParams(prior=1.0, bonus=0.0, artists=10, listener_prior=1e12)
    assert gap(alike) == pytest.approx(0.4)
    # Half of a listener's observations tell their effect (d) apart: 6 d = 3 d + 0.6 with the
    # shrinkage of 3, so d = 0.1 and the gap halves; without shrinkage it closes.
    assert gap(PARAMS) == pytest.approx(0.2, abs=0.02)
    barely_shrunk = AffinityParams(prior=1.0, bonus=0.0, artists=10, listener_prior=0.01)
    assert abs(gap(barely_shrunk)) < 0.03
