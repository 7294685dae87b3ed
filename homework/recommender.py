"""The homework's recommender (arm T1 of homework/config.json): replace it with yours.

A botify recommender subclasses `botify.recommenders.Recommender`, reads through `self.data`
(a `botify.data.DataView`) and answers candidates best first; the base class picks one (the best
with `"ranked": true`, else at random) and leaves out what the session already played or was
recommended (`"no_repeat": true`). A class written for the course's service also runs here as
it is: see docs/recommenders.md, "Course recommender classes in botify".

This example follows the user's taste of the moment: the item-to-item list of the track they
listened to longest among their last `history` listens (this request's own included), without
the tracks they just heard.
"""

from __future__ import annotations

from botify.data import DataView, Read, history_key, items_key
from botify.recommenders import Recommender


class Homework(Recommender):
    state = frozenset({"history"})  # the service keeps each user's recent listens

    def __init__(self, data: DataView, *, source: str, history: int = 10, **options):
        super().__init__(data, **options)
        self.source = source
        self.history = history

    def reads(self, user: int, prev_track: int) -> list[Read]:
        # Declared reads come in the request's one round trip with Redis.
        own = [history_key(user), items_key(self.source, prev_track)]
        return [*super().reads(user, prev_track), *own]

    def candidates(self, user, prev_track, prev_track_time):
        listens = self.data.history(user)[: self.history]  # newest first
        anchor = max(listens, key=lambda listen: listen[1])[0]  # the newest among equals
        tracks = self.data.item_recommendations(self.source, anchor)
        if tracks is None:
            return None  # nothing to say: the chain's next link answers
        heard = {track for track, _ in listens}
        return [track for track in tracks.tolist() if track not in heard]
