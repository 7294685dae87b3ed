"""Shared fixtures: a real Redis server for the whole test session."""

from __future__ import annotations

import pytest
import redis

from botify.redis_server import RedisServer, free_port


@pytest.fixture(scope="session")
def redis_server():
    with RedisServer(port=free_port()) as server:
        yield server


@pytest.fixture
def redis_url(redis_server):
    """The session's Redis, emptied for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url
