import os

import pytest
import redis

from botify.redis_server import LocalCluster, RedisServer, free_port
from botify.store import connect


def test_embedded_redis_starts_answers_and_stops():
    server = RedisServer(port=free_port()).start()
    client = redis.Redis.from_url(server.url)
    client.set("k", "v")
    assert client.get("k") == b"v"
    process = server.process
    server.stop()
    assert process.poll() is not None


def test_a_forked_child_leaving_does_not_stop_its_parents_redis():
    """botify serve's gunicorn workers are forks that unwind serve's stack (and its cleanup)
    when they exit: the embedded Redis and its folder must outlive them."""
    server = RedisServer(port=free_port()).start()
    try:
        folder = server._tempdir.name
        child = os.fork()
        if child == 0:
            server.stop()
            os._exit(0)
        assert os.waitpid(child, 0)[1] == 0
        assert redis.Redis.from_url(server.url).ping()
        assert os.path.isdir(folder)
    finally:
        server.stop()
    assert not os.path.isdir(folder)


def test_shared_redis_fixture_is_empty_per_test(redis_url):
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.set("left-over", 1)


def test_a_redis_that_cannot_start_says_why_in_its_own_words():
    server = RedisServer(port=free_port(), options=["--no-such-option", "1"])
    with pytest.raises(RuntimeError, match="redis-server exited at start: .*no-such-option"):
        server.start()


def test_a_local_cluster_forms_and_keeps_a_restarted_masters_keys():
    with LocalCluster(masters=3, replicas=0) as cluster:
        client = connect(cluster.url)
        client.mset_nonatomic({f"k{i}": i for i in range(50)})
        assert len(client.get_primaries()) == 3
        master = cluster.master_of("k1")
        master.stop()
        master.start()
        cluster.wait_ready()
        assert [int(v) for v in client.mget_nonatomic([f"k{i}" for i in range(50)])] == list(
            range(50)
        )
