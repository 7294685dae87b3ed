"""Redis on the request path: a request's commands in one round trip, and writes sent without
waiting for their replies, on the client's own pooled connections.

`round_trip` sends a list of commands at once and reads their raw replies (what redis-py's
pipeline does, without its per-command layers, which cost a worker more than Redis does).

A /next answers once its round trip is back; the write that depends on the answer (the
recommendation into the session) is sent before the answer goes out, with `send_unwaited`:
nobody waits for Redis to confirm it. The connection counts the replies it is owed and reads them
before the replies of its next command, which by then have long arrived: an error reply is
logged, and the connection stays in step with Redis, as redis-py expects.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis
from redis.connection import AbstractConnection
from redis.exceptions import ClusterError

log = logging.getLogger(__name__)

Command = tuple  # ("GET", key), ("SADD", key, member), ...
# What an unavailable Redis (or cluster node) raises, as opposed to an error reply about data.
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, ClusterError)


class OwedReplies(AbstractConnection):
    """Mixed into the pool's connection class (before it, which it leaves abstract here):
    counts the replies of unwaited writes, and reads them before any other."""

    owed = 0
    # Writes sent without waiting that Redis refused, in this process (shown in /healthz).
    failures = 0

    def send_unwaited(self, commands: Sequence[Command]) -> None:
        self.send_packed_command(self.pack_commands(commands))
        self.owed += len(commands)

    def read_response(self, *args, **kwargs):
        while self.owed:
            self.owed -= 1
            try:
                super().read_response()
            except redis.ResponseError as error:
                OwedReplies.failures += 1
                log.error("a write sent without waiting failed: %s", error)
        return super().read_response(*args, **kwargs)

    def can_read(self, timeout: float = 0) -> bool:
        """The pool asks this before handing a connection out, to catch one out of step
        (unread data, or closed by Redis), and redis-py polls the socket for it each time. This
        connection is in step but for the replies it counts (every other reply is read as it
        comes), and a closed one fails its next command, which `round_trip` (and the client,
        botify.store.connect) retries once on a fresh connection: so no poll."""
        return False

    def disconnect(self, *args, **kwargs) -> None:
        self.owed = 0
        super().disconnect(*args, **kwargs)


def owing_replies(client: redis.Redis) -> redis.Redis:
    """Make `client`'s pool hand out connections that can send without waiting (before it has
    made any: its class is the one the URL chose, TCP, TLS or a Unix socket)."""
    pool = client.connection_pool
    base = pool.connection_class
    if not issubclass(base, OwedReplies):
        pool.connection_class = type(f"Owing{base.__name__}", (OwedReplies, base), {})
    return client


def replies(client: redis.Redis, commands: Sequence[Command]) -> list:
    """The raw replies of `commands`, sent at once, an error reply (redis.ResponseError) in its
    command's place. A dropped connection is retried once on a fresh one, as the client's own
    commands are; a timeout is not (a frozen Redis costs one); either raises."""
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        try:
            return _exchange(connection, commands)
        except redis.ConnectionError:
            connection.disconnect()
            return _exchange(connection, commands)
    finally:
        pool.release(connection)


def round_trip(client: redis.Redis, commands: Sequence[Command]) -> list:
    """`replies`, raising the first error reply (once every reply is read)."""
    answers = replies(client, commands)
    failure = failure_of(answers)
    if failure is not None:
        raise failure
    return answers


def failure_of(answers: list, tolerate: int = 0) -> redis.RedisError | None:
    """The first error among a request's replies, but for its first `tolerate` commands failing
    for an unavailable node (on a cluster, the live version's read may: see botify.store)."""
    for index, answer in enumerate(answers):
        if isinstance(answer, redis.RedisError) and not (
            index < tolerate and isinstance(answer, UNAVAILABLE)
        ):
            return answer
    return None


def _exchange(connection, commands: Sequence[Command]) -> list:
    connection.send_packed_command(connection.pack_commands(commands))
    answers: list = []
    for _ in commands:
        try:
            answers.append(connection.read_response())
        except redis.ResponseError as error:  # the connection stays in step: read the rest
            answers.append(error)
    return answers


def send_unwaited(client: redis.Redis, commands: Sequence[Command]) -> None:
    """Send `commands` on one of the client's connections and return at once."""
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        if isinstance(connection, OwedReplies):
            connection.send_unwaited(commands)
        else:  # a client made elsewhere: wait, as any write does
            connection.send_packed_command(connection.pack_commands(commands))
            for _ in commands:
                connection.read_response()
    finally:
        pool.release(connection)


class RoundTrips:
    """`round_trip` and `send_unwaited` on one Redis, in the shape of the cluster's
    (botify.cluster.ClusterRoundTrips), so that the store calls one or the other alike."""

    def __init__(self, client: redis.Redis):
        self.client = client

    def replies(self, commands: Sequence[Command]) -> list:
        return replies(self.client, commands)

    def round_trip(self, commands: Sequence[Command], tolerate: int = 0) -> list:
        # On one Redis no command can fail alone for an unavailable node: `tolerate` is moot.
        return round_trip(self.client, commands)

    def send_unwaited(self, commands: Sequence[Command]) -> None:
        send_unwaited(self.client, commands)
