"""Redis Cluster: its URL, its client, and a request's commands in one round trip per node.

A cluster is named by `redis+cluster://[[user]:password@]host:port[,host:port...]`: any of its
nodes are seeds, from which the client learns who serves which slot. The plain client serves
every other URL (botify.store.connect chooses).

`ClusterRoundTrips` does for a cluster what botify.roundtrip does for one Redis: a request's
commands are grouped by the node that masters their slot, sent to every node, and then every
node's replies are read, so the nodes work at the same time and a request costs about one round
trip however many nodes it touches. What does not go to plan is counted (`stats`, shown in
/healthz): a dropped connection is retried once on a fresh one; a node that stays unreachable
fails only the commands it serves, is not asked again for a second (its commands fail at once,
counted), and makes the client relearn the slot map (at most once a second), which is how a
promoted replica is found (a slot without a master makes it relearn too, until it has one); a
command redirected (MOVED, ASK: the slots are moving) is sent again through redis-py's client,
which follows redirects.

`ClusterRoundTrips.serving` is /healthz's view: whether every master this client sends to answers
and says the cluster is ok, and every slot has a master (a master that answers PING may still
refuse its slots: one that restarts answers "The cluster is down" until it has rejoined).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode
from redis.connection import Connection
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    SlotNotCoveredError,
)
from redis.retry import Retry

from botify.config import parse_cluster_url
from botify.roundtrip import Command, OwedReplies, failure_of

log = logging.getLogger(__name__)

# A node that cannot serve now: down, frozen, or not yet back in the cluster (CLUSTERDOWN).
# The slot map is relearnt at most this often when a node is unreachable.
REFRESH_SECONDS = 1.0
# A cluster's hash slots.
SLOTS = 16384


class OwingConnection(OwedReplies, Connection):
    """A cluster node's TCP connection that can send writes without waiting for their replies."""


def connect_cluster(url: str, timeout: float, max_connections: int) -> redis.RedisCluster:
    """A cluster client that fails as fast as the plain one (botify.store.connect): each node's
    pool holds `max_connections`, a frozen node costs one `timeout` on the request path."""
    seeds, username, password = parse_cluster_url(url)
    (host, port), others = seeds[0], seeds[1:]
    return redis.RedisCluster(
        # Given a URL, redis-py builds each node's pool from these arguments, so the pools make
        # connections of our class.
        url=f"redis://{host}:{port}/0",
        startup_nodes=[ClusterNode(host, port) for host, port in others],
        username=username,
        password=password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        max_connections=max_connections,
        connection_class=OwingConnection,
        # A master that is down takes only its slots down (the cluster's own setting must agree).
        require_full_coverage=False,
    )


