"""What /metrics costs a request: the recording code a /next runs (botify.metrics: request_started,
routed, answered, request_done), called in a loop inside one Flask request context, in both of
prometheus_client's modes: one process, and multiprocess (values in PROMETHEUS_MULTIPROC_DIR's
files, as botify serve's workers keep them). Each mode runs in a process of its own (the library
chooses its mode at import).

    .venv/bin/python bench/metrics_cost.py [--requests 200000] [--rounds 5]

Prints the median over rounds of the microseconds per request, and, with --profile, where the
multiprocess mode's time goes (cProfile, top 12).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(requests: int, rounds: int, profile: bool) -> None:
    """In this process: the recording code of `requests` /next answers, `rounds` times."""
    sys.path.insert(0, str(ROOT))
    from flask import Flask

    from botify.config import Config
    from botify.data import DataView
    from botify.experiments import build_experiments
    from botify.metrics import ServiceMetrics

    config = Config(
        {
            "routing_experiment": "EXP",
            "experiments": [
                {
                    "name": "EXP",
                    "arms": {"C": ["sticky_artist"], "T1": [{"recommender": "random"}]},
                }
            ],
        }
    )
    experiments = build_experiments(config, DataView(None))
    metrics = ServiceMetrics(experiments.routing)
    app = Flask(__name__)
    app.add_url_rule("/next/<user>", endpoint="next", view_func=lambda user: "")
    event = {
        "message": "next",
        "user": 1,
        "experiments": {"EXP": experiments.routing.arm(1)},
        "recommender": "random",
        "work_time": 0.0021,
    }

    def one_round() -> float:
        with app.test_request_context("/next/1", method="POST"):
            started = time.perf_counter()
            for _ in range(requests):
                metrics.request_started()
                metrics.routed(1)
                metrics.answered(event)
                metrics.request_done(200)
            return (time.perf_counter() - started) / requests * 1e6

    times = [one_round() for _ in range(rounds)]
    print(f"{statistics.median(times):.1f} (rounds: {', '.join(f'{t:.1f}' for t in times)})")
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(one_round)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.requests, args.rounds, args.profile)
        return 0
    own = [sys.executable, __file__, "--measure", "--requests", str(args.requests)]
    own += ["--rounds", str(args.rounds)]
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    print("µs per /next of the metrics' recording code (median of rounds)")
    print("one process: ", end="", flush=True)
    subprocess.run(own, env=env, check=True)
    with tempfile.TemporaryDirectory(prefix="botify-metrics-bench-") as folder:
        print("multiprocess:", end=" ", flush=True)
        subprocess.run(
            own + (["--profile"] if args.profile else []),
            env={**env, "PROMETHEUS_MULTIPROC_DIR": folder},
            check=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
