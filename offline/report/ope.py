"""Off-policy evaluation: `botify ope LOG... --config CONFIG --arm ARM`.

From a log whose /next events carry their propensity (the probability the serving chain chose
the recommended track with), estimate the mean listened fraction per request that another
chain (an arm of a botify config) would get, before serving it:

- IPS: the mean of w * r, w = target probability / logged propensity of the served track;
- SNIPS: sum(w * r) / sum(w), self-normalised;
- DR: doubly robust, the reward model's value under the target plus the IPS-weighted residual.

The reward r of a recommendation is the listened fraction that the user's next event reports
for it. The log is replayed user by user in time order over the candidate chain's in-memory
state (botify.inprocess), with the served recommendations, so the chain sees the sessions and
histories it would read. The reward model is each track's mean reward, shrunk towards the log's
mean, cross-fitted: fitted on the users of one parity for those of the other (fitted on the
rewards it corrects, it would cancel them and bias DR towards its own values). Intervals are
normal, with the variance clustered by user (a user's requests are not independent).

Per request, the estimand is over the logged contexts: the candidate's own sessions differ (it
changes what listeners tire of), so it is not what the candidate measures when served. Per
session (mean session time), the per-decision estimators weight each reward by the product of
the weights before it, which estimates the candidate's own sessions; offline/learn/TRAINING.md has
the validation of both.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from botify.config import ConfigError, load_config
from botify.data import DataView, Listen
from botify.dataset import DataError, read_configured_dataset
from botify.experiments import build_experiments
from botify.inprocess import MemoryStore
from botify.recommenders.base import states_propensities
from botify.recommenders.chain import Chain
from botify.recommenders.draws import Draw, Mixture, Ranked, Uniform, Weighted
from offline.logs.errors import InputError, run_command
from offline.logs.logfiles import find_log_files
from offline.logs.reading import event_schema, read_log
from offline.report.ab import ArgumentParser

SCHEMA = event_schema(["message", "timestamp", "user", "track", "time", "experiments"])
OPTIONAL = event_schema(["recommendation", "propensity"])  # both null on /last
Z = 1.959964  # 95% normal interval
PRIOR = 2.0  # the reward model's shrinkage, in requests


@dataclass
class Requests:
    """The logged /next requests that have a reward, in replay order (by user, then time)."""

    user: np.ndarray
    track: np.ndarray  # the track playing when the request came
    time: np.ndarray  # its listened fraction
    served: np.ndarray  # the recommendation
    reward: np.ndarray  # the served track's listened fraction, from the user's next event
    propensity: np.ndarray
    session_end: np.ndarray  # the user's next event is a /last: the session ends after it


def read_requests(paths: list[str], where: tuple[str, str] | None = None) -> Requests:
    """`where` (experiment, arm): only the requests of the users in that arm."""
    log = read_log(find_log_files(paths), SCHEMA, OPTIONAL)
    events = log.events.sort("user", "timestamp", "seq")
    if events.is_empty():
        raise InputError(f"no events in {', '.join(paths)}")
    if where is not None:
        experiment, arm = where
        texts = [t for t, arms in log.experiment_objects.items() if arms.get(experiment) == arm]
        events = events.filter(pl.col("experiments").is_in(texts))
        if events.is_empty():
            raise InputError(f"no events in arm {arm} of experiment {experiment}")
    following = events.select(
        pl.col("user").shift(-1).alias("next_user"),
        pl.col("track").shift(-1).alias("next_track"),
        pl.col("time").shift(-1).alias("next_time"),
        pl.col("message").shift(-1).alias("next_message"),
    )
    frame = pl.concat([events, following], how="horizontal").filter(
        (pl.col("message") == "next")
        & (pl.col("next_user") == pl.col("user"))
        & (pl.col("next_track") == pl.col("recommendation"))
    )
    if frame.is_empty():
        raise InputError("no /next in the log is followed by its recommendation's listen")
    missing = frame["propensity"].null_count()
    if missing:
        raise InputError(
            f"{missing} of {frame.height} /next events have no 'propensity' (served by a chain "
            "that does not state it, or logged before botify logged it): off-policy estimates "
            "need every one"
        )
    bad = frame.filter((pl.col("propensity") <= 0) | (pl.col("propensity") > 1)).height
    if bad:
        raise InputError(f"{bad} /next events have a 'propensity' outside (0, 1]")
    return Requests(
        frame["user"].to_numpy(),
        frame["track"].to_numpy(),
        frame["time"].to_numpy(),
        frame["recommendation"].to_numpy().astype(np.int64),
        frame["next_time"].to_numpy(),
        frame["propensity"].to_numpy(),
        (frame["next_message"] == "last").to_numpy(),
    )


def chain_draw(chain: Chain, user: int, track: int, listened: float) -> Draw | None:
    """The distribution of the chain's answer: its first link that has something to say (a
    link's failures are not modelled: a chain for evaluation should not fail)."""
    for link in chain.links:
        if link.skips(listened):
            continue
        if not states_propensities(link.recommender):
            raise InputError(
                f"link {link.name!r} does not state its propensities: it cannot be evaluated"
            )
        draw = link.recommender.draw(user, track, listened)
        if draw is not None:
            return draw
    return None


