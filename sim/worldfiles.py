"""`botify world --out DIR --seed S`: generate the simulated world and write its files."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from sim.layout import WorldPaths, sha256_of
from sim.worldgen import GeneratedWorld, WorldSpec, generate

FORMAT = 1


def _write_atomically(path: Path, write) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:
        write(file)
    os.replace(partial, path)


def _lines(rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def write_world(world: GeneratedWorld, out: Path) -> WorldPaths:
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
    assert world.neighbours is not None and paths.neighbours is not None
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
