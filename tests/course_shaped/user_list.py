import random

from .recommender import Recommender


class UserList(Recommender):
    """A random track of the user's list other than the previous one; the fallback without one."""

    def __init__(self, recommendations_redis, catalog, fallback):
        self.recommendations_redis = recommendations_redis
        self.catalog = catalog
        self.fallback = fallback

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        listed = self.recommendations_redis.connection.get(user)
        if listed is None:
            return int(self.fallback.recommend_next(user, prev_track, prev_track_time))
        tracks = [t for t in self.catalog.from_bytes(listed) if t != prev_track]
        return random.choice(tracks)
