"""Fixtures for the simulator's tests: small generated worlds on disk and configs naming them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.config import UserDefaults
from sim.world import World, load_world
from sim.worldfiles import WorldPaths, write_world
from sim.worldgen import WorldSpec, generate

# small enough to generate in well under a second, large enough for the world's structure
SMALL = WorldSpec(tracks=3000, artists=600, users=400, genres=8, dim=32)
SEED = 7


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    write_world(generate(SMALL, SEED), out)
    return out


@pytest.fixture(scope="session")
def world(world_dir) -> World:
    return load_world(WorldPaths.in_dir(world_dir), UserDefaults())


def botify_data(world_dir: Path) -> dict:
    """A botify config's data files for the world: its catalog and chart, no recommendations."""
    return {
        "catalog": str(world_dir / "tracks.json"),
        "top_tracks": str(world_dir / "top_tracks.json"),
        "item_recommendations": {},
        "user_recommendations": {},
    }


def write_sim_config(path: Path, world_dir: Path, **sections) -> Path:
    raw = {"world": {"dir": str(world_dir)}, **sections}
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def sim_config(tmp_path, world_dir) -> Path:
    return write_sim_config(tmp_path / "sim.yaml", world_dir)
