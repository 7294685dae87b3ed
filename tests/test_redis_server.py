import redis

from botify.redis_server import RedisServer, free_port


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
