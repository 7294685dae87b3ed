"""config.json with BOTIFY_* overrides, and the botify command's surface."""

import subprocess
import sys

import pytest

from botify.config import ConfigError, load_config
from tests.conftest import ROOT, run_module, write_config


def test_environment_overrides_any_key(tmp_path):
    path = write_config(tmp_path, log_dir="here", data={"catalog": "c.json"})
    config = load_config(
        path,
        environ={
            "BOTIFY_REDIS_URL": "redis://example:6379/0",
            "BOTIFY_LOG_BACKUPS": "3",
            "BOTIFY_DATA__CATALOG": "/data/tracks.json",
            "BOTIFY_ROUTING_EXPERIMENT": "AB",
            "OTHER": "ignored",
        },
    )
    assert config["redis_url"] == "redis://example:6379/0"
    assert config["log_backups"] == 3
    assert config["data"]["catalog"] == "/data/tracks.json"
    assert config["data"]["item_recommendations"] == {}  # nested defaults survive
    assert config["routing_experiment"] == "AB"
    assert config["log_dir"] == "here"
    assert config.path("data/x.json") == tmp_path / "data" / "x.json"  # relative to the config


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"log_backups": -1}, "log_backups"),
        ({"redis_url": "localhost"}, "redis_url"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"data": {"item_recommendations": {"i2i": 5}}}, "data.item_recommendations"),
        ({"experiments": {}}, "experiments"),
    ],
)
def test_bad_config_names_the_key(tmp_path, values, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, **values), environ={})


def test_bad_config_file(tmp_path):
    (tmp_path / "c.json").write_text("{nope")
    with pytest.raises(ConfigError, match="c.json: not valid JSON"):
        load_config(tmp_path / "c.json", environ={})
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.json", environ={})


def run(*args):
    return run_module("botify", *args)


def test_python_m_botify_keeps_only_the_service_commands():
    for args in ((), ("--help",)):
        result = run(*args)
        assert result.returncode == 0
        assert "{serve,load}" in result.stdout and "botify --help" in result.stdout
    unknown = run("frobnicate")
    assert unknown.returncode == 2 and "unknown command 'frobnicate'" in unknown.stderr


def test_serve_refuses_a_bad_config_without_a_traceback(tmp_path):
    path = write_config(
        tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        experiments=[{"name": "A", "arms": {"C": ["nonsense"]}}],
    )
    result = run("serve", "--config", str(path))
    assert result.returncode == 1
    assert "unknown recommender 'nonsense'" in result.stderr and "Traceback" not in result.stderr


def test_service_package_does_not_import_sim_or_offline():
    code = (
        "import sys, botify.app, botify.serve, botify.loader, botify.inprocess; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sim', 'offline')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "[]"


def test_the_shipped_config_json_is_valid():
    from botify.data import DataView
    from botify.experiments import build_experiments

    config = load_config(ROOT / "config.json", environ={})
    experiments = build_experiments(config, DataView(None))
    assert experiments.routing.name == config["routing_experiment"]
