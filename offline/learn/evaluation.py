"""Offline evaluation: a time split of the logs, then hit rate and NDCG at k on what was held out.

- Split: sessions are ordered by their first event; those that start in the last `holdout`
  share of sessions are held out, whole (no session is cut in two, so no model sees the future
  of a session it is tested on). Models are trained on the rest.
- Cases: every listen of a held-out session that follows another listen of it and was listened
  to for at least `relevant` of the track (a seeded sample of --max-cases of them in a large
  log). A case is (user, previous track, track).
- Each model ranks k tracks for a case from what it knows at that moment: an item-to-item model
  from the previous track, a per-user model from the user, a chart from nothing.
- Hit rate at k: the share of cases whose track is among the k. NDCG at k: with one relevant
  track per case the ideal DCG is 1, so a case scores 1 / log2(rank + 1) (rank from 1) when the
  track is ranked, else 0; the mean over cases. Coverage: the share of cases for which the
  model had a list at all (a user or track it had never seen has none: a miss, which the
  service's fallback would answer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offline.learn.listens import Listens
from offline.learn.ranking import PAD


@dataclass
class Cases:
    user: np.ndarray
    anchor: np.ndarray  # dense index of the previous track
    target: np.ndarray  # dense index of the track listened to

    def __len__(self) -> int:
        return len(self.target)


@dataclass(frozen=True)
class Score:
    model: str
    cases: int
    coverage: float
    hit_rate: float
    ndcg: float


def split(listens: Listens, holdout: float) -> tuple[Listens, Listens]:
    """(train, test): the sessions that start in the last `holdout` share of sessions are test."""
    starts = listens.session_starts()
    order = np.lexsort((np.arange(len(starts)), starts))
    n_test = int(round(len(starts) * holdout))
    test_sessions = np.zeros(len(starts), dtype=bool)
    test_sessions[order[len(starts) - n_test :]] = True
    test = test_sessions[listens.session]
    return listens.subset(~test), listens.subset(test)


def cases(test: Listens, relevant: float, limit: int | None = None, seed: int = 0) -> Cases:
    """The held-out cases; beyond `limit`, a random sample of that many (seeded), which keeps
    the cost of scoring a large log bounded at a standard error below 0.004."""
    follows = (test.session[1:] == test.session[:-1]) & (
        test.position[1:] == test.position[:-1] + 1
    )
    before = np.flatnonzero(follows & (test.time[1:] >= relevant))
    if limit is not None and len(before) > limit:
        before = np.sort(np.random.default_rng(seed).choice(before, limit, replace=False))
    return Cases(test.user[before + 1], test.track[before], test.track[before + 1])


def score(model: str, ranked: np.ndarray, target: np.ndarray, k: int) -> Score:
    """`ranked`: (cases, >= k) dense track indices per case, padded with -1."""
    n = len(target)
    if not n:
        return Score(model, 0, float("nan"), float("nan"), float("nan"))
    top = ranked[:, :k]
    match = top == target[:, None]
    hit = match.any(axis=1)
    rank = match.argmax(axis=1)  # 0-based where hit
    gain = np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)
    covered = (top != PAD).any(axis=1)
    return Score(model, n, float(covered.mean()), float(hit.mean()), float(gain.mean()))


def for_global(chart: np.ndarray, n_cases: int, k: int) -> np.ndarray:
    row = np.full(k, PAD, dtype=np.int64)
    row[: min(k, len(chart))] = chart[:k]
    return np.broadcast_to(row, (n_cases, k))


def for_items(lists: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    return lists[anchors]


def for_users(users: np.ndarray, lists: np.ndarray, case_users: np.ndarray) -> np.ndarray:
    """`users` (sorted ids) has `lists` rows; a case whose user has no row gets no list."""
    position = np.searchsorted(users, case_users)
    position[position == len(users)] = 0
    known = users[position] == case_users if len(users) else np.zeros(len(case_users), bool)
    out = np.full((len(case_users), lists.shape[1]), PAD, dtype=np.int64)
    out[known] = lists[position[known]]
    return out


def table(scores: list[Score], k: int) -> str:
    """The scores' table and what its coverage column means under it."""
    lines = [
        f"| model | cases | coverage | HR@{k} | NDCG@{k} |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in scores:
        lines.append(
            f"| {s.model} | {s.cases:,} | {s.coverage:.3f} | {s.hit_rate:.4f} | {s.ndcg:.4f} |"
        )
    lines += ["", "coverage: the share of cases for which the model had a list at all."]
    if any(s.model.startswith("users") for s in scores):
        # A per-user figure of 0.01 reads like a broken model; it is what the split leaves.
        lines.append(
            "users: a list only for a user who listened before the held-out sessions, so its "
            "coverage is the share of cases whose user did; low on a log of one day whose "
            "users' sessions come one after another (as the simulator plays them), where most "
            "held-out users are new."
        )
    return "\n".join(lines)


def print_scores(scores: list[Score] | None, holdout: float, relevant: float, k: int) -> None:
    """`botify train`'s offline evaluation as it prints it (either engine)."""
    if scores is not None:
        print(
            f"\nOffline evaluation: last {holdout:.0%} of sessions held out, listens of "
            f"at least {relevant:g} of the track\n"
        )
        print(table(scores, k) + "\n")
    elif holdout > 0:
        print("botify train: too little data to hold any out: no offline evaluation")