class ClusterRoundTrips:
    """Round trips and unwaited writes on a cluster client, with the counts of what went wrong."""

    def __init__(self, client: redis.RedisCluster):
        self.client = client
        self.stats = {"node_errors": 0, "failed_fast": 0, "redirected": 0, "slot_map_refreshes": 0}
        self._refreshed_at = float("-inf")
        # A node that just failed is not asked again for a second (its commands fail at once):
        # the requests that need it answer 503 without each paying a timeout or a DNS lookup.
        self._failed_until: dict[object, float] = {}
        self._refresh_lock = threading.Lock()

    def _pool(self, command: Command):
        slot = self.client.keyslot(command[1])
        try:
            node = self.client.nodes_manager.get_node_from_slot(slot)
        except SlotNotCoveredError as error:  # not a RedisError: an outage all the same
            self._refresh()  # until the slot has a master again
            raise ClusterDownError(str(error)) from error
        return self.client.get_redis_connection(node).connection_pool

    def round_trip(self, commands: Sequence[Command], tolerate: int = 0) -> list:
        """The raw replies of `commands`. The first `tolerate` of them may fail for a node that
        is unavailable: their reply is then the error, not raised. Any other failure raises
        (the first one, once every node's replies are read)."""
        replies = self.replies(commands)
        failure = failure_of(replies, tolerate)
        if failure is not None:
            raise failure
        return replies

    def replies(self, commands: Sequence[Command]) -> list:
        """The raw replies of `commands`, one exchange per node, each failure (an error reply,
        or its node's unavailability) in place of the reply it stands for."""
        replies: list = [None] * len(commands)
        groups: dict = {}
        for index, command in enumerate(commands):
            groups.setdefault(self._pool(command), []).append(index)
        sent = []
        now = time.monotonic()
        for pool, indexes in groups.items():
            if self._fails_fast(pool, indexes, replies, now):
                continue
            try:
                connection = pool.get_connection()  # a new one connects: the node may refuse
            except (redis.ConnectionError, redis.TimeoutError) as error:
                self._node_failed(pool, indexes, replies, error)
                continue
            try:
                connection.send_packed_command(
                    connection.pack_commands([commands[i] for i in indexes])
                )
                sent.append((pool, connection, indexes))
            except redis.ConnectionError:
                connection.disconnect()
                pool.release(connection)
                self._again(pool, commands, indexes, replies)
            except redis.TimeoutError as error:  # connecting to a frozen node: once, not twice
                connection.disconnect()
                pool.release(connection)
                self._node_failed(pool, indexes, replies, error)
        for pool, connection, indexes in sent:
            try:
                self._read(connection, indexes, replies)
                self._failed_until.pop(pool, None)
            except redis.ConnectionError:
                connection.disconnect()
                self._again(pool, commands, indexes, replies)
            except redis.TimeoutError as error:  # a frozen node: one timeout, not two
                connection.disconnect()
                self._node_failed(pool, indexes, replies, error)
            finally:
                pool.release(connection)
        for index, reply in enumerate(replies):
            if isinstance(reply, MovedError | AskError):
                self.stats["redirected"] += 1
                replies[index] = self.client.execute_command(*commands[index])
        return replies

    def _fails_fast(self, pool, indexes: list[int], replies: list, now: float) -> bool:
        """Whether the node failed less than a second ago: its commands fail at once. Past that
        second, this request tries it again, and the others keep failing fast meanwhile."""
        failed_until = self._failed_until.get(pool)
        if failed_until is None:
            return False
        if failed_until <= now:
            self._failed_until[pool] = now + REFRESH_SECONDS
            return False
        self.stats["failed_fast"] += 1
        failure = redis.ConnectionError("a cluster node failed less than a second ago")
        for index in indexes:
            replies[index] = failure
        return True

    @staticmethod
    def _read(connection, indexes: list[int], replies: list) -> None:
        for index in indexes:
            try:
                replies[index] = connection.read_response()
            except redis.ResponseError as error:  # the connection stays in step: read the rest
                replies[index] = error

    def _again(self, pool, commands: Sequence[Command], indexes: list[int], replies: list) -> None:
        """A node's commands once more on a fresh connection, after a dropped one."""
        try:
            connection = pool.get_connection()
        except (redis.ConnectionError, redis.TimeoutError) as error:
            self._node_failed(pool, indexes, replies, error)
            return
        try:
            connection.send_packed_command(connection.pack_commands([commands[i] for i in indexes]))
            self._read(connection, indexes, replies)
            self._failed_until.pop(pool, None)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            connection.disconnect()
            self._node_failed(pool, indexes, replies, error)
        finally:
            pool.release(connection)

    def _node_failed(
        self, pool, indexes: list[int], replies: list, error: redis.RedisError
    ) -> None:
        self.stats["node_errors"] += 1
        self._failed_until[pool] = time.monotonic() + REFRESH_SECONDS
        for index in indexes:
            replies[index] = error
        self._refresh()

    def _refresh(self) -> None:
        """Relearn who serves which slot (a replica may have been promoted), at most once a
        second and by one request at a time."""
        now = time.monotonic()
        if now - self._refreshed_at < REFRESH_SECONDS or not self._refresh_lock.acquire(False):
            return
        try:
            self._refreshed_at = now
            self.stats["slot_map_refreshes"] += 1
            self.client.nodes_manager.initialize()
        except redis.RedisError as error:
            log.warning("could not relearn the cluster's slot map: %s", error)
        finally:
            self._refresh_lock.release()

    def serving(self) -> dict:
        """Whether the cluster serves, as the masters this client sends to see it: `unreachable`,
        the masters that do not answer; `cluster_state_fail`, those that answer but say the
        cluster is down (they refuse every command: one that restarts does so until it has
        rejoined, node_timeout); `slots_not_served`, the slot ranges of both, and of slots that
        have no master; `message`, what is wrong, empty when the cluster serves.

        One CLUSTER INFO per master, the round trip of the PING it replaces: nothing is cached,
        so /healthz says what the masters say now, never ok while a master refuses its slots."""
        masters = self.client.get_primaries()
        unreachable: list[str] = []
        failing: list[str] = []
        unassigned: list[str] = []  # masters that see slots without a master
        for node in masters:
            connection = self.client.get_redis_connection(node)
            try:
                info = connection.cluster("info")
            except redis.RedisError:
                unreachable.append(node.name)
                continue
            if info.get("cluster_state") != "ok":
                failing.append(node.name)
            else:
                # It serves: the requests that this worker failed fast for it need not wait.
                self._failed_until.pop(connection.connection_pool, None)
            if int(info.get("cluster_slots_assigned", SLOTS)) < SLOTS:
                unassigned.append(f"{info['cluster_slots_assigned']} on {node.name}")
        slot_map = self.client.nodes_manager.slots_cache
        wrong: list[str] = []
        if unreachable:
            verb = "does" if len(unreachable) == 1 else "do"
            wrong.append(
                f"{', '.join(unreachable)} {verb} not answer "
                f"({len(unreachable)} of {len(masters)} masters)"
            )
        if failing:
            wrong.append(f"cluster_state is fail on {', '.join(failing)}")
        if unassigned:
            wrong.append(f"cluster_slots_assigned is {', '.join(unassigned)} (of {SLOTS})")
        not_served: list[str] = []
        if wrong or len(slot_map) < SLOTS:
            down = set(unreachable + failing)
            not_served = slot_ranges(
                slot
                for slot in range(SLOTS)
                if not slot_map.get(slot) or slot_map[slot][0].name in down
            )
        if not_served and not wrong:
            wrong.append("slots without a master")
        message = ""
        if wrong:
            message = (
                f"Redis Cluster: {'; '.join(wrong)} (slots not served: "
                f"{', '.join(not_served) or 'none known'}); requests that need them get 503"
            )
        if unreachable or unassigned or len(slot_map) < SLOTS:
            # A replica may have been promoted, slots (re)assigned: relearnt here too, so that a
            # worker without traffic does not report the old map for ever (at most once a second).
            self._refresh()
        return {
            "masters": len(masters),
            "unreachable": unreachable,
            "cluster_state_fail": failing,
            "slots_not_served": not_served,
            "message": message,
        }

    def send_unwaited(self, commands: Sequence[Command]) -> None:
        """Send `commands` (all on one slot: one user's keys) and return at once."""
        pool = self._pool(commands[0])
        connection = pool.get_connection()
        try:
            connection.send_unwaited(commands)
        except redis.ConnectionError:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)


def slot_ranges(slots: Iterable[int]) -> list[str]:
    """Ascending slots as ranges: 0, 1, 2, 5 -> ["0-2", "5"]."""
    ranges: list[list[int]] = []
    for slot in slots:
        if ranges and ranges[-1][1] == slot - 1:
            ranges[-1][1] = slot
        else:
            ranges.append([slot, slot])
    return [f"{start}-{end}" if end > start else str(start) for start, end in ranges]
