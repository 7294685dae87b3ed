"""The data files in the course's formats, parsed and validated into arrays.

Both the Redis loader and the in-process recommender read files through here, so a file means the
same thing wherever it is used. A malformed file fails with `DataError("<file>:<line>: <what>")`;
recommended ids that are not in the catalog are dropped and counted (a recommendation must always
be a track of the catalog).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import ujson

ID_DTYPE = np.dtype("<i8")
MAX_ID = 2**63 - 1


class DataError(ValueError):
    """A data file that cannot be loaded; the message names the file and the line."""


@dataclass
class Lists:
    """Integer lists keyed by an integer id (a track's neighbours, a user's recommendations),
    stored flat: the list of keys[i] is values[offsets[i]:offsets[i + 1]]."""

    keys: np.ndarray
    offsets: np.ndarray
    values: np.ndarray
    _index: dict[int, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, key: int) -> np.ndarray | None:
        if self._index is None:
            self._index = dict(zip(self.keys.tolist(), range(len(self.keys)), strict=True))
        position = self._index.get(key)
        if position is None:
            return None
        return self.values[self.offsets[position] : self.offsets[position + 1]]


@dataclass
class Catalog:
    ids: np.ndarray  # track ids, in file order
    artists: np.ndarray  # artist number of each track (0, 1, ... in order of first appearance)
    records: list[str] | None = None  # each track's JSON object, for GET /track
    _index: dict[int, int] | None = field(default=None, repr=False)
    _artist_order: np.ndarray | None = field(default=None, repr=False)
    _artist_starts: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def index(self) -> dict[int, int]:
        """track id -> position in the catalog."""
        if self._index is None:
            self._index = dict(zip(self.ids.tolist(), range(len(self.ids)), strict=True))
        return self._index

    def __contains__(self, track: int) -> bool:
        return track in self.index

    def warm(self) -> None:
        """Build the lookups that requests use."""
        _ = self.index
        if len(self):
            self.tracks_of_artist(0)

    def artist_of(self, track: int) -> int | None:
        position = self.index.get(track)
        return None if position is None else int(self.artists[position])

    def tracks_of_artist(self, artist: int) -> np.ndarray:
        if self._artist_order is None:
            self._artist_order = np.argsort(self.artists, kind="stable")
            counts = np.bincount(self.artists)
            self._artist_starts = np.concatenate(([0], np.cumsum(counts)))
        assert self._artist_starts is not None  # set with the order above
        start, end = self._artist_starts[artist], self._artist_starts[artist + 1]
        return self.ids[self._artist_order[start:end]]


@dataclass
class Dataset:
    catalog: Catalog
    top_tracks: np.ndarray
    items: dict[str, Lists]  # item-to-item sources by name
    users: dict[str, Lists]  # per-user sources by name
    dropped: dict[str, int] = field(default_factory=dict)  # file -> recommended ids not in catalog


def _read_lines(path: Path) -> list[bytes]:
    try:
        with open(path, "rb") as file:
            return file.read().splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a file") from None


def _parse_object(path: Path, number: int, line: bytes) -> dict:
    try:
        value = ujson.loads(line)
    except ValueError as error:
        raise DataError(f"{path}:{number}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise DataError(f"{path}:{number}: must be a JSON object")
    return value


def _check_id(path: Path, number: int, value: object, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise DataError(f"{path}:{number}: '{key}' must be a non-negative integer, got {value!r}")
    return value


def _check_id_list(path: Path, number: int, value: object, key: str) -> None:
    if not isinstance(value, list):
        raise DataError(f"{path}:{number}: '{key}' must be a list of track ids")
    for item in value:
        _check_id(path, number, item, f"{key}[]")


def _id_array(path: Path, numbers: list[int], lists: list[list], key: str) -> np.ndarray:
    """Concatenate validated id lists; the fast path checks all at once and only looks for the
    offending line when something is wrong."""
    flat: list = []
    for values in lists:
        flat.extend(values)
    if not flat:
        return np.zeros(0, ID_DTYPE)
    try:
        array = np.array(flat)
    except (ValueError, OverflowError):
        array = None
    if array is None or array.dtype.kind != "i" or array.ndim != 1 or array.min() < 0:
        for number, values in zip(numbers, lists, strict=True):
            _check_id_list(path, number, values, key)
        raise DataError(f"{path}: '{key}' must hold non-negative integer track ids")
    return array.astype(ID_DTYPE, copy=False)


def _keep_known(values: np.ndarray, offsets: np.ndarray, known: np.ndarray):
    """Drop values outside `known` (sorted), returning new values, offsets and the drop count."""
    if not len(values):
        return values, offsets, 0
    if known[-1] < 16 * len(known) + 1_000_000:
        # Dense ids (the usual case): a lookup table is ~40x faster than searchsorted.
        table = np.zeros(int(known[-1]) + 1, dtype=bool)
        table[known] = True
        keep = np.zeros(len(values), dtype=bool)
        in_range = values <= known[-1]
        keep[in_range] = table[values[in_range]]
    else:
        position = np.searchsorted(known, values)
        position[position == len(known)] = 0
        keep = known[position] == values
    dropped = int(len(values) - keep.sum())
    if dropped == 0:
        return values, offsets, 0
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    return values[keep], kept_before[offsets], dropped


def _check_unique(path: Path, keys: np.ndarray, numbers: list[int], name: str) -> None:
    order = np.argsort(keys, kind="stable")
    repeated = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    if len(repeated):
        first, second = order[repeated[0]], order[repeated[0] + 1]
        raise DataError(
            f"{path}:{numbers[second]}: {name} {keys[second]} appears again (first at line "
            f"{numbers[first]})"
        )


def _parse_lists(path: Path, lines: list[bytes], first_number: int, key_names, list_name):
    """Lines of a list file -> (keys, line numbers, list lengths, all values), as arrays."""
    keys: list[int] = []
    numbers: list[int] = []
    lists: list[list] = []
    for number, line in enumerate(lines, start=first_number):
        if not line.strip():
            continue
        record = _parse_object(path, number, line)
        key_name = next((name for name in key_names if name in record), None)
        if key_name is None:
            raise DataError(f"{path}:{number}: missing '{key_names[0]}'")
        keys.append(_check_id(path, number, record[key_name], key_name))
        values = record.get(list_name)
        if not isinstance(values, list):
            raise DataError(f"{path}:{number}: '{list_name}' must be a list of track ids")
        numbers.append(number)
        lists.append(values)
    return (
        np.array(keys, dtype=ID_DTYPE),
        np.array(numbers, dtype=np.int64),
        np.array([len(values) for values in lists], dtype=np.int64),
        _id_array(path, numbers, lists, list_name),
    )


def _parse_lists_part(path: Path, part: int, parts: int, key_names, list_name):
    lines = _read_lines(path)
    size = -(-len(lines) // parts)
    return _parse_lists(
        path, lines[part * size : (part + 1) * size], part * size + 1, key_names, list_name
    )


def _assemble_lists(path: Path, key_name: str, pieces: list[tuple]) -> Lists:
    """A list file's parsed pieces, in file order, as one checked Lists."""
    keys, numbers, lengths, values = (
        np.concatenate(arrays) for arrays in zip(*pieces, strict=True)
    )
    _check_unique(path, keys, numbers.tolist(), key_name)
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Lists(keys, offsets, values.astype(ID_DTYPE, copy=False))


