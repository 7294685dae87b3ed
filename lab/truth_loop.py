"""What `--truth` adds to each day of `botify experiment --days N` (lab.days_loop calls it at
three points of the day): the counterfactual worlds' day (lab.counterfactual) and the A/B's
verdict against them (lab.truth); the worlds' training; the prediction of the next day
(lab.ledger); and at the end the report's sections (lab.truth_report) and RUN/truth.png.

The A/B world runs exactly as without --truth: the worlds only read its logs and histories."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.counterfactual import loop_worlds, true_effect
from lab.ledger import ledger_entry, predict
from lab.truth import aa_within_arm, against_truth
from lab.truth_report import ledger_section, truth_section

Histories = dict[int, list[tuple[int, float]]]


class TruthRun:
    def __init__(
        self,
        run: Path,
        world_dir: Path,
        simulator: Path,
        sessions: int,
        seed: int,
        experiment: str,
        train: Callable[[list[Path], Path], None],
    ) -> None:
        """`train(logs, out)`: the loop's training of T1's files (its options)."""
        self.run, self.world_dir, self.simulator = run, world_dir, simulator
        self.sessions, self.seed, self.experiment = sessions, seed, experiment
        self.train = train
        self.c_world, self.t1_world = loop_worlds(run)
        self.started_with: Histories = {}  # the A/B world's histories when the day began
        self.predictions: dict[int, dict] = {}  # by the day they predict
        self.seconds = 0.0  # spent on the worlds, their training and the predictions

    @contextmanager
    def timed(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds += time.monotonic() - started

    def day_starts(self, histories: Histories) -> None:
        self.started_with = {user: list(listens) for user, listens in histories.items()}

    def day_ends(self, day: int, explore: float, row: dict) -> dict:
        """The worlds' day, and the A/B's `row` against them (the columns it gains)."""
        with self.timed():
            return self._day_ends(day, explore, row)

    def _day_ends(self, day: int, explore: float, row: dict) -> dict:
        results = [
            world.run_day(self.simulator, self.world_dir, self.sessions, day, self.seed, explore)
            for world in (self.c_world, self.t1_world)
        ]
        truth = true_effect(self.c_world, self.t1_world, day, *results)
        logs = self.run / "logs" / f"day{day}"
        added = against_truth(row, truth) | aa_within_arm(logs, self.experiment, "T1", f"AA{day}")
        if day in self.predictions:
            added["ledger"] = ledger_entry(self.predictions[day], row | added)
        print(
            f"day {day}: the A/B's effect {row['effect']:+.2f}%, the true effect "
            f"{truth.effect:+.2f}% [{truth.lower:+.2f}, {truth.upper:+.2f}] (everyone on T1 "
            f"against everyone on C), bias {added['bias']:+.2f} points",
            flush=True,
        )
        return added

    def trained(self, day: int, next_config: Path, c_sim: float) -> None:
        """After the A/B world's training on day `day`: the T1 world's own, and the prediction
        of day + 1 from day's log (`next_config`: the A/B world's config of day + 1)."""
        with self.timed():
            self._trained(day, next_config, c_sim)

    def _trained(self, day: int, next_config: Path, c_sim: float) -> None:
        world = self.t1_world
        self.train([world.logs(d) for d in range(1, day + 1)], world.model(day))
        self.predictions[day + 1] = predict(
            self.run / "logs" / f"day{day}",
            next_config,
            (self.experiment, "T1"),
            self.started_with,
            c_sim,
            self.run / f"plan.day{day + 1}.md",
        )

    def finish(self, rows: list[dict], training: str, title: str, seconds: float) -> str:
        """RUN/truth.png, and the report's sections; `seconds`: the whole run's so far."""
        from lab.truth_chart import truth_chart  # imports matplotlib

        truth_chart(rows, self.run / "truth.png", title)
        alone = seconds - self.seconds
        cost = (
            f"--truth's own work (the two worlds, the T1 world's training, the predictions and "
            f"the verdicts against the truth) took {self.seconds:.0f} s of the run's "
            f"{seconds:.0f} s: the run took {seconds / alone:.2f} times the loop alone "
            f"({alone:.0f} s).\n"
        )
        return "\n" + truth_section(rows, training) + "\n" + ledger_section(rows) + "\n" + cost
