"""`botify dashboard PATH...`: a web page following an experiment as its events arrive.

    botify dashboard runs/latest            a botify experiment run (its newest day)
    botify dashboard runs/days-...          a learning loop, with its trajectory
    botify dashboard runs                   the registry, two runs compared, the newest followed
    botify dashboard log/ [more logs...]    log folders or files, as botify ab takes them
        [--host 127.0.0.1] [--port 8050] [--refresh 2] [--experiment NAME] [--control C]
        [--alpha 0.05] [--mde 0.02] [--split 50,50] [--config CONFIG] [--service URL]

The page shows botify ab's report on the events read so far (the same numbers: the same
code), refreshed every --refresh seconds from the bytes the logs gained: arms and traffic, each
metric with its fixed-horizon and always-valid intervals, the sample-ratio check, serving
warnings, the verdict; with --service, the service's /healthz. Bad input (a path with no logs,
a port that is taken or out of range, a bad option) ends with one line on stderr naming it and
exit status 2.
"""

from __future__ import annotations

import argparse
import socket
import sys
import urllib.parse

from lab.dashboard.judge import Judging
from lab.dashboard.source import resolve
from offline.logs.errors import InputError, run_command
from offline.report.ab import ArgumentParser, alpha_value, split_weights
from offline.report.peeking import mde_value


def port_number(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65_535:
        raise ValueError(text)
    return value


def refresh_seconds(text: str) -> float:
    value = float(text)
    if not 0.1 <= value <= 3_600:
        raise ValueError(text)
    return value


def service_url(text: str) -> str:
    url = urllib.parse.urlsplit(text)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(text)
    return text.rstrip("/")


port_number.__name__ = "port (0 to 65535; 0: any free port)"
refresh_seconds.__name__ = "refresh period (0.1 to 3600 seconds)"
service_url.__name__ = "service URL (http://HOST:PORT)"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="botify dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a run folder, a runs folder, or event log files and folders",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument(
        "--port", type=port_number, default=8050, help="the port to listen on (8050)"
    )
    parser.add_argument(
        "--refresh",
        type=refresh_seconds,
        default=2.0,
        metavar="SECONDS",
        help="how often the page reads what the logs gained (2)",
    )
    parser.add_argument(
        "--experiment",
        metavar="NAME",
        help="the experiment shown first (a run's routing experiment, else botify ab's choice)",
    )
    parser.add_argument("--control", default="C", help="the control arm (C)")
    parser.add_argument("--alpha", type=alpha_value, default=0.05, help="as botify ab's (0.05)")
    parser.add_argument(
        "--mde",
        type=mde_value,
        default=0.02,
        metavar="EFFECT",
        help="the effect the always-valid test is tuned to, as botify ab's (2%%)",
    )
    parser.add_argument(
        "--split", type=split_weights, metavar="W,W,...", help="as botify ab's (equal)"
    )
    parser.add_argument(
        "--config",
        metavar="CONFIG",
        help="the config that served the experiment (a run's own day config by default): "
        "each arm's own recommender, for the fallback warnings",
    )
    parser.add_argument(
        "--service",
        type=service_url,
        metavar="URL",
        help="a running service whose /healthz the page shows",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from lab.dashboard.app import create_app
    from lab.dashboard.state import Dashboard

    source = resolve(args.paths)
    judging = Judging(control=args.control, alpha=args.alpha, mde=args.mde, split=args.split)
    dashboard = Dashboard(source, judging, args.experiment, args.service, args.config, args.refresh)
    dashboard.state()  # the first read now, so that the page opens on it
    # Bound here rather than by werkzeug, which prints its own lines and exits on a taken port.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    try:
        listening = socket.create_server((args.host, args.port), family=family)
    except OSError as error:
        # create_server appends the address to the reason: it is said here already
        reason = str(error.strerror or error).split(" (while attempting to bind")[0]
        raise InputError(
            f"cannot listen on {args.host}:{args.port}: {reason} (check --host, --port)"
        ) from None
    with listening:  # the server works on its own copy of the socket
        app = create_app(dashboard)
        server = make_server(args.host, args.port, app, threaded=True, fd=listening.fileno())
    url = f"http://{args.host}:{server.port}/"
    print(f"botify dashboard: {url} following {' '.join(args.paths)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(
        "botify dashboard", lambda: run(parse_args(sys.argv[1:] if argv is None else argv))
    )
