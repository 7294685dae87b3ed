"""The course's recommender base, so that a course file's `from botify.recommenders.recommender
import Recommender` imports in botify. A class of this shape (not botify's
`botify.recommenders.Recommender`) runs in a chain through botify.recommenders.course_adapter."""


class Recommender:
    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        raise NotImplementedError()
