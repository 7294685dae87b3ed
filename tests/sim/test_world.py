"""The world generator and `botify world`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lab.cli import main as botify_main
from sim.neighbours import nearest_many
from sim.user import listened_fraction
from sim.worldfiles import WorldPaths, world_matches, write_world
from sim.worldfiles import main as world_main
from sim.worldgen import WorldSpec, generate

from .conftest import SEED, SMALL

FILES = ("tracks.json", "top_tracks.json", "world/embeddings.npy", "world/users.json")
FILES += ("world/neighbours.npz", "world/manifest.json")


def read_catalog(directory):
    return [json.loads(line) for line in (directory / "tracks.json").read_text().splitlines()]


def test_same_seed_same_files_other_seed_other_world(tmp_path, world_dir):
    write_world(generate(SMALL, SEED), tmp_path / "again")
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (world_dir / name).read_bytes(), name
    write_world(generate(SMALL, SEED + 1), tmp_path / "other")
    assert (tmp_path / "other/tracks.json").read_bytes() != (world_dir / "tracks.json").read_bytes()


def test_catalog_and_chart_formats(world_dir):
    catalog = read_catalog(world_dir)
    assert [row["track"] for row in catalog] == list(range(SMALL.tracks))
    assert all(set(row) == {"track", "artist", "title", "genre"} for row in catalog)
    assert len({row["artist"] for row in catalog}) == SMALL.artists  # names are unique
    assert len({row["genre"] for row in catalog}) == SMALL.genres
    chart = json.loads((world_dir / "top_tracks.json").read_text())
    assert sorted(chart) == list(range(SMALL.tracks))  # every track, most popular first


def test_one_artist_close_one_genre_less_so_others_apart(world_dir):
    catalog = read_catalog(world_dir)
    artist = np.array([hash(row["artist"]) for row in catalog])
    genre = np.array([hash(row["genre"]) for row in catalog])
    embeddings = np.load(world_dir / "world/embeddings.npy")
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    rng = np.random.default_rng(0)
    a, b = rng.integers(SMALL.tracks, size=(2, 200_000))
    a, b = a[a != b], b[a != b]
    cosine = np.einsum("ij,ij->i", embeddings[a], embeddings[b])
    same_artist = artist[a] == artist[b]
    same_genre = (genre[a] == genre[b]) & ~same_artist
    others = genre[a] != genre[b]
    assert cosine[same_artist].mean() > 0.7
    assert 0.25 < cosine[same_genre].mean() < 0.55
    assert abs(cosine[others].mean()) < 0.05


def test_popularity_is_heavy_tailed(world_dir):
    catalog = read_catalog(world_dir)
    per_artist = np.unique([row["artist"] for row in catalog], return_counts=True)[1]
    assert per_artist.max() >= 5 * np.median(per_artist)
    chart = json.loads((world_dir / "top_tracks.json").read_text())
    users = [json.loads(line) for line in (world_dir / "world/users.json").read_text().splitlines()]
    interests = [t for user in users for t in user["interests"]]
    top = set(chart[: SMALL.tracks // 100])  # the chart's top 1%
    assert sum(t in top for t in interests) > 0.1 * len(interests)


def test_users_have_one_to_six_interests_and_own_parameters(world):
    counts = {len(interests) for interests in world.interests}
    assert counts == {1, 2, 3, 4, 5, 6}
    biases = {p.consume_bias for p in world.users}
    assert len(biases) > 100 and all(0.45 <= b <= 0.65 for b in biases)


def test_random_track_rarely_enjoyed_interest_neighbour_usually(world):
    rng = np.random.default_rng(1)
    random_fractions, near_fractions = [], []
    for user, params in enumerate(world.users):
        interest = world.interests[user][0]
        embedding = world.embeddings[interest]
        bias, sharpness = params.consume_bias, params.consume_sharpness

        def fraction(track, embedding=embedding, bias=bias, sharpness=sharpness):
            return listened_fraction(
                float(world.embeddings[track] @ embedding), bias, sharpness, 1, 0
            )

        random_fractions += [fraction(t) for t in rng.integers(world.n_tracks, size=20)]
        near_fractions += [fraction(t) for t in world.neighbours.nearest(interest, 5)[1:]]
    assert np.mean(random_fractions) < 0.05
    assert np.mean(near_fractions) > 0.7


def test_precomputed_neighbours_are_the_exact_nearest(world_dir, world):
    with np.load(world_dir / "world/neighbours.npz") as data:
        tracks, neighbours = data["tracks"], data["neighbours"]
    interests = sorted({t for user in world.interests for t in user})
    assert tracks.tolist() == interests
    sample = tracks[::25]
    for track, row in zip(sample.tolist(), neighbours[::25], strict=True):
        scores = (world.embeddings @ world.embeddings[track]).tolist()
        order = sorted(range(world.n_tracks), key=lambda t: (-scores[t], t))  # ties: smaller id
        assert row.tolist() == order[: len(row)]
    assert np.array_equal(nearest_many(world.embeddings, sample, 32), neighbours[::25])


def test_botify_world_command(tmp_path, capsys):
    out = tmp_path / "data"
    args = ["--out", str(out), "--seed", "3", "--tracks", "400", "--artists", "90"]
    assert botify_main(["world", *args, "--users", "50", "--genres", "5", "--dim", "8"]) == 0
    assert "wrote 400 tracks by 90 artists, 50 users" in capsys.readouterr().out
    paths = WorldPaths.in_dir(out)
    assert len(read_catalog(out)) == 400
    assert np.load(paths.embeddings).shape == (400, 8)
    assert len(paths.users.read_text().splitlines()) == 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tracks", "10", "--artists", "20"], "20 artists need at least as many tracks"),
        (["--seed", "-1"], "--seed must be non-negative"),
        (["--users", "0"], "must be at least 1"),
    ],
)
def test_botify_world_bad_sizes_are_one_line_errors(tmp_path, capsys, args, message):
    assert world_main(["--out", str(tmp_path / "w"), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


TINY = WorldSpec(tracks=400, artists=90, users=50, genres=5, dim=8)
TINY_SIZES = {"tracks": 400, "artists": 90, "users": 50}


def test_world_matches_its_own_seed_and_sizes_and_no_other(tmp_path):
    """What `botify experiment` asks before generating its world again."""
    write_world(generate(TINY, 3), tmp_path / "w")
    assert world_matches(tmp_path / "w", 3, **TINY_SIZES)
    assert world_matches(tmp_path / "w", 3)  # any sizes
    assert world_matches(str(tmp_path / "w"), 3, artists=90)
    assert not world_matches(tmp_path / "w", 4, **TINY_SIZES)
    for name, size in TINY_SIZES.items():
        assert not world_matches(tmp_path / "w", 3, **{**TINY_SIZES, name: size + 1}), name
    assert not world_matches(tmp_path / "nowhere", 3)


def set_manifest(paths, **values):
    manifest = json.loads(paths.manifest.read_text())
    paths.manifest.write_text(json.dumps({**manifest, **values}))


@pytest.mark.parametrize(
    "breakage",
    [
        lambda p: p.users.unlink(),
        lambda p: p.neighbours.unlink(),
        lambda p: p.manifest.unlink(),
        lambda p: p.manifest.write_text("{not json"),
        lambda p: set_manifest(p, format=0),
        lambda p: set_manifest(p, spec=None),
        lambda p: p.tracks.write_text(p.tracks.read_text().replace("a", "b", 1)),
    ],
    ids=["users", "neighbours", "manifest", "garbled", "format", "spec", "catalog"],
)
def test_world_matches_only_a_whole_world(tmp_path, breakage):
    write_world(generate(TINY, 3), tmp_path / "w")
    assert world_matches(tmp_path / "w", 3, **TINY_SIZES)
    breakage(WorldPaths.in_dir(tmp_path / "w"))
    assert not world_matches(tmp_path / "w", 3, **TINY_SIZES)
