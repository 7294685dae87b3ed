"""The built-in recommenders, after the course's: Random, TopPop, StickyArtist, Indexed,
Contextual, HistoryI2I (item-to-item over the user's recent listens), SessionArtists (the
session's first track's list, leaving the artists the session tired of) and Replay (what the user
enjoyed before, of the session's genre)."""

from __future__ import annotations

import numpy as np

from botify.data import DataView, Read, history_key, items_key, session_key, users_key
from botify.recommenders.base import Recommender
from botify.recommenders.draws import Ranked, Uniform, Weighted
from botify.recommenders.genres import Genres


def _check_source(source: object) -> str:
    if not isinstance(source, str) or not source:
        raise ValueError("option 'source' must name a data source of the config")
    return source


def _absent(sorted_tracks: np.ndarray, tracks: np.ndarray) -> np.ndarray:
    """A mask of `sorted_tracks` that are not among `tracks`: a binary search each (np.isin
    costs more in its own set-up than this whole search, for the few tracks of a session)."""
    keep = np.ones(len(sorted_tracks), dtype=bool)
    at = np.searchsorted(sorted_tracks, tracks)
    inside = at < len(sorted_tracks)
    at = at[inside]
    keep[at[sorted_tracks[at] == tracks[inside]]] = False
    return keep


def _check_fraction(name: str, value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"option '{name}' must be a fraction in [0, 1], got {value!r}")
    return float(value)


def _check_positive_int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"option '{name}' must be a positive integer, got {value!r}")
    return value


class Random(Recommender):
    """A uniformly random track of the catalog, whatever its ids are."""

    def candidates(self, user, prev_track, prev_track_time):
        return self.data.catalog.ids

    def draw(self, user, prev_track, prev_track_time):
        if self.ranked:
            return super().draw(user, prev_track, prev_track_time)
        catalog = self.data.catalog  # its index counts the excluded tracks without a scan
        uniform = Uniform(catalog.ids, self.excluded(user, prev_track), catalog.__contains__)
        return uniform if uniform.left else None


class TopPop(Recommender):
    """A track of the top chart: a random one among the top `top_n`, or the best (`ranked`)."""

    def __init__(self, data: DataView, *, top_n: int | None = None, **options):
        super().__init__(data, **options)
        self.top_n = None if top_n is None else _check_positive_int("top_n", top_n)

    def candidates(self, user, prev_track, prev_track_time):
        return self.data.top_tracks[: self.top_n]

    def describe(self):
        return {**super().describe(), "top_n": self.top_n}


class StickyArtist(Recommender):
    """Another track of the artist of the previous track (`anchor: "previous"`) or of the
    session's first track (`anchor: "session_first"`)."""

    ANCHORS = ("previous", "session_first")

    def __init__(self, data: DataView, *, anchor: str = "previous", **options):
        super().__init__(data, **options)
        if anchor not in self.ANCHORS:
            raise ValueError(f"option 'anchor' must be one of {self.ANCHORS}, got {anchor!r}")
        self.anchor = anchor
        if anchor == "session_first":
            self.state = self.state | {"session"}

    def reads(self, user: int, prev_track: int) -> list[Read]:
        reads = super().reads(user, prev_track)
        if self.anchor == "session_first" and not self.no_repeat:
            reads.append(session_key(user))
        return reads

    def candidates(self, user, prev_track, prev_track_time):
        anchor = prev_track
        if self.anchor == "session_first":
            first = self.data.session(user).first_track
            anchor = prev_track if first is None else first  # the session starts with prev_track
        catalog = self.data.catalog
        artist = catalog.artist_of(anchor)
        if artist is None:
            return None
        tracks = catalog.tracks_of_artist(artist)
        return tracks[(tracks != prev_track) & (tracks != anchor)]

    def describe(self):
        return {**super().describe(), "anchor": self.anchor}


class _ListSourced(Recommender):
    """A recommender whose candidates are one list of a list source, read with the chain's
    other reads."""

    def __init__(self, data: DataView, *, source: str, **options):
        super().__init__(data, **options)
        self.source = _check_source(source)

    def list_read(self, user: int, prev_track: int) -> Read:
        raise NotImplementedError

    def reads(self, user: int, prev_track: int) -> list[Read]:
        return [*super().reads(user, prev_track), self.list_read(user, prev_track)]

    def describe(self):
        return {**super().describe(), "source": self.source}


class Indexed(_ListSourced):
    """The user's precomputed list from a per-user recommendations source."""

    def list_read(self, user: int, prev_track: int) -> Read:
        return users_key(self.source, user)

    def candidates(self, user, prev_track, prev_track_time):
        return self.data.user_recommendations(self.source, user)


class Contextual(_ListSourced):
    """The previous track's item-to-item list from an item source ("catalog" is the lists that
    the catalog's own lines carry)."""

    def list_read(self, user: int, prev_track: int) -> Read:
        return items_key(self.source, prev_track)

    def candidates(self, user, prev_track, prev_track_time):
        return self.data.item_recommendations(self.source, prev_track)


