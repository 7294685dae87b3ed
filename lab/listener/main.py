"""`botify listen --service URL`: the listener page, on a local port.

    botify listen --service http://127.0.0.1:5001 [--port 8060] [--host 127.0.0.1]
                  [--sim-config sim/config.yaml] [--seed N]

The simulated world (the simulator's config names it) gives the user ids and each session's
first track; the service must serve that world's catalog (as `botify serve` on `botify world`'s
files does). Open sessions left when the page stops are named: their /last was never sent."""

from __future__ import annotations

import argparse
import signal
import sys
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from lab.listener.app import create_app, plural
from lab.listener.service_client import ServiceClient
from lab.listener.sessions import Listener

DEFAULT_PORT = 8060


class Stopped(Exception):
    """SIGTERM: stop as on Ctrl-C, naming what was left open."""


def stop_on_sigterm(signum: int, frame: object) -> None:
    raise Stopped


def service_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http:// URL: {text!r}")
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from sim.config import DEFAULT_PATH

    parser = argparse.ArgumentParser(
        prog="botify listen",
        description="A web page on which you play the simulator's user against a running "
        "botify service; your sessions are logged by the service like any other.",
    )
    parser.add_argument(
        "--service", required=True, type=service_url, help="the botify service's URL"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    parser.add_argument(
        "--sim-config",
        default=str(DEFAULT_PATH),
        help="the simulator's config, which names the world (sim/config.yaml)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the suggested ids and first tracks"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from sim.config import load_config
    from sim.errors import SimError
    from sim.world import load_world

    try:
        config = load_config(args.sim_config)
        world = load_world(config.world.paths(), config.user)
    except SimError as error:
        print(f"botify listen: {error}", file=sys.stderr)
        return 1
    client = ServiceClient(args.service)
    listener = Listener(world, client, args.seed)
    try:
        server = make_server(args.host, args.port, create_app(listener), threaded=True)
    except OSError as error:
        print(f"botify listen: cannot listen on {args.host}:{args.port} ({error.strerror})",
              file=sys.stderr)  # fmt: skip
        return 1
    for problem in (client.alive(timeout=2.0), listener.catalog_problem()):
        if problem:
            print(f"botify listen: warning: {problem}; the page says so too", file=sys.stderr)
    print(
        f"listener page at http://{args.host}:{server.port}/ playing {world.n_users:,} users of "
        f"{world.n_tracks:,} tracks against {client.url} (Ctrl-C stops)",
        flush=True,
    )
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, Stopped):
        pass
    finally:
        server.server_close()
    left = listener.open_sessions()
    if left:
        users = ", ".join(str(session.user) for session in left)
        print(
            f"botify listen: {plural(len(left), 'session')} left open "
            f"({'user' if len(left) == 1 else 'users'} {users}): their /last was never sent: "
            "the A/B report counts each as incomplete, outside its metrics",
            file=sys.stderr,
        )
    counts = listener.counts
    print(
        f"botify listen: {plural(counts.started, 'session')} started, {counts.ended} ended, "
        f"{plural(counts.listens, 'track')} rated, "
        f"{plural(counts.service_errors, 'service error')}"
    )
    return 0
