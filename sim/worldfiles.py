"""A world's files: where they live, writing them (`botify world --out DIR --seed S`) and the
manifest that ties them together.

`botify world --out DIR` writes the public catalog and chart at the top of DIR (where the
service's config names them) and the hidden world, which only sim/ reads, under DIR/world/. The
manifest, written last, records the format, the seed, the generator's spec and a digest of the
files: files of different worlds are caught, and a world already made can be reused."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from sim.errors import SimError
from sim.worldgen import GeneratedWorld, WorldSpec, generate

TRACKS = "tracks.json"
TOP_TRACKS = "top_tracks.json"
HIDDEN = "world"
EMBEDDINGS = "embeddings.npy"
USERS = "users.json"
NEIGHBOURS = "neighbours.npz"
MANIFEST = "manifest.json"

FORMAT = 1
REGENERATE = "regenerate the world with: botify world --out DIR --seed S"


@dataclass(frozen=True)
class WorldPaths:
    """The files the simulator reads; a config may name them one by one (a course-made world
    has no chart, manifest or precomputed neighbours)."""

    tracks: Path | None
    top_tracks: Path | None
    embeddings: Path | None
    users: Path | None
    manifest: Path | None = None
    neighbours: Path | None = None

    @classmethod
    def in_dir(cls, directory: str | Path) -> GeneratedWorldPaths:
        directory = Path(directory)
        hidden = directory / HIDDEN
        return GeneratedWorldPaths(
            tracks=directory / TRACKS,
            top_tracks=directory / TOP_TRACKS,
            embeddings=hidden / EMBEDDINGS,
            users=hidden / USERS,
            manifest=hidden / MANIFEST,
            neighbours=hidden / NEIGHBOURS,
        )


@dataclass(frozen=True)
class GeneratedWorldPaths(WorldPaths):
    """The files of a world directory as `botify world` writes it: every one named."""

    tracks: Path
    top_tracks: Path
    embeddings: Path
    users: Path
    manifest: Path
    neighbours: Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:
        write(file)
    os.replace(partial, path)


def _lines(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def write_world(world: GeneratedWorld, out: Path) -> GeneratedWorldPaths:
    paths = WorldPaths.in_dir(out)
    paths.embeddings.parent.mkdir(parents=True, exist_ok=True)
    genres = world.genre_names
    artists = world.artist_names
    artist_genre = world.artist_genre.tolist()
    catalog = (
        {
            "track": track,
            "artist": artists[artist],
            "title": world.titles[track],
            "genre": genres[artist_genre[artist]],
        }
        for track, artist in enumerate(world.track_artist.tolist())
    )
    _write_atomically(paths.tracks, lambda f: f.write(_lines(catalog)))
    _write_atomically(paths.top_tracks, lambda f: f.write(json.dumps(world.chart()).encode()))
    _write_atomically(paths.embeddings, lambda f: np.save(f, world.embeddings))
    _write_atomically(paths.users, lambda f: f.write(_lines(world.users)))
    assert world.neighbours is not None
    tracks, neighbours = world.neighbours
    _write_atomically(
        paths.neighbours,
        lambda f: np.savez(f, tracks=tracks.astype(np.int32), neighbours=neighbours),
    )
    manifest = {
        "format": FORMAT,
        "seed": world.seed,
        "spec": asdict(world.spec),
        "tracks": len(world.track_artist),
        "users": len(world.users),
        # ties the hidden world to the catalog it was made with, and its files to each other
        "tracks_sha256": sha256_of(paths.tracks),
        "embeddings_sha256": sha256_of(paths.embeddings),
        "neighbours_sha256": sha256_of(paths.neighbours),
    }
    _write_atomically(paths.manifest, lambda f: f.write(json.dumps(manifest, indent=2).encode()))
    return paths


def _recorded_digests(paths: WorldPaths, manifest: Any) -> dict[Path | None, Any]:
    """Each file and the digest its manifest records (None: not recorded). Raises KeyError,
    TypeError or AttributeError when `manifest` is not a world manifest."""
    return {
        paths.tracks: manifest["tracks_sha256"],
        paths.embeddings: manifest.get("embeddings_sha256"),
        paths.neighbours: manifest.get("neighbours_sha256"),
    }


def _stray_file(digests: dict[Path | None, Any]) -> Path | None:
    """The first file there that is not the one its digest was taken of."""
    for path, digest in digests.items():
        if path is None or digest is None or not path.exists():
            continue
        if sha256_of(path) != digest:
            return path
    return None


def check_manifest(paths: WorldPaths) -> None:
    """The generator's manifest records a digest of each file: files from different runs of
    the generator (a catalog regenerated with another seed, say) do not belong together."""
    if paths.manifest is None or not paths.manifest.exists():
        return
    try:
        manifest = json.loads(paths.manifest.read_text(encoding="utf-8"))
        digests = _recorded_digests(paths, manifest)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SimError(f"{paths.manifest}: not a world manifest; {REGENERATE}") from None
    stray = _stray_file(digests)
    if stray is not None:
        raise SimError(
            f"{stray} is not the file that {paths.manifest} was generated with "
            f"(files from different worlds?); {REGENERATE}"
        )


def world_matches(
    directory: str | Path,
    seed: int,
    tracks: int | None = None,
    artists: int | None = None,
    users: int | None = None,
) -> bool:
    """Whether `directory` holds a whole world that `botify world --seed seed` wrote with
    these sizes (None: any), so that it need not be generated again: the catalog, the chart,
    the hidden files and a manifest of the current format that records them."""
    paths = WorldPaths.in_dir(directory)
    files = (paths.tracks, paths.top_tracks, paths.embeddings, paths.users, paths.neighbours)
    if not all(path.is_file() for path in (*files, paths.manifest)):
        return False
    try:
        manifest = json.loads(paths.manifest.read_text(encoding="utf-8"))
        digests = _recorded_digests(paths, manifest)
        if manifest["format"] != FORMAT or manifest["seed"] != seed:
            return False
        sizes = {"tracks": tracks, "artists": artists, "users": users}
        if any(size is not None and manifest["spec"][k] != size for k, size in sizes.items()):
            return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return None not in digests.values() and _stray_file(digests) is None


def parse_args(argv: list[str]) -> argparse.Namespace:
    defaults = WorldSpec()
    parser = argparse.ArgumentParser(
        prog="botify world",
        description="Generate the simulated world: the catalog (tracks.json), the chart "
        "(top_tracks.json) and the hidden world (world/: embeddings, users) that only sim reads.",
    )
    parser.add_argument("--out", required=True, type=Path, help="directory to write (e.g. data)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--tracks", type=int, default=defaults.tracks)
    parser.add_argument("--artists", type=int, default=defaults.artists)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--genres", type=int, default=defaults.genres)
    parser.add_argument("--dim", type=int, default=defaults.dim, help="embedding dimension")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.seed < 0:
            raise ValueError(f"--seed must be non-negative, not {args.seed}")
        spec = WorldSpec(
            tracks=args.tracks,
            artists=args.artists,
            users=args.users,
            genres=args.genres,
            dim=args.dim,
        )
        started = time.perf_counter()
        world = generate(spec, args.seed)
        paths = write_world(world, args.out)
    except (ValueError, OSError) as error:
        if args.debug:
            raise
        print(f"botify world: {error}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(
        f"wrote {spec.tracks} tracks by {spec.artists} artists, {spec.users} users "
        f"(seed {args.seed}) to {args.out} in {elapsed:.1f} s: "
        f"{paths.tracks.name}, {paths.top_tracks.name}, {paths.embeddings.parent.name}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