def expected(draw: Draw, values: np.ndarray) -> float:
    """The mean of `values` (by track id) under the draw."""
    if isinstance(draw, Ranked):
        return float(values[draw.track])
    if isinstance(draw, Uniform):
        left = draw.left
        if left == 0:
            return 0.0
        candidates = np.asarray(draw.candidates, dtype=np.int64)
        out = [t for t in draw.excluded if draw.contains(t)]
        return float((values[candidates].sum() - values[out].sum()) / left)
    if isinstance(draw, Weighted):
        return float(values[draw.tracks] @ draw.weights / draw.cumulative[-1])
    if isinstance(draw, Mixture):
        explore, base = expected(draw.explore, values), expected(draw.base, values)
        return draw.epsilon * explore + (1.0 - draw.epsilon) * base
    raise InputError(f"cannot evaluate a {type(draw).__name__} draw")


def target_terms(
    requests: Requests, chain: Chain, data: DataView, store: MemoryStore, model: np.ndarray
):
    """(target probability of each served track, the reward model's value under the target).
    Each request reads and records the user's state as botify.service does (the same request
    path), then the logged recommendation goes into the session."""
    probability = np.zeros(len(requests.user))
    value = np.zeros(len(requests.user))
    state = chain.state
    for i, (user, track, listened, served) in enumerate(
        zip(
            requests.user.tolist(),
            requests.track.tolist(),
            requests.time.tolist(),
            requests.served.tolist(),
            strict=True,
        )
    ):
        listen = Listen(user, track, listened, state)
        with data.request(chain.reads(user, track, listened), listen):
            draw = chain_draw(chain, user, track, listened)
            if draw is not None:
                probability[i] = draw.probability(served)
                value[i] = expected(draw, model[user % 2])
        store.recommended(user, served, state)
        if requests.session_end[i]:
            store.end_session(user)
    return probability, value


def reward_model(requests: Requests, n_tracks: int) -> np.ndarray:
    """Row k: each track's mean reward over the users of the other parity than k, shrunk
    towards their mean by PRIOR requests (users of parity k are predicted by row k)."""
    rows = []
    for parity in (0, 1):
        other = requests.user % 2 != parity
        served, reward = requests.served[other], requests.reward[other]
        mean = float(reward.mean()) if len(reward) else 0.0
        sums = np.bincount(served, weights=reward, minlength=n_tracks)
        counts = np.bincount(served, minlength=n_tracks)
        rows.append((sums + PRIOR * mean) / (counts + PRIOR))
    return np.stack(rows)


@dataclass
class Estimate:
    method: str
    value: float
    low: float
    high: float
    ess: float  # effective sample size of the weights, (sum w)^2 / sum w^2


def clustered_interval(terms: np.ndarray, users: np.ndarray, scale: float) -> float:
    """Half the 95% interval of sum(terms) / scale, where terms sum to 0 at the estimate and
    are summed per user before squaring (a linearised variance clustered by user)."""
    _, inverse = np.unique(users, return_inverse=True)
    per_user = np.bincount(inverse, weights=terms)
    return Z * math.sqrt(float(per_user @ per_user)) / scale


