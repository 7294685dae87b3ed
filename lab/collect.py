"""`botify collect DIR`: the service's logs in the course's layout, as its `log2local` lays them
out: one folder per replica, each with one `data.json` (JSON lines, oldest event first).

    botify collect DIR [--from LOG_DIR | --compose [-p PROJECT]] [--replace]

The course's scripts and notebooks glob `DIR/*/data.json`, so each replica's rotated backups and
live file (botify.lognames' names and order) are joined into its one `data.json`, oldest first;
the writer's `lost_events.ndjson` is copied beside it for `botify ab`. A replica is a folder of
LOG_DIR that holds log files (LOG_DIR itself when it holds them: a local `botify serve` writes
there); its folder in DIR keeps its name. `--compose` first copies the compose replicas' logs
out of Docker with deploy/collect_logs.sh (which names each folder after its container,
botify-recommender-1, ...), then lays them out the same way.

A final line that the service was still writing (a live log copied mid-write) is left out and
said on stderr: the course reads a log with `pandas.read_json(lines=True)`, which fails on it.
DIR must be new or empty, so that a second collection never mixes with the first; with
`--replace` it may hold an earlier collection and its report (replica folders of data.json and
lost_events.ndjson, ab_result.json, report/), which is removed first: anything else is refused.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from botify.config import load_config
from botify.lognames import COURSE_LOG_FILE, LOST_FILE, age_order, is_log_name
from lab.processes import ROOT


class CollectError(RuntimeError):
    """Bad input or a failed copy; the message names it."""


def replica_folders(source: Path) -> list[Path]:
    """The folders under `source` (itself included) that hold log files, in name order."""
    if not source.is_dir():
        raise CollectError(f"no such log folder: {source}")
    folders = [
        folder
        for folder in [source, *sorted(p for p in source.rglob("*") if p.is_dir())]
        if not any(part.startswith(".") for part in folder.relative_to(source).parts)
        and any(p.is_file() and is_log_name(p.name) for p in folder.iterdir())
    ]
    if not folders:
        raise CollectError(f"no event log files under {source}")
    return folders


def join_logs(folder: Path, target: Path) -> tuple[int, int]:
    """Write `folder`'s log files into `target`, oldest first: (lines written, cut lines left
    out)."""
    names = sorted(
        (p.name for p in folder.iterdir() if p.is_file() and is_log_name(p.name)), key=age_order
    )
    lines = cut = 0
    with open(target, "wb") as out:
        for name in names:
            data = (folder / name).read_bytes()
            if data and not data.endswith(b"\n"):
                data = data[: data.rfind(b"\n") + 1]  # the line being written: left out
                cut += 1
            out.write(data)
            lines += data.count(b"\n")
    return lines, cut


# What a collection and analyze_ab.py write into DIR, and may be replaced.
REPORT_FILES = ("ab_result.json", "report")


def remove_collection(out: Path) -> None:
    """Remove an earlier collection from `out`, or refuse if `out` holds anything else."""
    if not out.is_dir():
        return
    replicas = [p for p in out.iterdir() if p.name not in REPORT_FILES]
    foreign = [
        p
        for p in replicas
        if not p.is_dir() or any(f.name not in (COURSE_LOG_FILE, LOST_FILE) for f in p.iterdir())
    ]
    if foreign:
        raise CollectError(f"{out} holds more than an earlier collection ({foreign[0].name})")
    for path in out.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def collect(source: Path, out: Path, replace: bool = False) -> list[tuple[str, int]]:
    """Lay out `source`'s replicas in `out` in the course's layout: (replica, lines) each."""
    folders = replica_folders(source)
    if replace:
        remove_collection(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CollectError(f"{out} is not an empty folder: collect into a new one")
    names = [
        source.resolve().name if f == source else "-".join(f.relative_to(source).parts)
        for f in folders
    ]
    if len(set(names)) != len(names):
        raise CollectError(f"replica folder names repeat under {source}: {names}")
    written = []
    for folder, name in zip(folders, names, strict=True):
        replica = out / name
        replica.mkdir(parents=True)
        lines, cut = join_logs(folder, replica / COURSE_LOG_FILE)
        if cut:
            print(
                f"botify collect: {name}: left out {cut} cut final line(s) (the service was "
                "writing them)",
                file=sys.stderr,
            )
        if (folder / LOST_FILE).is_file():
            shutil.copyfile(folder / LOST_FILE, replica / LOST_FILE)
        written.append((name, lines))
    return written


def from_compose(project: str | None, staging: Path) -> Path:
    command = ["sh", str(ROOT / "deploy" / "collect_logs.sh")]
    if project:
        command += ["-p", project]
    result = subprocess.run([*command, str(staging / "copied")], capture_output=True, text=True)
    if result.returncode != 0:
        raise CollectError(f"deploy/collect_logs.sh failed: {result.stderr.strip()}")
    return staging / "copied"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="botify collect", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder to lay the logs out in (new or empty)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--from", dest="source", type=Path, help="a log folder (default: the config's log_dir)"
    )
    where.add_argument("--compose", action="store_true", help="the compose replicas' logs")
    parser.add_argument("-p", "--project", help="with --compose: the compose project")
    parser.add_argument(
        "--replace", action="store_true", help="DIR may hold an earlier collection: replace it"
    )
    parser.add_argument(
        "--config",
        default=str(ROOT / "config.json"),
        help="the config whose log_dir is read by default (config.json)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as staging:
            if args.compose:
                source = from_compose(args.project, Path(staging))
            elif args.source is not None:
                source = args.source
            else:
                config = load_config(args.config)
                source = config.path(config["log_dir"])
            written = collect(source, args.out, args.replace)
    except (CollectError, ValueError) as error:  # ConfigError is a ValueError
        print(f"botify collect: {error}", file=sys.stderr)
        return 2
    for name, lines in written:
        print(f"{args.out / name / COURSE_LOG_FILE}: {lines} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