def _build_lists(path, keys, numbers, lists, list_name, key_name, known) -> tuple[Lists, int]:
    key_array = np.array(keys, dtype=ID_DTYPE)
    _check_unique(path, key_array, numbers, key_name)
    values = _id_array(path, numbers, lists, list_name)
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(values) for values in lists], out=offsets[1:])
    if known is None:
        return Lists(key_array, offsets, values), 0
    values, offsets, dropped = _keep_known(values, offsets, known)
    return Lists(key_array, offsets, values), dropped


def read_catalog(path: Path) -> tuple[Catalog, Lists | None, int]:
    """The catalog, and the item-to-item lists that its lines may carry ('recommendations')."""
    ids: list[int] = []
    artist_numbers: dict[str, int] = {}
    artists: list[int] = []
    records: list[str] = []
    numbers: list[int] = []
    embedded: list[list] = []
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        record = _parse_object(path, number, line)
        if "track" not in record:
            raise DataError(f"{path}:{number}: missing 'track'")
        ids.append(_check_id(path, number, record["track"], "track"))
        for key in ("artist", "title"):
            if not isinstance(record.get(key), str):
                raise DataError(f"{path}:{number}: '{key}' must be a string")
        artists.append(artist_numbers.setdefault(record["artist"], len(artist_numbers)))
        recommendations = record.pop("recommendations", None)
        if recommendations is not None:
            if not isinstance(recommendations, list):
                raise DataError(f"{path}:{number}: 'recommendations' must be a list of track ids")
            embedded.append(recommendations)
        else:
            embedded.append([])
        numbers.append(number)
        records.append(ujson.dumps(record, ensure_ascii=False))
    if not ids:
        raise DataError(f"{path}: the catalog is empty")
    id_array = np.array(ids, dtype=ID_DTYPE)
    _check_unique(path, id_array, numbers, "track")
    catalog = Catalog(id_array, np.array(artists, dtype=np.int32), records)
    if not any(embedded):
        return catalog, None, 0
    lists, dropped = _build_lists(
        path, ids, numbers, embedded, "recommendations", "track", np.sort(id_array)
    )
    return catalog, lists, dropped


