"""Shared setup of the simulator's benchmarks: the default-size world, an item-to-item file
learned from its hidden embeddings (a strong precomputed recommender), and configs naming
them. Everything is cached under bench/out/sim/ and made deterministically from a seed."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# one BLAS thread, as the simulator's own commands run (see sim/__init__.py); before numpy loads
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

from sim.neighbours import nearest_many  # noqa: E402
from sim.worldfiles import WorldPaths, write_world  # noqa: E402
from sim.worldgen import WorldSpec, generate  # noqa: E402

OUT = ROOT / "bench" / "out" / "sim"
SEED = 0
NEIGHBOURS = 100


def world(seed: int = SEED) -> Path:
    """The default-size world (50,000 tracks, 11,000 artists, 10,000 users)."""
    directory = OUT / f"world-{seed}"
    if not (directory / "world" / "manifest.json").exists():
        started = time.perf_counter()
        write_world(generate(WorldSpec(), seed), directory)
        print(f"generated the world in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return directory


def item_to_item(directory: Path) -> Path:
    """Each track's 100 nearest other tracks by the hidden embeddings (JSON lines, the course's
    i2i format): what a very good learned item-to-item model would find."""
    path = directory / "i2i.json"
    if not path.exists():
        started = time.perf_counter()
        embeddings = np.load(WorldPaths.in_dir(directory).embeddings)
        tracks = np.arange(len(embeddings))
        nearest = nearest_many(embeddings, tracks, NEIGHBOURS + 1)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "w") as file:
            for track, row in zip(tracks.tolist(), nearest.tolist(), strict=True):
                others = [t for t in row if t != track][:NEIGHBOURS]
                file.write(json.dumps({"track": track, "recommendations": others}) + "\n")
        partial.replace(path)
        print(f"computed i2i in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def botify_config(
    directory: Path, chain: list, redis_url: str | None = None, name: str = "config.json"
) -> Path:
    config = {
        "redis_url": redis_url,
        "log_dir": str(directory / "log"),
        "swap_grace_seconds": 0,
        "data": {
            "catalog": str(directory / "tracks.json"),
            "top_tracks": str(directory / "top_tracks.json"),
            "item_recommendations": {"i2i": str(directory / "i2i.json")},
            "user_recommendations": {},
        },
        "experiments": [{"name": "BENCH", "arms": {"C": chain}}],
    }
    path = directory / name
    path.write_text(json.dumps(config, indent=1))
    return path


def sim_config(directory: Path, botify: Path | None = None, **remote) -> Path:
    lines = [f"world: {{dir: {directory}}}"]
    if botify is not None:
        lines.append(f"inprocess: {{config: {botify}}}")
    if remote:
        lines.append("remote: " + json.dumps(remote))
    path = directory / "sim.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path
