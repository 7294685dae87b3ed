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
