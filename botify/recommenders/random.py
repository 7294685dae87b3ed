"""The course's Random(track_redis), so that a course file's `from botify.recommenders.random
import Random` imports in botify. In a chain, botify's own `random` link (built-in, with its
propensity) is the one to use; a course class's parameter named `random...` or `fallback...` is
given the chain's next link (botify.recommenders.course_adapter)."""

from botify.recommenders.recommender import Recommender


class Random(Recommender):
    """A random catalog track: the track database's random key."""

    def __init__(self, track_redis):
        self.track_redis = track_redis

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        return int(self.track_redis.randomkey())
