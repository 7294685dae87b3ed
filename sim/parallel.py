"""`multi --processes P`: P worker processes, each owning the users u with u % P == its shard
for the whole run (so a user's state in a recommender stays in one process, and no user is in
two places at once). The parent hands out days, gathers results and shows one progress bar."""

from __future__ import annotations

import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.agents.console import StopRun
from sim.agents.remote import RemoteStats
from sim.config import load_config, with_overrides
from sim.day import Driver, RunStopped
from sim.errors import SimError
from sim.session import SessionResult
from sim.world import load_world

PROGRESS_EVERY = 0.1  # seconds between a worker's progress reports

# a worker's answer: (kind, results, stats, message, detail); kind is "ready", "done", "quit"
# or "failed", and the last two say why a worker failed or quit ("" otherwise)
Reply = tuple[str, list[SessionResult], RemoteStats | None, str, str]


@dataclass(frozen=True)
class Setup:
    config_path: str
    overrides: dict[str, Any]
    agent: str
    seed: int
    episodes: int


class WorkerFailed(SimError):
    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail  # the worker's traceback, shown with --debug


def _describe(error: BaseException) -> str:
    return str(error) if isinstance(error, SimError) else f"{type(error).__name__}: {error}"


def _worker(setup: Setup, shard: int, shards: int, pipe, progress_queue) -> None:
    # Ctrl-C is the parent's to handle: it stops the workers (no traceback from each of them)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        config = with_overrides(load_config(setup.config_path), setup.overrides)
        world = load_world(config.world.paths(), config.user)
        driver = Driver(world, config, setup.agent, setup.seed, setup.episodes, shard, shards)
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which decides
        pipe.send(("failed", [], None, _describe(error), traceback.format_exc()))
        return
    pending, last = 0, time.monotonic()

    def progress(done: int) -> None:
        nonlocal pending, last
        pending += done
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            progress_queue.put(pending)
            pending, last = 0, now

    pipe.send(("ready", [], None, "", ""))
    while (day := pipe.recv()) is not None:
        try:
            results = driver.run_day(day, progress)
            reply: Reply = ("done", results, driver.remote_stats, "", "")
        except RunStopped as stop:
            detail = "".join(traceback.format_exception(stop.error))
            kind = "quit" if isinstance(stop.error, StopRun) else "failed"
            reply = (kind, stop.results, driver.remote_stats, _describe(stop.error), detail)
        if pending:
            progress_queue.put(pending)
            pending = 0
        pipe.send(reply)
    driver.close()


class ProcessPool:
    def __init__(self, setup: Setup, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.progress_queue = context.Queue()
        self.pipes = []
        self.processes = []
        self._busy = False  # a day is under way in the workers
        for shard in range(processes):
            parent, child = context.Pipe()
            process = context.Process(
                target=_worker,
                args=(setup, shard, processes, child, self.progress_queue),
                daemon=True,
            )
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)
        try:
            self._gather(lambda done: None)  # every worker ready, or the first failure
        except RunStopped as stop:
            self.close()
            raise stop.error from None

    def _gather(
        self, progress: Callable[[int], None]
    ) -> tuple[list[SessionResult], RemoteStats | None]:
        replies: dict[int, Reply] = {}
        while len(replies) < len(self.pipes):
            for index, pipe in enumerate(self.pipes):
                if index in replies:
                    continue
                if pipe.poll(0.02):
                    replies[index] = pipe.recv()
                elif not self.processes[index].is_alive() and not pipe.poll():
                    replies[index] = ("failed", [], None, f"worker {index} died", "")
            while not self.progress_queue.empty():
                progress(self.progress_queue.get())
        self._busy = False
        results: list[SessionResult] = []
        stats: RemoteStats | None = None
        failure = None
        for index in sorted(replies):
            kind, rows, worker_stats, message, detail = replies[index]
            results.extend(rows)
            if worker_stats is not None:
                stats = stats or RemoteStats()
                stats.merge(worker_stats)
            if kind in ("failed", "quit") and failure is None:
                failure = (kind, message, detail)
        results.sort(key=lambda r: (r.day, r.episode))
        self.stats = stats
        if failure is not None:
            kind, message, detail = failure
            error = StopRun() if kind == "quit" else WorkerFailed(message, detail)
            raise RunStopped(error, results)
        return results, stats

    def run_day(self, day: int, progress: Callable[[int], None]) -> list[SessionResult]:
        self._busy = True
        for pipe in self.pipes:
            pipe.send(day)
        results, _ = self._gather(progress)  # every worker replies, even when one fails
        return results

    def close(self) -> None:
        """Workers between days finish cleanly; a day cut short (Ctrl-C) is not waited for."""
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            if process.is_alive() and not self._busy:
                try:
                    pipe.send(None)
                except OSError:
                    pass
        for process in self.processes:
            process.join(timeout=0 if self._busy else 5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
