from botify.track import Catalog

from .recommender import Recommender


class NextOfArtist(Recommender):
    """The artist's track after the previous one, in the artist's list, round; a track the
    database does not know: a random key."""

    def __init__(self, track_redis, artist_redis, catalog: Catalog):
        self.track_redis = track_redis
        self.artist_redis = artist_redis
        self.catalog = catalog

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        track_bytes = self.track_redis.get(prev_track)
        if track_bytes is None:
            return int(self.track_redis.randomkey())
        track = self.catalog.from_bytes(track_bytes)
        tracks = self.catalog.from_bytes(self.artist_redis.get(track.artist))
        return tracks[(tracks.index(track.track) + 1) % len(tracks)]
