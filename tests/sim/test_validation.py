"""Bad configs and broken worlds: one clear line naming the file (and key or line), exit 1, no
traceback unless --debug."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from sim.config import UserDefaults, load_config
from sim.errors import SimError
from sim.run import main
from sim.world import load_world
from sim.worldfiles import WorldPaths, write_world
from sim.worldgen import generate

from .conftest import SEED, SMALL, write_sim_config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("world: {dir: d}\nuser: [unclosed\n", "not valid YAML at line 3"),
        ("- a list\n", "expected a mapping of sections"),
        ("world: {dir: d}\nwrold: {}\n", "unknown section 'wrold'"),
        ("world: {dir: d}\nuser: {consume_bais: 1}\n", "unknown key user.consume_bais"),
        (
            "world: {dir: d}\nuser: {session_budget: five}\n",
            "user.session_budget must be an integer",
        ),
        (
            "world: {dir: d}\nuser: {session_budget: true}\n",
            "user.session_budget must be an integer",
        ),
        ("world: {dir: d}\nuser: {session_budget: 0}\n", "user.session_budget must be at least 1"),
        ("world: {dir: d}\nuser: {consume_bias: 1e}\n", "user.consume_bias must be a number"),
        ("world: {dir: d}\nuser: {consume_bias: .nan}\n", "user.consume_bias must be a number"),
        ("world: {dir: d}\nremote: {url: 'ftp://x'}\n", "remote.url must be an http:// URL"),
        ("world: {dir: d}\nremote: {sessions_in_flight: 0}\n", "must be at least 1"),
        ("user: {session_budget: 3}\n", "world.dir is missing"),
        ("world: {tracks: t.json}\n", "world.dir is missing"),
        ("world: data\n", "world must be a mapping"),
        ("", "expected a mapping of sections"),
    ],
)
def test_config_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SimError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(SimError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_config_defaults_and_relative_paths(tmp_path):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "sim.yaml"
    path.write_text("world: {dir: ../data}\nuser: {consume_bias: 1}\ninprocess: {config: b.json}\n")
    config = load_config(path)
    assert config.world.paths().tracks == tmp_path / "conf" / ".." / "data" / "tracks.json"
    assert config.inprocess.config == str(tmp_path / "conf" / "b.json")
    assert config.user.consume_bias == 1.0 and isinstance(config.user.consume_bias, float)
    assert config.user.session_budget == 5 and config.remote.url == "http://127.0.0.1:5001"


@pytest.fixture
def broken(tmp_path, world_dir):
    """A copy of the small world to break, and a config that names its files one by one (no
    manifest, as a course-made world) so each file's own check is reached."""
    copy = tmp_path / "world"
    shutil.copytree(world_dir, copy)
    paths = WorldPaths.in_dir(copy)
    config = tmp_path / "sim.yaml"
    config.write_text(
        json.dumps(
            {"world": {"tracks": str(paths.tracks), "embeddings": str(paths.embeddings),
                       "users": str(paths.users)}}
        )
    )  # fmt: skip
    return paths, config


def edit_lines(path, number, change):
    lines = path.read_text().splitlines()
    lines[number - 1] = change(lines[number - 1])
    path.write_text("\n".join(lines) + "\n")


def user_line(edit):
    def change(line):
        row = json.loads(line)
        edit(row)
        return json.dumps(row)

    return change


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda p: p.embeddings.unlink(), "embeddings.npy: missing"),
        (lambda p: p.users.unlink(), "users.json: missing"),
        (lambda p: np.save(p.embeddings, np.load(p.embeddings)[:-1]), "has 2999 rows but"),
        (lambda p: np.save(p.embeddings, np.zeros((3000, 4), dtype=np.int32)), "2-D float"),
        (lambda p: p.embeddings.write_text("not numpy"), "not a numpy array file"),
        (lambda p: edit_lines(p.tracks, 5, lambda line: line[:-3]),
         "tracks.json line 5: not valid JSON"),
        (lambda p: edit_lines(p.tracks, 5, lambda line: line.replace('"track": 4', '"track": 3')),
         "track 3 appears twice"),
        (lambda p: edit_lines(p.tracks, 5, lambda line: line.replace('"track": 4', '"track": "4"')),
         "'track' must be an integer"),
        (lambda p: edit_lines(p.users, 2, user_line(lambda r: r.update(interests=[99999]))),
         "users.json line 2: interest 99999 is not in the catalog"),
        (lambda p: edit_lines(p.users, 2, user_line(lambda r: r.update(interests=[]))),
         "'interests' must be a non-empty list"),
        (lambda p: edit_lines(p.users, 3, user_line(lambda r: r.update(consume_bias="high"))),
         "users.json line 3: consume_bias must be a valid number"),
        (lambda p: edit_lines(p.users, 3, user_line(lambda r: r.update(user=0))),
         "user 0 appears twice"),
    ],
)  # fmt: skip
def test_broken_world_files_are_named(broken, capsys, breakage, message):
    paths, config = broken
    breakage(paths)
    assert main(["--config", str(config), "single", "--recommender", "dummy"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sim: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_world_from_another_run_is_caught_by_the_manifest(tmp_path, world_dir):
    """A catalog regenerated with another seed beside the old hidden world: same sizes, other
    tracks; or embeddings swapped in from another world."""
    write_world(generate(SMALL, SEED + 1), tmp_path / "other")
    for name in ("tracks.json", "world/embeddings.npy", "world/neighbours.npz"):
        mixed = tmp_path / f"mixed-{name.replace('/', '-')}"
        shutil.copytree(world_dir, mixed)
        shutil.copy(tmp_path / "other" / name, mixed / name)
        with pytest.raises(
            SimError, match="is not the file that .*manifest.json was generated with"
        ):
            load_world(WorldPaths.in_dir(mixed), UserDefaults())


def test_corrupt_neighbours_file(tmp_path, world_dir):
    copy = tmp_path / "w"
    shutil.copytree(world_dir, copy)
    (copy / "world/manifest.json").unlink()
    np.savez(copy / "world/neighbours.npz", tracks=np.array([0, 1]), neighbours=np.array([[5]]))
    with pytest.raises(SimError, match="neighbours.npz: does not match the catalog"):
        load_world(WorldPaths.in_dir(copy), UserDefaults())


def test_debug_shows_the_traceback(tmp_path, capsys):
    config = write_sim_config(tmp_path / "sim.yaml", tmp_path / "no-such-world")
    assert main(["--config", str(config), "single", "--recommender", "dummy"]) == 1
    assert "tracks.json: missing" in capsys.readouterr().err
    with pytest.raises(SimError):
        main(["--config", str(config), "--debug", "single", "--recommender", "dummy"])


@pytest.mark.parametrize(
    "args",
    [
        ["--episodes", "0", "single"],
        ["--days", "0", "single"],
        ["single", "--seed", "-3"],
        ["multi", "--processes", "0"],
        ["multi", "--recommender", "console"],
        ["single", "--recommender", "nope"],
        [],
    ],
)
def test_bad_command_lines_exit_2_with_usage(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert "usage:" in capsys.readouterr().err