def estimates(requests: Requests, probability: np.ndarray, value: np.ndarray, model: np.ndarray):
    w = probability / requests.propensity
    r, users, n = requests.reward, requests.user, len(requests.reward)
    ess = float(w.sum() ** 2 / (w @ w)) if w.any() else 0.0
    ips = float((w * r).mean())
    snips = float((w * r).sum() / w.sum()) if w.any() else float("nan")
    dr_terms = value + w * (r - model[requests.user % 2, requests.served])
    dr = float(dr_terms.mean())
    rows = [
        ("IPS", ips, clustered_interval(w * r - ips, users, n)),
        ("SNIPS", snips, clustered_interval(w * (r - snips), users, w.sum()) if w.any() else 0.0),
        ("DR", dr, clustered_interval(dr_terms - dr, users, n)),
    ]
    return [Estimate(name, est, est - half, est + half, ess) for name, est, half in rows]


def sessions_of(requests: Requests) -> tuple[np.ndarray, np.ndarray]:
    """Each request's session number (0, 1, ...) and whether it starts its session."""
    starts = np.ones(len(requests.user), dtype=bool)
    starts[1:] = (requests.user[1:] != requests.user[:-1]) | requests.session_end[:-1]
    return np.cumsum(starts) - 1, starts


def session_estimates(
    requests: Requests, probability: np.ndarray, value: np.ndarray, model: np.ndarray
) -> list[Estimate]:
    """Mean session time (the sum of a session's rewards) under the target: per-decision IPS
    (each reward weighted by the product of the weights up to it), its self-normalised form
    (each step's weights normalised by their mean over all sessions, an ended session keeping
    its last), and the per-decision doubly-robust estimator with the reward model."""
    session, starts = sessions_of(requests)
    n_sessions = int(session[-1]) + 1
    w = probability / requests.propensity
    cumulative = pl.DataFrame({"s": session, "w": w}).select(pl.col("w").cum_prod().over("s"))
    rho: np.ndarray = cumulative["w"].to_numpy()
    rho_before = np.ones_like(rho)
    rho_before[~starts] = rho[np.nonzero(~starts)[0] - 1]
    r = requests.reward
    first = np.nonzero(starts)[0]
    users = requests.user[first]
    last = np.append(first[1:], len(r)) - 1
    ess = float(rho[last].sum() ** 2 / (rho[last] @ rho[last])) if rho[last].any() else 0.0

    rows = []
    for name, terms in (
        ("IPS", rho * r),
        ("DR", rho * (r - model[requests.user % 2, requests.served]) + rho_before * value),
    ):
        per_session = np.bincount(session, weights=terms, minlength=n_sessions)
        est = float(per_session.mean())
        rows.append((name, est, clustered_interval(per_session - est, users, n_sessions)))

    step = np.arange(len(r)) - first[session]
    weights = np.repeat(rho[last][:, None], int(step.max()) + 1, axis=1)
    weights[session, step] = rho  # and after its end, a session keeps its last weight
    mean_weight = weights.mean(axis=0)
    safe = np.where(mean_weight > 0, mean_weight, np.inf)
    mean_reward = np.bincount(step, weights=rho * r) / n_sessions
    snips = float((mean_reward / safe).sum())
    influence = np.bincount(session, weights=rho * r / safe[step], minlength=n_sessions)
    influence -= weights @ (mean_reward / safe**2)
    rows.insert(1, ("SNIPS", snips, clustered_interval(influence, users, n_sessions)))
    return [Estimate(name, est, est - half, est + half, ess) for name, est, half in rows]


def naming(config_path: Path, error: Exception) -> str:
    """The error's message with the config's path in front, once: load_config's own messages
    already start with it."""
    message = str(error)
    return message if message.startswith(str(config_path)) else f"{config_path}: {message}"


@dataclass
class Replay:
    """The logged requests replayed over a target chain: the target's probability of each
    served track, the reward model's value under the target, and the reward model itself."""

    requests: Requests
    probability: np.ndarray
    value: np.ndarray
    model: np.ndarray


