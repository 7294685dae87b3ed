"""The counterfactual worlds of `botify experiment --days N --truth`: beside the A/B world, a
world where everyone is on C and one where everyone is on T1, day after day, each learning only
from its own traffic. Their difference is the true global effect that the A/B estimates, which
no production platform can see: the two launches never both happen.

Common random numbers: every world runs the A/B world's simulator config, seed and day schedule
(sim.schedule), so the same users come on the same days in the same order, and each session's
listening draws come from its own stream, keyed by (seed, day, user, k): a session differs
between worlds only by what it was recommended. A world's experiment WORLD has a single arm,
C, holding the world's chain, so its random picks are seeded alike in every world: two worlds
that serve the same chain are the same world twice (a true effect of exactly 0). Each world
keeps its users' histories from day to day, as the A/B world does.

The true effect of a day is paired by user: each user's mean_time_per_session (the report's
count, the metric of the A/B's verdict) in the T1 world against the same user's in the C world,
lift = mean T1 / mean C - 1 over the day's users, with the delta-method interval of the paired
differences T1 - lift-ratio x C. Every user is in both worlds, or the worlds are not paired and
the run stops.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from lab.days import write_json
from lab.loop_chains import STICKY, day_data, treatment_chain
from lab.simday import run_day
from offline.report.ab import load
from offline.report.assignment import assign
from offline.report.metrics import unit_metrics
from sim.progress import progress

WORLD = "WORLD"
METRIC = "mean_time_per_session"
Z = 1.959964  # 95% normal interval

# A world's chain for a day: (explore, learned) -> the chain's links.
ChainOf = Callable[[float, bool], list[dict]]


def arm_chain(arm: str) -> ChainOf:
    """The loop's chain of `arm`: C's StickyArtist, or T1's (lab.loop_chains)."""
    if arm == "C":
        return lambda explore, learned: [STICKY]
    return treatment_chain


@dataclass
class World:
    """Everyone on `arm`, in `folder` (laid out as the loop's run: logs/day<d>, model<d>,
    config.day<d>.json)."""

    arm: str
    folder: Path
    chain: ChainOf
    learns: bool  # serves learned files from day 2 (C's StickyArtist reads none)
    histories: dict[int, list[tuple[int, float]]] = field(default_factory=dict)

    def logs(self, day: int) -> Path:
        return self.folder / "logs" / f"day{day}"

    def model(self, day: int) -> Path:
        return self.folder / f"model{day}"

    def config(self, world_dir: Path, day: int, explore: float) -> Path:
        learned = self.learns and day > 1
        self.folder.mkdir(parents=True, exist_ok=True)
        config = {
            "data": day_data(self.folder, world_dir, day, learned),
            "routing_experiment": WORLD,
            "experiments": [{"name": WORLD, "arms": {"C": self.chain(explore, learned)}}],
        }
        return write_json(self.folder / f"config.day{day}.json", config)

    def run_day(
        self, simulator: Path, world_dir: Path, sessions: int, day: int, seed: int, explore: float
    ) -> list:
        """The day's session results (sim.session.SessionResult), logged into logs(day)."""
        config = self.config(world_dir, day, explore)
        with progress(sessions, f"day {day}, everyone on {self.arm}") as update:
            return run_day(
                str(simulator),
                str(config),
                sessions,
                day,
                seed,
                self.logs(day),
                self.histories,
                update,
            )


def loop_worlds(run: Path) -> tuple[World, World]:
    """The loop's two worlds: everyone on C (run/world-C), everyone on T1 (run/world-T1)."""
    worlds = []
    for arm in ("C", "T1"):
        worlds.append(World(arm, run / f"world-{arm}", arm_chain(arm), learns=arm == "T1"))
    return worlds[0], worlds[1]


@dataclass(frozen=True)
class TrueEffect:
    """T1's true effect over C on one day, in % of C's mean, the report's count."""

    effect: float
    lower: float
    upper: float
    users: int
    C: float  # mean over users of mean_time_per_session, the report's count
    T1: float
    C_sim: float  # mean session time, the simulator's count
    T1_sim: float

    @property
    def half_width(self) -> float:
        return (self.upper - self.lower) / 2


def user_values(logs: Path) -> pl.DataFrame:
    """Each user's mean_time_per_session in a world's day log (user, value)."""
    log = load([str(logs)], 0.0, "")
    units = unit_metrics(assign(log, WORLD).events).units
    return units.select("user", pl.col(METRIC).alias("value"))


def paired_lift(c: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """mean t / mean c - 1 and the half-width of its 95% interval, both in %, for values paired
    by unit: the delta method on d = t - (mean t / mean c) c."""
    n, mean_c = len(c), float(c.mean())
    ratio = float(t.mean()) / mean_c
    d = t - ratio * c
    se = math.sqrt(float(d.var(ddof=1)) / n) / mean_c if n > 1 else math.nan
    return (ratio - 1) * 100, Z * se * 100


def true_effect(c_world: World, t1_world: World, day: int, c_results, t1_results) -> TrueEffect:
    c, t = user_values(c_world.logs(day)), user_values(t1_world.logs(day))
    paired = c.join(t, on="user", how="full", suffix="_t1")
    unpaired = paired.filter(
        pl.col("user").is_null() | pl.col("user_t1").is_null() | pl.col("value").is_nan()
        | pl.col("value_t1").is_nan()
    )  # fmt: skip
    if unpaired.height:
        raise RuntimeError(
            f"day {day}: {unpaired.height} users are not in both counterfactual worlds with a "
            "complete session: the worlds are not paired (same users, same schedule)"
        )
    c_values, t_values = paired["value"].to_numpy(), paired["value_t1"].to_numpy()
    effect, half = paired_lift(c_values, t_values)
    return TrueEffect(
        effect=effect,
        lower=effect - half,
        upper=effect + half,
        users=paired.height,
        C=float(c_values.mean()),
        T1=float(t_values.mean()),
        C_sim=float(np.mean([r.time for r in c_results])),
        T1_sim=float(np.mean([r.time for r in t1_results])),
    )
