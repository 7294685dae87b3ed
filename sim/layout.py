"""Where a world's files live. `botify world --out DIR` writes the public catalog and chart at
the top of DIR (where the service's config names them) and the hidden world, which only sim/
reads, under DIR/world/."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

TRACKS = "tracks.json"
TOP_TRACKS = "top_tracks.json"
HIDDEN = "world"
EMBEDDINGS = "embeddings.npy"
USERS = "users.json"
NEIGHBOURS = "neighbours.npz"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class WorldPaths:
    tracks: Path
    top_tracks: Path
    embeddings: Path
    users: Path
    # absent in hand-made or course-made worlds
    manifest: Path | None = None
    neighbours: Path | None = None

    @classmethod
    def in_dir(cls, directory: str | Path) -> WorldPaths:
        directory = Path(directory)
        hidden = directory / HIDDEN
        return cls(
            tracks=directory / TRACKS,
            top_tracks=directory / TOP_TRACKS,
            embeddings=hidden / EMBEDDINGS,
            users=hidden / USERS,
            manifest=hidden / MANIFEST,
            neighbours=hidden / NEIGHBOURS,
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
