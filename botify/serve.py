"""`botify serve`: the service under gunicorn, with an embedded Redis when the config names none.

Each worker builds its own app after the fork (no preloading), so every worker has its own
Redis connections and event-log writer; a graceful stop flushes each worker's queued events.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import warnings

import redis
from gunicorn.app.base import BaseApplication

from botify.config import Config, ConfigError, load_config, redis_url, safe_url
from botify.dataset import DataError
from botify.metrics_dir import MetricsDir, worker_exited
from botify.redis_server import DEFAULT_HOST, RedisServer, port_in_use

# Chosen by measurement (bench/service.py; figures in docs/speed.md).
DEFAULT_WORKER_CLASS = "gevent"
DEFAULT_PORT = 5001
# `--worker-class NAME` -> the class gunicorn runs: gunicorn's of that name with JSON errors and a
# header read timeout (botify.workers).
WORKER_CLASSES = {
    "gevent": "botify.workers.GeventWorker",
    "gthread": "botify.workers.ThreadWorker",
    "sync": "botify.workers.SyncWorker",
}


def _flush_event_log(server, worker) -> None:
    app = getattr(worker, "wsgi", None)
    extensions = getattr(app, "extensions", {}) if app is not None else {}
    service = extensions.get("botify")
    if service is not None:
        service.events.close()
    health_copy = extensions.get("botify_metrics_copy")
    if health_copy is not None:
        health_copy.copy()  # the worker's last counts, its log's final ones included
    # gevent's thread module is torn down before logging's weakref callbacks run at exit, which
    # then print "Exception ignored ... get_ident"; flushing now and dropping the weakrefs (their
    # callbacks die with them) keeps a graceful stop quiet.
    logging.shutdown()
    del logging._handlerList[:]  # type: ignore[attr-defined]  # private, no public way


class BotifyApplication(BaseApplication):
    """Workers read the config file when they start, so `kill -HUP <master>` (gunicorn's
    graceful reload) switches the service to an edited config.json (new experiments or chains)
    without dropping a request."""

    def __init__(self, config: Config, options: dict, overrides: dict | None = None):
        self.botify_config = config
        self.overrides = overrides or {}
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("worker_exit", _flush_event_log)
        self.cfg.set("child_exit", worker_exited)

    def load(self):
        from botify import onesend
        from botify.app import create_app

        onesend.install()

        config = self.botify_config
        if config.source is not None:
            config = load_config(config.source).with_overrides(**self.overrides)
        # Read by the worker (botify.workers) for the connections it serves.
        self.header_timeout = config["header_timeout_seconds"]
        app = create_app(config, in_flight=in_flight(self.options))
        # Everything built so far lives as long as the worker: out of the collector's sight, a
        # full collection no longer walks it (it made p99 latency spikes).
        gc.freeze()
        return app


def in_flight(options: dict) -> int:
    """The requests one worker may handle at once, under these gunicorn options."""
    if options["worker_class"] == WORKER_CLASSES["gevent"]:
        return options["worker_connections"]
    if options["worker_class"] == WORKER_CLASSES["gthread"]:
        return options["threads"]
    return 1


def gunicorn_options(args) -> dict:
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": WORKER_CLASSES[args.worker_class],
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 75,
        "loglevel": args.log_level,
        "accesslog": "-" if args.access_log else None,
        "proc_name": "botify",
        # gunicorn's runtime control socket: unused, and it cannot be created in a read-only
        # working folder (the image's /app).
        "control_socket_disable": True,
    }
    if args.worker_class == "gevent":
        options["worker_connections"] = 1000
    if args.worker_class == "gthread":
        options["threads"] = args.threads
    return options


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="botify serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.json", help="the botify config (config.json)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--worker-class",
        default=DEFAULT_WORKER_CLASS,
        choices=tuple(WORKER_CLASSES),
        help=f"gunicorn worker class ({DEFAULT_WORKER_CLASS}, chosen by measurement)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (4)")
    parser.add_argument(
        "--embedded-redis",
        action="store_true",
        help="start a local Redis even if the config names one (it does when it names none)",
    )
    parser.add_argument(
        "--load", action="store_true", help="load the config's data files first, unless live"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    parser.add_argument("--log-level", default="warning", help="gunicorn's log level (warning)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The master imports redis (and with it ssl) to start and load Redis before gevent workers
    # fork and patch; the workers never talk TLS, so gevent's warning about that is noise.
    warnings.filterwarnings("ignore", message="Monkey-patching ssl after ssl")
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    embedded: RedisServer | None = None
    metrics_dir: MetricsDir | None = None
    try:
        config = load_config(args.config)
        overrides: dict = {}
        if args.embedded_redis or config["redis_url"] is None:
            port = config["embedded_redis_port"]
            if port_in_use(DEFAULT_HOST, port):
                raise ConfigError(
                    f"cannot start the embedded Redis: {DEFAULT_HOST}:{port} is in use (another "
                    "botify serve?); stop it or set embedded_redis_port"
                )
            overrides["redis_url"] = None
            config = config.with_overrides(**overrides)
            embedded = RedisServer(
                port=port, maxmemory_mb=config["embedded_redis_maxmemory_mb"]
            ).start()
            print(f"botify serve: embedded Redis at {embedded.url}", file=sys.stderr)
    except (ConfigError, RuntimeError) as problem:
        print(f"botify serve: {problem}", file=sys.stderr)
        return 1
    try:
        if args.load:
            from botify.loader import load
            from botify.store import connect

            client = connect(redis_url(config), timeout=5.0)
            version, _, dataset = load(config, client, processes=os.cpu_count() or 1)
            state = "loaded" if dataset is not None else "already live"
            print(f"botify serve: data version {version} {state}", file=sys.stderr)
        # Before prometheus_client is imported (with botify.app): it chooses its mode then.
        metrics_dir = MetricsDir().prepare()
        print(f"botify serve: {metrics_dir.describe()}", file=sys.stderr)
        # Imported once here, before the fork, so that workers start in milliseconds.
        import botify.app  # noqa: F401

        # Fail on a bad experiment config here, once, rather than in every worker.
        from botify.data import DataView
        from botify.experiments import build_experiments

        build_experiments(config, DataView(None))
        print(f"botify serve: listening on http://{args.host}:{args.port}", file=sys.stderr)
        BotifyApplication(config, gunicorn_options(args), overrides).run()
    except (ConfigError, DataError) as problem:
        print(f"botify serve: {problem}", file=sys.stderr)
        return 1
    except redis.RedisError as outage:
        print(
            f"botify serve: Redis at {safe_url(redis_url(config))} is unavailable: {outage}",
            file=sys.stderr,
        )
        return 1
    finally:
        if embedded is not None:
            embedded.stop()
        if metrics_dir is not None:
            metrics_dir.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
