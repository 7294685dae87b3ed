from .recommender import Recommender


class AnyTrack(Recommender):
    def __init__(self, track_redis):
        self.track_redis = track_redis

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        return int(self.track_redis.randomkey())


class Writes(Recommender):
    """Keeps its own history, as a course service's code might try to."""

    def __init__(self, listen_history_redis):
        self.listen_history_redis = listen_history_redis

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        self.listen_history_redis.lpush(f"user:{user}:listens", b"{}")
        return prev_track
