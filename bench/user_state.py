"""What one user's state costs in Redis: bytes of `used_memory` per distinct user, with a session
in progress and after it ended (the history stays until history_ttl_seconds).

    .venv/bin/python bench/user_state.py [--users 20000] [--tracks 15]

Each user listens to `--tracks` tracks (ids of the course-size catalog, listened fractions as
the simulator sends them) through RedisStore.record, as a chain with a session (no_repeat) and a
history (history_i2i) keeps them: the shipped config.json's treatment arm.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botify.redis_server import RedisServer, free_port  # noqa: E402
from botify.store import RedisStore  # noqa: E402

STATE = frozenset({"session", "history"})


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--tracks", type=int, default=15, help="tracks per session (15)")
    args = parser.parse_args()
    rng = random.Random(0)
    with RedisServer(port=free_port()) as server:
        client = redis.Redis.from_url(server.url)
        store = RedisStore(client)
        before = used_memory(client)
        for user in range(args.users):
            track = rng.randrange(50_000)
            for _ in range(args.tracks):
                recommendation = rng.randrange(50_000)
                store.record(user, track, round(rng.random(), 2), recommendation, STATE)
                track = recommendation
        in_session = used_memory(client)
        for user in range(args.users):
            store.end_session(user)
        after = used_memory(client)
    print(
        f"{args.users:,} users, {args.tracks} tracks each: "
        f"{(in_session - before) / args.users:,.0f} bytes per user in a session "
        f"(history of {min(args.tracks, store.history_length)} listens + session), "
        f"{(after - before) / args.users:,.0f} bytes per user after it ended (history only)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
