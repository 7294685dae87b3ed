"""The world as the simulator holds it in memory: the catalog, the hidden embeddings and the
users, read from files and checked against each other. Every problem is a `SimError` naming
the file (and line) at fault."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import UserDefaults
from sim.errors import SimError
from sim.neighbours import NeighbourIndex
from sim.user import UserParams
from sim.worldfiles import REGENERATE, WorldPaths, check_manifest

PARAM_NAMES = tuple(f.name for f in fields(UserParams))
INT_PARAMS = {"interest_neighbours", "session_budget"}


def _json_lines(path: Path):
    """(line number, object) for each non-blank line."""
    try:
        file = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise SimError(f"{path}: missing ({REGENERATE})") from None
    except OSError as error:
        raise SimError(f"{path}: cannot read ({error.strerror})") from None
    with file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise SimError(f"{path} line {number}: not valid JSON") from None
            if not isinstance(row, dict):
                raise SimError(f"{path} line {number}: expected a JSON object")
            yield number, row


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dense_ids(path: Path, ids: list[int], what: str) -> None:
    """Ids must be 0..n-1, each once: they index the embeddings' rows and Discrete spaces."""
    seen = np.zeros(len(ids), dtype=bool)
    for position, value in enumerate(ids):
        if not 0 <= value < len(ids):
            raise SimError(
                f"{path}: {what} ids must be 0..{len(ids) - 1} (one per line), found {value}"
            )
        if seen[value]:
            raise SimError(f"{path}: {what} {value} appears twice (line {position + 1} or later)")
        seen[value] = True


# not botify.dataset's reader: sim needs titles and genres by dense id, and its own messages
@dataclass
class WorldCatalog:
    titles: list[str]
    genres: list[str]
    artist_names: list[str]  # by artist index
    track_artist: np.ndarray  # artist index per track id


def read_world_catalog(path: Path) -> WorldCatalog:
    ids: list[int] = []
    rows: list[tuple[str, str, str]] = []
    for number, row in _json_lines(path):
        track, artist = row.get("track"), row.get("artist")
        if not _is_int(track):
            raise SimError(f"{path} line {number}: 'track' must be an integer, not {track!r}")
        if not isinstance(artist, str):
            raise SimError(f"{path} line {number}: 'artist' must be a string, not {artist!r}")
        ids.append(track)
        rows.append((artist, str(row.get("title", "")), str(row.get("genre", ""))))
    if not ids:
        raise SimError(f"{path}: the catalog is empty")
    _dense_ids(path, ids, "track")
    order = np.argsort(ids)
    artist_index: dict[str, int] = {}
    track_artist = np.empty(len(ids), dtype=np.int64)
    titles, genres = [""] * len(ids), [""] * len(ids)
    for position in order.tolist():
        artist, title, genre = rows[position]
        track = ids[position]
        track_artist[track] = artist_index.setdefault(artist, len(artist_index))
        titles[track], genres[track] = title, genre
    return WorldCatalog(titles, genres, list(artist_index), track_artist)


def read_embeddings(path: Path, tracks: int, catalog_path: Path) -> np.ndarray:
    try:
        embeddings = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SimError(f"{path}: missing ({REGENERATE})") from None
    except (OSError, ValueError) as error:
        raise SimError(f"{path}: not a numpy array file ({error})") from None
    if embeddings.ndim != 2 or not np.issubdtype(embeddings.dtype, np.floating):
        raise SimError(
            f"{path}: expected a 2-D float array, found {embeddings.dtype} {embeddings.shape}"
        )
    if embeddings.shape[0] != tracks:
        raise SimError(
            f"{path} has {embeddings.shape[0]} rows but {catalog_path} has {tracks} tracks; "
            + REGENERATE
        )
    if not np.isfinite(embeddings).all():
        raise SimError(f"{path}: contains NaN or infinite values")
    return np.ascontiguousarray(embeddings, dtype=np.float32)


def _user_params(path: Path, number: int, row: dict, defaults: UserDefaults) -> UserParams:
    values: dict[str, Any] = {}
    for name in PARAM_NAMES:
        value = row.get(name, getattr(defaults, name))
        if name in INT_PARAMS:
            ok = _is_int(value) and value >= 1
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = ok and np.isfinite(value)
        if not ok:
            raise SimError(f"{path} line {number}: {name} must be a valid number, not {value!r}")
        values[name] = value if name in INT_PARAMS else float(value)
    return UserParams(**values)


