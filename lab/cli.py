"""The `botify` command: one entry point gathering the service's, simulator's, offline tools' and
lab's commands. Each command's module is imported only when that command runs, so a command needs
only the extras of its own part (`botify serve` runs without the sim and offline extras)."""

from __future__ import annotations

import importlib
import sys

# name -> ("module:function", one-line help). The function takes argv (list[str]) and returns
# an exit code.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("botify.serve:main", "run the recommendation service under gunicorn"),
    "load": ("botify.loader:main", "load the data files named by the config into Redis"),
    "world": (
        "sim.worldfiles:main",
        "generate the simulated world (catalog, chart, hidden tastes)",
    ),
    "sim": ("sim.run:main", "run synthetic users against a recommender (as python -m sim.run)"),
    "ab": ("offline.report.ab:main", "A/B report from the service's event logs"),
    "plan": ("offline.report.plan:main", "users and sessions an A/B experiment needs, and its MDE"),
    "train": ("offline.learn.train:main", "learn recommendation files from the event logs"),
    "ope": (
        "offline.report.ope:main",
        "off-policy estimates of a chain from a log with propensities",
    ),
    "experiment": ("lab.experiment:main", "the whole A/B day loop in one command"),
    "runs": ("lab.registry:main", "the experiment runs under runs/: list them, compare two"),
    "simday": ("lab.simday:main", "one simulated day served in-process and logged (no HTTP)"),
    "collect": (
        "lab.collect:main",
        "the service's logs in the course's layout (DIR/<replica>/data.json)",
    ),
    "logs": (
        "offline.logs.compact:main",
        "the event logs as Parquet: botify logs compact LOG --out DIR (a re-run adds what is new)",
    ),
    "listen": (
        "lab.listener.main:main",
        "a web page to play the simulator's user against a running service",
    ),
    "dashboard": (
        "lab.dashboard.cli:main",
        "a web page following an experiment live from its logs (or runs/)",
    ),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: botify COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run 'botify COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"botify: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    target, _ = COMMANDS[name]
    module_name, function_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        print(f"botify {name}: not available ({error})", file=sys.stderr)
        return 2
    return int(getattr(module, function_name)(rest) or 0)
