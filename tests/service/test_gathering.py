"""Round trips gathered per turn of a gevent worker's loop (botify.gathering): the requests ready
in one turn share one exchange (per node on a cluster), each gets its own replies, and an error
reply fails only its own request. On a real Redis and a real Redis Cluster, in greenlets."""

from __future__ import annotations

import gevent
import redis

from botify.gathering import Gathering
from botify.redis_server import RedisServer, free_port
from botify.store import RedisStore, connect


def test_ready_requests_share_one_exchange_and_fail_alone(redis_url):
    store = RedisStore(connect(redis_url, timeout=5))
    gathered = Gathering(store.trips)
    store.trips.client.rpush("{u7}:a-list", "x")

    def request(number: int) -> list:
        key = f"{{u{number}}}:counter"  # users on different nodes of a cluster
        if number == 7:  # INCR on a list: an error reply, for this request only
            return gathered.round_trip([("INCR", "{u7}:a-list"), ("GET", "{u7}:a-list")])
        return gathered.round_trip([("SET", key, number), ("INCRBY", key, 10), ("GET", key)])

    requests = [gevent.spawn(request, number) for number in range(12)]
    gevent.joinall(requests)
    assert gathered.exchanges == 1 and gathered.round_trips == 12
    for number, done in enumerate(requests):
        if number == 7:
            assert isinstance(done.exception, redis.ResponseError)
            assert "WRONGTYPE" in str(done.exception)
        else:
            assert done.value == [b"OK", number + 10, str(number + 10).encode()]
    # A later turn's requests make a later exchange, after the first one's writes.
    later = [gevent.spawn(request, number) for number in (1, 2)]
    gevent.joinall(later)
    assert gathered.exchanges == 2 and [done.value[1] for done in later] == [11, 12]


def test_a_lost_connection_fails_every_request_of_its_exchange():
    with RedisServer(port=free_port()) as server:
        client = connect(server.url, timeout=0.5)
        gathered = Gathering(RedisStore(client).trips)
        assert gathered.round_trip([("PING",)]) == [b"PONG"]
        server.stop()
        requests = [gevent.spawn(gathered.round_trip, [("GET", f"k{n}")]) for n in range(3)]
        gevent.joinall(requests)
    assert gathered.exchanges == 2
    assert all(isinstance(done.exception, redis.ConnectionError) for done in requests)