def read_top_tracks(path: Path, known: np.ndarray) -> tuple[np.ndarray, int]:
    try:
        value = ujson.loads(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except ValueError as error:
        raise DataError(f"{path}:1: not valid JSON ({error})") from None
    if not isinstance(value, list):
        raise DataError(f"{path}:1: must be a JSON array of track ids, most popular first")
    tracks = _id_array(path, [1], [value], "top tracks")
    kept, _, dropped = _keep_known(tracks, np.array([0, len(tracks)]), known)
    return kept, dropped


CATALOG_SOURCE = "catalog"  # the item-to-item lists carried inside the catalog's lines


ITEM_KEYS: tuple[str, ...] = ("track", "item_id")
USER_KEYS: tuple[str, ...] = ("user",)


def read_dataset(
    catalog_path: str | os.PathLike,
    top_tracks_path: str | os.PathLike | None = None,
    item_paths: dict[str, str | os.PathLike] | None = None,
    user_paths: dict[str, str | os.PathLike] | None = None,
    processes: int = 1,
) -> Dataset:
    """Read and check every file. With `processes` > 1 the list files are parsed in forked
    processes while this one reads the catalog (for a command-line load: forking a process that
    runs threads is not safe)."""
    catalog_path = Path(catalog_path)
    specs = [
        ("items", name, Path(path), ITEM_KEYS, "recommendations")
        for name, path in (item_paths or {}).items()
    ]
    specs += [
        ("users", name, Path(path), USER_KEYS, "tracks")
        for name, path in (user_paths or {}).items()
    ]
    pool = None
    if processes > 1 and specs:
        pool = ProcessPoolExecutor(processes, mp_context=get_context("fork"))
    try:
        # Every list file is parsed in `processes` pieces while this process reads the catalog.
        pending = [
            [
                pool.submit(_parse_lists_part, path, part, processes, keys, name)
                for part in range(processes)
            ]
            if pool
            else None
            for _, _, path, keys, name in specs
        ]
        catalog, embedded, embedded_dropped = read_catalog(catalog_path)
        known = np.sort(catalog.ids)
        dropped: dict[str, int] = {}
        sources: dict[str, dict[str, Lists]] = {"items": {}, "users": {}}
        if embedded is not None:
            sources["items"][CATALOG_SOURCE] = embedded
            dropped[str(catalog_path)] = embedded_dropped
        top = np.zeros(0, ID_DTYPE)
        if top_tracks_path is not None:
            top, dropped[str(top_tracks_path)] = read_top_tracks(Path(top_tracks_path), known)
        for (kind, name, path, keys, list_name), futures in zip(specs, pending, strict=True):
            if futures is None:
                pieces = [_parse_lists(path, _read_lines(path), 1, keys, list_name)]
            else:
                pieces = [future.result() for future in futures]
            lists = _assemble_lists(path, keys[0], pieces)
            values, offsets, dropped[str(path)] = _keep_known(lists.values, lists.offsets, known)
            sources[kind][name] = Lists(lists.keys, offsets, values)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return Dataset(
        catalog, top, sources["items"], sources["users"], {k: v for k, v in dropped.items() if v}
    )


def read_configured_dataset(config, processes: int = 1) -> Dataset:
    """The dataset that a botify config names (paths relative to the config file)."""
    data = config["data"]
    top = data.get("top_tracks")
    return read_dataset(
        config.path(data["catalog"]),
        config.path(top) if top else None,
        {name: config.path(path) for name, path in data["item_recommendations"].items()},
        {name: config.path(path) for name, path in data["user_recommendations"].items()},
        processes,
    )