class HistoryI2I(_ListSourced):
    """Item-to-item over the user's last `history` listens: every anchor's list votes for its
    tracks, by the anchor's listened fraction and the track's rank in the list. Tracks of the
    history are left out. A random pick draws in proportion to the votes."""

    def __init__(self, data: DataView, *, source: str, history: int = 10, **options):
        super().__init__(data, source=source, **options)
        self.history = _check_positive_int("history", history)
        self.state = self.state | {"history"}

    def list_read(self, user: int, prev_track: int) -> Read:
        return items_key(self.source, prev_track)

    def reads(self, user: int, prev_track: int) -> list[Read]:
        return [*super().reads(user, prev_track), history_key(user)]

    def scored(
        self,
        user: int,
        prev_track: int,
        prev_track_time: float,
        excluded: frozenset[int] = frozenset(),
    ):
        """The candidates, best first, and their votes; neither the anchors nor `excluded`."""
        listens = self.data.history(user)[: self.history]  # this request's listen first
        anchors = np.array([track for track, _ in listens], dtype=np.int64)
        weights = np.array([time for _, time in listens], dtype=np.float64)
        if not weights.any():
            weights[:] = 1.0  # nothing was listened to: every anchor counts the same
        lists = self.data.item_recommendations_many(self.source, anchors.tolist())
        voters = [
            (lst, w) for lst, w in zip(lists, weights, strict=True) if lst is not None and w > 0
        ]
        if not voters:
            return None, None
        tracks = np.concatenate([lst for lst, _ in voters])
        votes = np.concatenate([w / np.log2(np.arange(len(lst)) + 2.0) for lst, w in voters])
        unique, inverse = np.unique(tracks, return_inverse=True)
        scores = np.bincount(inverse, weights=votes)
        left_out = np.concatenate([anchors, np.fromiter(excluded, np.int64, len(excluded))])
        keep = _absent(unique, left_out.astype(unique.dtype, copy=False))
        unique, scores = unique[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")
        return unique[order], scores[order]

    def candidates(self, user, prev_track, prev_track_time):
        return self.scored(user, prev_track, prev_track_time)[0]

    def draw(self, user, prev_track, prev_track_time):
        tracks, scores = self.scored(
            user, prev_track, prev_track_time, self.excluded(user, prev_track)
        )
        if tracks is None or len(tracks) == 0:
            return None
        if self.ranked:
            return Ranked(int(tracks[0]))
        return Weighted(tracks, scores)

    def describe(self):
        return {**super().describe(), "history": self.history}


class _LeavesTiredArtists(_ListSourced):
    """A list-sourced link that leaves out the artists the session tired of: those whose latest
    listen in the session was below `tired` (so it reads the session and the history)."""

    def __init__(self, data: DataView, *, source: str, tired: float = 0.3, **options):
        super().__init__(data, source=source, **options)
        self.tired = _check_fraction("tired", tired)
        self.state = self.state | {"session", "history"}

    def reads(self, user: int, prev_track: int) -> list[Read]:
        return [*super().reads(user, prev_track), session_key(user), history_key(user)]

    def without_tired(
        self, user: int, prev_track: int, prev_track_time: float, tracks: list[int]
    ) -> list[int]:
        if not self.tired:
            return tracks
        catalog, session = self.data.catalog, self.data.session(user)
        played = session.seen | {prev_track}
        latest: dict[int | None, float] = {}
        # newest first, this request's listen included; the history holds earlier sessions too,
        # so only this session's tracks
        for track, time in self.data.history(user):
            if track in played:
                latest.setdefault(catalog.artist_of(track), time)
        tired = {artist for artist, time in latest.items() if time < self.tired}
        return [t for t in tracks if catalog.artist_of(t) not in tired] if tired else tracks

    def describe(self):
        return {**super().describe(), "tired": self.tired}


class SessionArtists(_LeavesTiredArtists):
    """The item-to-item list of the session's first track (the listener's mood, which the
    session's later tracks only approximate), in its order, without the tracks of the artists
    the session tired of. A list that plays an artist then moves to others (offline's
    `affinity`) is followed as far as the listener enjoys each artist."""

    def list_read(self, user: int, prev_track: int) -> Read:
        return items_key(self.source, prev_track)  # the first track's, on a session's first /next

    def candidates(self, user, prev_track, prev_track_time):
        session = self.data.session(user)
        anchor = prev_track if session.first_track is None else session.first_track
        tracks = self.data.item_recommendations(self.source, anchor)
        if tracks is None:
            return None
        return self.without_tired(user, prev_track, prev_track_time, tracks.tolist())


class Replay(_LeavesTiredArtists):
    """The user's list from a per-user source (offline's `enjoyed`: the tracks they enjoyed
    before), only its tracks of the genre of the session's first track (the catalog's `genre`
    field: the session's mood), best first, without the artists the session tired of."""

    def __init__(self, data: DataView, *, source: str, tired: float = 0.3, **options):
        super().__init__(data, source=source, tired=tired, **options)
        self.genres = Genres(data, "replay")

    def list_read(self, user: int, prev_track: int) -> Read:
        return users_key(self.source, user)

    def candidates(self, user, prev_track, prev_track_time):
        tracks = self.data.user_recommendations(self.source, user)
        if tracks is None:
            return None
        first = self.data.session(user).first_track
        genre = self.genres.of(prev_track if first is None else first)
        mood = [t for t in tracks.tolist() if self.genres.of(t) == genre]
        return self.without_tired(user, prev_track, prev_track_time, mood)


BUILTIN: dict[str, type[Recommender]] = {
    "random": Random,
    "top_pop": TopPop,
    "sticky_artist": StickyArtist,
    "indexed": Indexed,
    "contextual": Contextual,
    "history_i2i": HistoryI2I,
    "session_artists": SessionArtists,
    "replay": Replay,
}
