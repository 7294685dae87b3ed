"""`course_i2i`: the course's I2IRecommender as a built-in, with the exact propensity of its draw.

The course's service answers with item-to-item lists over the user's last listens
(LISTEN_HISTORY_LIMIT = 10, this request's own listen included, since it records the listen before
it asks the recommender). Its definition, which this recommender keeps exactly:

- the last `history` listens, newest first; seen = their tracks;
- each distinct track among them is an anchor, weighted by its summed listened time;
- an anchor is drawn with probability proportional to its weight; its answer is the first track
  of its list that is not seen;
- an anchor with no list, or with no unseen track in it, is removed and the draw repeated among
  the rest; with no anchor left the course falls back to random: here the recommender answers
  None and the chain's next link answers (botify's chains end with Random).

Removal only ever removes anchors that give nothing, so that loop answers with probability
proportional to the summed weights of the anchors that give each answer: `draw` returns that
distribution (`Weighted`), and the event log gets its exact propensity.

Reads: the history and the list of this request's track (always an anchor) come in the request's
one round trip; the other anchors are known only once the history is read, so their lists cost
one more round trip (none for a list source held in memory, as small ones are).

Where the course's code raises, this answers None: when every anchor left has zero weight (all
their listens were at 0), `random.choices` raises ValueError in the course; here the chain's next
link answers. (Zero-weight anchors are never drawn while another has weight, in both.)

botify's options, which the course has neither of:
- `no_repeat`: an anchor's answer is the first track of its list neither seen nor played or
  recommended in this session; an anchor that this exhausts is skipped like one the history
  exhausts.
- `ranked`: the most probable answer of that distribution (the largest summed weight; a tie goes
  to the answer of the newest anchor), with probability 1.

The history is the one botify keeps (`history_length`, 20 by default, so `history` above that
reads only 20). Like the course's, it holds the listens of /next and /last.
"""

from __future__ import annotations

import numpy as np

from botify.data import DataView
from botify.recommenders.builtin import HistoryI2I
from botify.recommenders.draws import Ranked, Weighted

COURSE_HISTORY = 10  # the course's LISTEN_HISTORY_LIMIT


class CourseI2I(HistoryI2I):
    """The course's I2IRecommender: the first unseen track of an anchor's item-to-item list, the
    anchor drawn from the last `history` listens by listened time (see the module). HistoryI2I's
    options and reads; the course's draw."""

    def __init__(self, data: DataView, *, source: str, history: int = COURSE_HISTORY, **options):
        super().__init__(data, source=source, history=history, **options)

    def answers(self, user: int, prev_track: int) -> dict[int, float]:
        """Each distinct answer, with the summed weights of the anchors that give it; the newest
        anchor's answer first."""
        listens = self.data.history(user)[: self.history]  # this request's listen first
        weights: dict[int, float] = {}
        for track, time in listens:
            weights[track] = weights.get(track, 0.0) + time
        anchors = [track for track, weight in weights.items() if weight > 0]
        if not anchors:
            return {}
        left_out = weights.keys() | self.excluded(user, prev_track)
        answers: dict[int, float] = {}
        lists = self.data.item_recommendations_many(self.source, anchors)
        for anchor, tracks in zip(anchors, lists, strict=True):
            if tracks is None:
                continue
            answer = next((t for t in tracks.tolist() if t not in left_out), None)
            if answer is not None:
                answers[answer] = answers.get(answer, 0.0) + weights[anchor]
        return answers

    def candidates(self, user, prev_track, prev_track_time):
        answers = self.answers(user, prev_track)
        return sorted(answers, key=answers.__getitem__, reverse=True)  # stable: ties newest first

    def draw(self, user, prev_track, prev_track_time):
        answers = self.answers(user, prev_track)
        if not answers:
            return None
        if self.ranked:
            return Ranked(max(answers, key=answers.__getitem__))  # the first of a tie: newest
        tracks = np.fromiter(answers, dtype=np.int64, count=len(answers))
        weights = np.fromiter(answers.values(), dtype=np.float64, count=len(answers))
        return Weighted(tracks, weights)
