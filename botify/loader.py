"""`botify load`: the data files named by a config -> a new data version in Redis, switched to
atomically.

The files are parsed and validated in full before anything is written, so a malformed file leaves
Redis untouched. The new version is written beside the live one (pipelined, in bulk), then one SET
makes it live; the version it replaced is deleted after a grace period, so that a request that read
the old version number just before the switch still finds its data. Loading files identical to the
live version's does nothing (unless --force).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
import time

import redis
import ujson

from botify.config import Config, ConfigError, load_config, redis_url, safe_url
from botify.dataset import DataError, Dataset, read_configured_dataset
from botify.store import Client, Keys, connect, pack, text

CHUNK = 2000  # key-value pairs per MSET: large enough to amortise, small enough not to stall Redis


def fingerprint(config: Config) -> str:
    """A digest of the data files' contents and the names they are loaded under."""
    data = config["data"]
    digest = hashlib.sha1(ujson.dumps(data, sort_keys=True).encode())
    files = [data["catalog"], data.get("top_tracks")]
    files += list(data["item_recommendations"].values()) + list(
        data["user_recommendations"].values()
    )
    for name in files:
        if name is None:
            continue
        try:
            with open(config.path(name), "rb") as file:
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
        except OSError:
            pass  # read_configured_dataset reports missing files with their names
    return digest.hexdigest()


def _mset(client: Client, pairs: list[tuple[str, bytes]]) -> None:
    if isinstance(client, redis.RedisCluster):
        # Keys of a version are spread over the slots: one pipeline per node, MSETs per slot.
        for start in range(0, len(pairs), CHUNK):
            client.mset_nonatomic(dict(pairs[start : start + CHUNK]))
        return
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(pairs), CHUNK):
        pipe.mset(dict(pairs[start : start + CHUNK]))
    pipe.execute()


def write_version(
    client: Client,
    keys: Keys,
    dataset: Dataset,
    digest: str,
    local_max_bytes: int = 256 * 1024 * 1024,
) -> str:
    """Write `dataset` under a new version; nothing points at it yet. A version is named
    "<n>-<token>": n counts the loads into this Redis (for people), the random token makes the
    name unique even after Redis lost its data and counts from 1 again, so that a service's
    cached copy of an old version can never be taken for the new one.

    A list source of at most `local_max_bytes` is written whole (three packed arrays), for the
    service's processes to hold in memory: its lists then cost no round trip. A larger one is
    written list by list, one key each, and read per request."""
    version = f"{client.incr(keys.version_counter)}-{secrets.token_hex(4)}"
    try:
        catalog = dataset.catalog
        pairs = [
            (keys.data(version, "catalog:ids"), pack(catalog.ids)),
            (keys.data(version, "catalog:artists"), catalog.artists.astype("<i4").tobytes()),
            (keys.data(version, "top"), pack(dataset.top_tracks)),
        ]
        layout: dict[str, dict[str, str]] = {"items": {}, "users": {}}
        for kind, sources, key_of in (
            ("items", dataset.items, keys.items),
            ("users", dataset.users, keys.users),
        ):
            for source, lists in sources.items():
                values, offsets = lists.values, lists.offsets
                if values.nbytes <= local_max_bytes:
                    layout[kind][source] = "whole"
                    pairs += [
                        (keys.whole(version, kind, source, part), pack(array))
                        for part, array in (
                            ("keys", lists.keys),
                            ("offsets", offsets),
                            ("values", values),
                        )
                    ]
                    continue
                layout[kind][source] = "keyed"
                pairs += [
                    (
                        key_of(version, source, int(key)),
                        values[offsets[i] : offsets[i + 1]].tobytes(),
                    )
                    for i, key in enumerate(lists.keys.tolist())
                ]
        _mset(client, pairs)
        records_key = keys.data(version, "tracks")
        pipe = client.pipeline(transaction=False)
        ids = catalog.ids.tolist()
        records = catalog.records
        assert records is not None  # read_catalog keeps every track's record
        for start in range(0, len(ids), CHUNK):
            pipe.hset(
                records_key,
                mapping=dict(
                    zip(
                        ids[start : start + CHUNK],
                        records[start : start + CHUNK],
                        strict=True,
                    )
                ),
            )
        meta = {
            "fingerprint": digest,
            "loaded_at": time.time(),
            "tracks": len(catalog),
            "sources": layout,
            "dropped_unknown_ids": dataset.dropped,
        }
        # The meta key is written last: a version without it is incomplete.
        pipe.set(keys.data(version, "meta"), ujson.dumps(meta))
        pipe.execute()
    except BaseException:
        delete_version(client, keys, version)
        raise
    return version


def delete_version(client: Client, keys: Keys, version: str) -> int:
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=keys.version_pattern(version), count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            deleted += client.unlink(*batch)
            batch = []
    if batch:
        deleted += client.unlink(*batch)
    return deleted


def live_fingerprint(client: Client, keys: Keys) -> str | None:
    version = client.get(keys.version)
    if version is None:
        return None
    meta = client.get(keys.data(text(version), "meta"))
    return None if meta is None else ujson.loads(meta).get("fingerprint")


def load(
    config: Config,
    client: Client,
    force: bool = False,
    grace: float | None = None,
    processes: int = 1,
):
    """Load the config's data files as the live version. Returns (version, replaced version or
    None, dataset or None when the files were already live). `processes` > 1 parses the list
    files in parallel (only from a process that runs no other threads)."""
    keys = Keys(config["namespace"])
    digest = fingerprint(config)
    if not force and live_fingerprint(client, keys) == digest:
        return text(client.get(keys.version)), None, None
    dataset = read_configured_dataset(config, processes)
    version = write_version(
        client, keys, dataset, digest, config["local_sources_max_mb"] * 1024 * 1024
    )
    replaced = client.set(keys.version, version, get=True)
    if replaced is not None:
        time.sleep(config["swap_grace_seconds"] if grace is None else grace)
        delete_version(client, keys, text(replaced))
    return version, None if replaced is None else text(replaced), dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="botify load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.json", help="the botify config (config.json)")
    parser.add_argument("--force", action="store_true", help="load even if the files are live")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        url = redis_url(config)
        client = connect(url, timeout=max(5.0, config["redis_timeout_seconds"]))
        client.ping()
        started = time.perf_counter()
        version, replaced, dataset = load(
            config, client, force=args.force, processes=os.cpu_count() or 1
        )
    except (ConfigError, DataError) as error:
        print(f"botify load: {error}", file=sys.stderr)
        return 1
    except redis.RedisError as error:
        print(
            f"botify load: cannot reach Redis at {safe_url(url)} ({error}); start 'botify serve' "
            "(which starts an embedded Redis when the config names none) or set redis_url",
            file=sys.stderr,
        )
        return 1
    if dataset is None:
        print(f"botify load: version {version} already holds these files (--force reloads)")
        return 0
    seconds = time.perf_counter() - started
    parts = [f"{len(dataset.catalog)} tracks", f"{len(dataset.top_tracks)} top tracks"]
    parts += [f"item lists '{name}': {len(lists)}" for name, lists in dataset.items.items()]
    parts += [f"user lists '{name}': {len(lists)}" for name, lists in dataset.users.items()]
    print(f"botify load: version {version} live in {seconds:.2f} s: " + ", ".join(parts))
    if replaced:
        print(f"botify load: replaced version {replaced} (deleted)")
    for path, count in dataset.dropped.items():
        print(f"botify load: warning: {path}: dropped {count} ids not in the catalog")
    return 0


if __name__ == "__main__":
    sys.exit(main())
