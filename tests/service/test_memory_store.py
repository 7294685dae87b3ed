"""The in-process store reads what Redis would: a request's own listen, recorded in the same
step as its reads, is not in the history it read (one decision path, two stores)."""

from botify.data import Listen, history_key
from botify.dataset import read_configured_dataset
from botify.inprocess import MemoryStore
from botify.store import RedisStore

STATE = frozenset({"history"})


def test_both_stores_read_the_history_before_the_requests_own_listen(loaded):
    config, data = loaded()
    stores = [RedisStore(data.store.client), MemoryStore(read_configured_dataset(config))]
    for store in stores:
        reads = [
            store.read([history_key(1)], listen=Listen(1, track, 0.5, STATE))[1][0]
            for track in (5, 6, 7)
        ]
        assert reads == [[], [(5, 0.5)], [(6, 0.5), (5, 0.5)]], type(store).__name__