def read_users(
    path: Path, tracks: int, defaults: UserDefaults
) -> tuple[list[UserParams], list[tuple[int, ...]]]:
    ids, params, interests = [], [], []
    for number, row in _json_lines(path):
        user, wanted = row.get("user"), row.get("interests")
        if not _is_int(user):
            raise SimError(f"{path} line {number}: 'user' must be an integer, not {user!r}")
        if not isinstance(wanted, list) or not wanted or not all(map(_is_int, wanted)):
            raise SimError(
                f"{path} line {number}: 'interests' must be a non-empty list of track ids"
            )
        outside = [t for t in wanted if not 0 <= t < tracks]
        if outside:
            raise SimError(
                f"{path} line {number}: interest {outside[0]} is not in the catalog "
                f"(0..{tracks - 1}); {REGENERATE}"
            )
        ids.append(user)
        params.append(_user_params(path, number, row, defaults))
        interests.append(tuple(wanted))
    if not ids:
        raise SimError(f"{path}: no users")
    _dense_ids(path, ids, "user")
    order = np.argsort(ids).tolist()
    return [params[i] for i in order], [interests[i] for i in order]


def read_neighbours(path: Path | None, tracks: int) -> tuple[np.ndarray, np.ndarray] | None:
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            queries, neighbours = data["tracks"], data["neighbours"]
    except (OSError, ValueError, KeyError) as error:
        raise SimError(f"{path}: not a neighbours file ({error}); {REGENERATE}") from None
    ok = (
        queries.ndim == 1
        and neighbours.ndim == 2
        and len(queries) == len(neighbours)
        and np.issubdtype(queries.dtype, np.integer)
        and np.issubdtype(neighbours.dtype, np.integer)
        and (queries.size == 0 or (queries.min() >= 0 and queries.max() < tracks))
        and (neighbours.size == 0 or (neighbours.min() >= 0 and neighbours.max() < tracks))
    )
    if not ok:
        raise SimError(f"{path}: does not match the catalog of {tracks} tracks; {REGENERATE}")
    return queries, neighbours


@dataclass
class World:
    paths: WorldPaths
    catalog: WorldCatalog
    embeddings: np.ndarray
    users: list[UserParams]
    interests: list[tuple[int, ...]]
    preset_neighbours: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_tracks(self) -> int:
        return len(self.catalog.titles)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def track_artist(self) -> np.ndarray:
        return self.catalog.track_artist

    @cached_property
    def neighbours(self) -> NeighbourIndex:
        return NeighbourIndex(self.embeddings, self.preset_neighbours)

    @cached_property
    def chart(self) -> list[int]:
        """The public chart (top_tracks.json), most popular first."""
        path = self.paths.top_tracks
        if path is None:
            raise SimError("the config names no top_tracks file")
        try:
            chart = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SimError(f"{path}: missing ({REGENERATE})") from None
        except ValueError:
            raise SimError(f"{path}: not valid JSON") from None
        if not isinstance(chart, list) or not chart or not all(map(_is_int, chart)):
            raise SimError(f"{path}: expected a non-empty JSON array of track ids")
        if not all(0 <= t < self.n_tracks for t in chart):
            raise SimError(f"{path}: a track id outside the catalog; {REGENERATE}")
        return chart

    def describe(self, track: int) -> str:
        c = self.catalog
        return f"{c.titles[track]!r} by {c.artist_names[int(c.track_artist[track])]}"


def load_world(paths: WorldPaths, defaults: UserDefaults) -> World:
    if paths.tracks is None or paths.embeddings is None or paths.users is None:
        raise SimError("the world needs a catalog, embeddings and users")
    check_manifest(paths)
    catalog = read_world_catalog(paths.tracks)
    embeddings = read_embeddings(paths.embeddings, len(catalog.titles), paths.tracks)
    users, interests = read_users(paths.users, len(catalog.titles), defaults)
    neighbours = read_neighbours(paths.neighbours, len(catalog.titles))
    return World(paths, catalog, embeddings, users, interests, neighbours)
