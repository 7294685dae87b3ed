import json
import pickle

from .recommender import Recommender


class LongestListen(Recommender):
    """The i2i list of the longest-listened track of the user's history (the newest of a tie),
    its first track not in the history; below half listened, or with no list, the fallback."""

    def __init__(self, listen_history_redis, i2i_redis, fallback_recommender):
        self.listen_history_redis = listen_history_redis
        self.i2i_redis = i2i_redis
        self.fallback_recommender = fallback_recommender

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        raw = self.listen_history_redis.lrange(f"user:{user}:listens", 0, -1)
        history = [json.loads(entry.decode("utf-8")) for entry in raw]
        if history:
            anchor = max(history, key=lambda entry: entry["time"])  # the first of a tie
            listed = self.i2i_redis.get(anchor["track"])
            if anchor["time"] >= 0.5 and listed is not None:
                heard = {entry["track"] for entry in history}
                for track in pickle.loads(listed):
                    if track not in heard:
                        return int(track)
        return self.fallback_recommender.recommend_next(user, prev_track, prev_track_time)
