"""`botify load`: versioned, atomic, idempotent; a malformed file names its line and changes
nothing that the service sees."""

import re
import subprocess
import sys

import numpy as np
import pytest

from botify.data import DataView, NoData, items_key, users_key
from botify.dataset import DataError, read_dataset
from botify.loader import load
from botify.store import Keys, RedisStore, connect
from tests.conftest import ROOT, write_lines


def run_load(config_path, *extra):
    return subprocess.run(
        [sys.executable, "-m", "botify", "load", "--config", str(config_path), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_load_command_loads_and_is_idempotent(make_config):
    config = make_config()
    first = run_load(config.source)
    assert first.returncode == 0, first.stderr
    v1 = re.search(r"version (1-[0-9a-f]{8}) live", first.stdout).group(1)
    assert "100 tracks" in first.stdout
    again = run_load(config.source)
    assert again.returncode == 0 and "already holds these files" in again.stdout
    client = connect(config["redis_url"])
    assert client.get("botify:version") == v1.encode()
    forced = run_load(config.source, "--force")
    v2 = re.search(r"version (2-[0-9a-f]{8}) live", forced.stdout).group(1)
    assert f"replaced version {v1}" in forced.stdout
    assert client.get("botify:version") == v2.encode()
    assert not list(client.scan_iter(match=f"botify:v:{v1}:*"))  # the old version is gone


def test_loaded_data_reads_back_exactly(loaded):
    _, data = loaded()
    assert data.catalog.ids.tolist() == list(range(100))
    assert data.top_tracks.tolist() == list(range(100))
    assert data.item_recommendations("i2i", 98).tolist() == [99, 0, 1, 2, 3]
    assert data.user_recommendations("ub", 5).tolist() == list(range(5, 15))
    assert data.catalog.tracks_of_artist(data.catalog.artist_of(7)).tolist() == [5, 6, 7, 8, 9]
    assert data.store.track_record(7) == {"track": 7, "artist": "artist 1", "title": "song 7"}


def test_course_variants_item_id_key_and_lists_inside_the_catalog(tmp_path, loaded):
    catalog = write_lines(
        tmp_path / "tracks_with_recs.json",
        [
            {"track": 1, "artist": "a", "title": "x", "recommendations": [2, 3]},
            {"track": 2, "artist": "a", "title": "y", "recommendations": [1]},
            {"track": 3, "artist": "b", "title": "z"},
        ],
    )
    i2i = write_lines(tmp_path / "i2i.json", [{"item_id": 3, "recommendations": [1, 2, 777]}])
    _, data = loaded(data={"catalog": str(catalog), "item_recommendations": {"i2i": str(i2i)}})
    assert data.item_recommendations("catalog", 1).tolist() == [2, 3]
    assert (
        data.item_recommendations("catalog", 3) is None
        or data.item_recommendations("catalog", 3).tolist() == []
    )
    assert data.item_recommendations("i2i", 3).tolist() == [1, 2]  # 777 is not in the catalog
    assert "recommendations" not in data.store.track_record(1)


MALFORMED = [
    (
        "tracks.json",
        '{"track": 1, "artist": "a", "title": "t"}\n{"track": 1, "artist": "b", "title": "u"}\n',
        "tracks.json:2: track 1 appears again",
    ),
    (
        "tracks.json",
        '{"track": 1, "artist": "a", "title": "t"}\n{"track": 2, "artist": "a"\n',
        "tracks.json:2: not valid JSON",
    ),
    ("tracks.json", '{"track": "1", "artist": "a", "title": "t"}\n', "tracks.json:1: 'track'"),
    ("tracks.json", '{"track": 1, "artist": 5, "title": "t"}\n', "tracks.json:1: 'artist'"),
    ("tracks.json", "[1, 2]\n", "tracks.json:1: must be a JSON object"),
    ("tracks.json", "", "tracks.json: the catalog is empty"),
    (
        "i2i.json",
        '{"track": 1, "recommendations": [2]}\n{"track": 2, "recommendations": [1, "x"]}\n',
        "i2i.json:2: 'recommendations[]'",
    ),
    ("i2i.json", '{"track": 1, "recommendations": [2.5]}\n', "i2i.json:1:"),
    ("i2i.json", '{"track": 1, "recommendations": [true]}\n', "i2i.json:1:"),
    ("i2i.json", '{"recommendations": [1]}\n', "i2i.json:1: missing 'track'"),
    ("i2i.json", '{"track": 1, "recommendations": 5}\n', "i2i.json:1: 'recommendations' must be"),
    ("ub.json", '{"user": -3, "tracks": [1]}\n', "ub.json:1: 'user'"),
    ("ub.json", '{"user": 3, "tracks": [-1]}\n', "ub.json:1:"),
    ("top.json", '{"a": 1}', "top.json:1: must be a JSON array"),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED)
def test_malformed_file_fails_with_file_and_line_and_changes_nothing(
    make_config, data_section, name, content, message
):
    config = make_config()
    assert run_load(config.source).returncode == 0
    client = connect(config["redis_url"])
    keys_before = sorted(client.keys("*"))
    target = next(
        p
        for p in [
            data_section["catalog"],
            data_section["top_tracks"],
            *data_section["item_recommendations"].values(),
            *data_section["user_recommendations"].values(),
        ]
        if p.endswith(name)
    )
    with open(target, "w") as file:
        file.write(content)
    result = run_load(config.source)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(client.keys("*")) == keys_before  # nothing written, nothing visible
    assert client.get("botify:version").startswith(b"1-")


def test_missing_file_and_missing_redis_are_clear(make_config, data_section, tmp_path):
    config = make_config(data={**data_section, "catalog": str(tmp_path / "nope.json")})
    result = run_load(config.source)
    assert result.returncode == 1 and "nope.json: no such file" in result.stderr
    config = make_config(redis_url="redis://127.0.0.1:1/0")
    result = run_load(config.source)
    assert result.returncode == 1 and "cannot reach Redis" in result.stderr


def test_reading_is_vectorised_but_still_names_the_bad_line(tmp_path):
    catalog = write_lines(
        tmp_path / "t.json", ({"track": t, "artist": "a", "title": "t"} for t in range(10))
    )
    lines = [{"track": t, "recommendations": [1, 2, 3]} for t in range(10)]
    lines[7]["recommendations"] = [1, 2**70]
    i2i = write_lines(tmp_path / "i.json", lines)
    with pytest.raises(DataError, match=r"i.json:8: 'recommendations\[\]'"):
        read_dataset(catalog, item_paths={"i2i": i2i})


def test_a_new_version_is_invisible_until_switched(loaded, tmp_path, data_section):
    from botify.loader import write_version

    config, data = loaded()
    client = data.store.client
    keys = Keys("botify")
    replacement = write_lines(
        tmp_path / "other.json", [{"track": 5000, "artist": "z", "title": "n"}]
    )
    version = write_version(client, keys, read_dataset(replacement), "digest")
    assert version.startswith("2-")
    assert data.catalog.ids.tolist() == list(range(100))  # still version 1
    client.set(keys.version, version)
    assert data.catalog.ids.tolist() == [5000]
    assert np.array_equal(DataView(RedisStore(client)).catalog.ids, [5000])


def test_whole_sources_are_read_from_memory_without_a_round_trip(loaded):
    config, data = loaded()
    store = RedisStore(data.store.client, version_check_seconds=3600)
    view = DataView(store)
    with view.request([items_key("i2i", 7), users_key("ub", 3)]):
        assert view.item_recommendations("i2i", 7).tolist() == [8, 9, 10, 11, 12]
    data.store.client.flushdb()  # Redis is empty now: only memory can answer
    with view.request([items_key("i2i", 98), users_key("ub", 5)]):
        assert view.item_recommendations("i2i", 98).tolist() == [99, 0, 1, 2, 3]
        assert view.user_recommendations("ub", 5).tolist() == list(range(5, 15))
    checking = DataView(RedisStore(data.store.client, version_check_seconds=0))
    with pytest.raises(NoData):
        checking.item_recommendations("i2i", 98)


def test_large_sources_are_written_list_by_list(make_config):
    config = make_config(local_sources_max_mb=0)
    client = connect(config["redis_url"])
    version, _, _ = load(config, client, grace=0)
    assert client.get(f"botify:v:{version}:items:i2i:98") is not None
    assert client.get(f"botify:v:{version}:whole:items:i2i:values") is None
    view = DataView(RedisStore(client))
    assert view.item_recommendations("i2i", 98).tolist() == [99, 0, 1, 2, 3]


def test_parallel_parsing_reads_the_same_and_names_the_same_line(tmp_path):
    catalog = write_lines(
        tmp_path / "t.json", ({"track": t, "artist": "a", "title": "t"} for t in range(50))
    )
    lines = [{"track": t, "recommendations": [(t + 1) % 50, 70]} for t in range(50)]
    i2i = write_lines(tmp_path / "i.json", lines)
    one = read_dataset(catalog, item_paths={"i2i": i2i}, processes=1)
    two = read_dataset(catalog, item_paths={"i2i": i2i}, processes=2)
    for field in ("keys", "offsets", "values"):
        assert np.array_equal(getattr(one.items["i2i"], field), getattr(two.items["i2i"], field))
    assert one.dropped == two.dropped == {str(i2i): 50}  # 70 is not in the catalog
    lines[37]["recommendations"] = ["x"]
    write_lines(i2i, lines)
    with pytest.raises(DataError, match=r"i.json:38: "):
        read_dataset(catalog, item_paths={"i2i": i2i}, processes=2)


def test_whole_sources_are_read_in_pieces_with_turns_between(loaded, monkeypatch):
    """A new version's in-memory sources come in CHUNK_BYTES pieces, the worker's other requests
    served between them (a pause after each piece), and read exactly what was loaded."""
    import botify.store

    config, data = loaded()
    client = data.store.client
    version = client.get("botify:version").decode()
    values = client.get(f"botify:v:{version}:whole:items:i2i:values")
    monkeypatch.setattr(botify.store, "CHUNK_BYTES", 64)
    pauses = []
    monkeypatch.setattr(botify.store, "let_others_run", lambda: pauses.append(1))
    view = DataView(RedisStore(client))
    assert view.item_recommendations("i2i", 98).tolist() == [99, 0, 1, 2, 3]
    assert view.user_recommendations("ub", 5).tolist() == list(range(5, 15))
    assert len(pauses) > len(values) // 64  # a pause after every piece of the largest value
    # A part gone meanwhile (past the version's grace) reads as missing, not as a short list.
    client.delete(f"botify:v:{version}:whole:items:i2i:values")
    with pytest.raises(NoData, match="incomplete"):
        RedisStore(client)._load_snapshot(version)