def replay(
    paths: list[str],
    config_path: Path,
    arm: str | None,
    seed: int,
    where: tuple[str, str] | None = None,
    histories: dict[int, list[tuple[int, float]]] | None = None,
) -> Replay:
    """The log replayed over the config's chain (`arm` of its routing experiment). `histories`:
    the users' recent listens when the log began (as the service held them), which the replay
    starts from; None: they start empty."""
    try:
        config = load_config(config_path)
        dataset = read_configured_dataset(config)
    except (ConfigError, DataError) as error:
        raise InputError(naming(config_path, error)) from None
    requests = read_requests(paths, where)
    catalog = dataset.catalog
    n_tracks = int(catalog.ids.max()) + 1
    unknown = int(np.count_nonzero(requests.served >= n_tracks))
    if unknown:
        raise InputError(f"{unknown} recommendations in the log are not in {config_path}'s catalog")
    store = MemoryStore(dataset, config["history_length"])
    if histories is not None:  # copied: the replay adds to them
        store.histories = {user: list(listens) for user, listens in histories.items()}
    data = DataView(store)
    try:
        experiments = build_experiments(config, data, seed=seed)
        if arm is not None:
            experiments = experiments.pinned(arm)
    except (ConfigError, ValueError) as error:
        raise InputError(naming(config_path, error)) from None
    chain, _ = experiments.assign(0)
    model = reward_model(requests, n_tracks)
    probability, value = target_terms(requests, chain, data, store, model)
    return Replay(requests, probability, value, model)


def evaluate(
    paths: list[str],
    config_path: Path,
    arm: str | None,
    seed: int,
    where: tuple[str, str] | None = None,
    histories: dict[int, list[tuple[int, float]]] | None = None,
):
    """(the logged requests, the target's estimates per request and per session); the
    arguments are replay's."""
    done = replay(paths, config_path, arm, seed, where, histories)
    requests, probability, value, model = done.requests, done.probability, done.value, done.model
    return (
        requests,
        estimates(requests, probability, value, model),
        session_estimates(requests, probability, value, model),
    )


def experiment_arm(text: str) -> tuple[str, str]:
    experiment, _, arm = text.partition("=")
    if not experiment or not arm:
        raise argparse.ArgumentTypeError(f"expected EXPERIMENT=ARM, got {text!r}")
    return experiment, arm


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="botify ope",
        description="Off-policy estimates of a chain's mean listened fraction per request, "
        "from an event log with propensities.",
    )
    parser.add_argument("logs", nargs="+", metavar="LOG", help="event log files or folders")
    parser.add_argument("--config", required=True, type=Path, help="botify config of the chain")
    parser.add_argument("--arm", help="the routing experiment's arm to evaluate (default: C)")
    parser.add_argument("--seed", type=int, default=0, help="the chain's random seed (0)")
    parser.add_argument(
        "--where",
        type=experiment_arm,
        metavar="EXPERIMENT=ARM",
        help="only the logged requests of the users in that arm",
    )
    parser.add_argument("--json", action="store_true", help="print the estimates as JSON")
    return parser.parse_args(argv)


def logged_session_time(requests: Requests) -> float:
    """The logging chain's own mean session time (the sum of each session's rewards)."""
    session, _ = sessions_of(requests)
    return float(np.bincount(session, weights=requests.reward).mean())


def table(rows: list[Estimate]) -> list[str]:
    lines = [
        "| estimator | estimate | 95% interval | effective sample size |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        interval = f"[{row.low:.4f}, {row.high:.4f}]"
        lines.append(f"| {row.method} | {row.value:.4f} | {interval} | {row.ess:,.0f} |")
    return lines


def run(args: argparse.Namespace) -> int:
    requests, per_request, per_session = evaluate(
        args.logs, args.config, args.arm or "C", args.seed, args.where
    )
    logged, logged_session = float(requests.reward.mean()), logged_session_time(requests)
    sessions = int(sessions_of(requests)[0][-1]) + 1
    if args.json:
        out: dict[str, object] = {"requests": len(requests.reward), "sessions": sessions}
        out["logged"] = logged
        out |= {"logged_session_time": logged_session}
        out |= {"estimates": [asdict(row) for row in per_request]}
        out |= {"session_estimates": [asdict(row) for row in per_session]}
        print(json.dumps(out))
        return 0
    print(f"{sessions:,} logged sessions, {len(requests.reward):,} requests")
    print(
        "\nMean session time in the simulator's count (without the first track); the log's "
        f"own: {logged_session:.4f}\n"
    )
    print("\n".join(table(per_session)))
    print(f"\nMean listened fraction per request; the log's own: {logged:.4f}\n")
    print("\n".join(table(per_request)))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(
        "botify ope", lambda: run(parse_args(sys.argv[1:] if argv is None else argv))
    )
