"""The Docker deployment's files: docker-compose.yml, Dockerfile, deploy/ (nginx.conf, the entry
point, the log collection script).

There is no Docker engine here. `docker compose config` checks the compose file where the client
has the compose plugin (skipped otherwise); the compose file is always parsed with PyYAML and its
essentials asserted, with compose's variable interpolation applied as compose applies it. The
shell scripts run for real, with stand-ins for the `botify` and `docker` commands on PATH.
bench/deploy_topology.py runs the same topology as plain processes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from redis.connection import parse_url

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
COLLECT = ROOT / "deploy" / "collect_logs.sh"
PROMETHEUS_CONF = ROOT / "deploy" / "prometheus.yml"
PROMETHEUS_STANDIN = ROOT / "deploy" / "standins"
PASSWORD = "0123abcd-test-password"
SERVICE_PORT = 5000


# -- compose interpolation, as compose does it ----------------------------------------------------

VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


class MissingVariable(Exception):
    pass


def interpolate(value, env: dict[str, str]):
    """Compose's interpolation of ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error} and $$ over every string of a loaded compose file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        present = name in env and (env[name] != "" or op in (None, "-", "?"))
        if op in (":?", "?") and not present:
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and not present:
            return arg
        return env.get(name, "")

    return VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose(raw_compose) -> dict:
    return interpolate(raw_compose, {"REDIS_PASSWORD": PASSWORD})


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def mounts(service: dict) -> dict[str, tuple[str, str]]:
    """target -> (source, mode), from the short or the long volume syntax."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mode = "ro" if volume.get("read_only") else "rw"
            found[volume["target"]] = (volume["source"], mode)
            continue
        parts = volume.split(":")
        source, target = parts[0], parts[1]
        found[target] = (source, parts[2] if len(parts) > 2 else "rw")
    return found


def test_host_paths_are_never_created_by_docker(compose):
    """A bind mount of a missing host path must fail `up`, not leave a root-owned folder that
    `make experiment` then trips over (IsADirectoryError on runs/latest/model/...)."""
    binds = 0
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, str):  # the short syntax creates a missing host path
                assert not volume.startswith((".", "/", "~")), f"{name}: {volume}"
                continue
            if volume["type"] == "bind":
                binds += 1
                assert volume["bind"]["create_host_path"] is False, f"{name}: {volume}"
    assert binds >= 5


def test_redis_runs_unprivileged_and_evicts_only_per_user_state(compose):
    redis_service = compose["services"]["redis"]
    assert redis_service["user"] not in ("root", "0", "0:0")
    command = " ".join(redis_service["command"])
    assert "--maxmemory " in command
    # Only keys with a TTL (sessions, histories) may be evicted; loaded data has none.
    assert "--maxmemory-policy volatile-ttl" in command


def test_nginx_answers_its_own_errors_in_json():
    conf = NGINX_CONF.read_text()
    for status in ("413", "502 503 504"):
        match = re.search(rf"error_page {status} = (@\w+);", conf)
        assert match, status
        block = conf[conf.index(f"location {match.group(1)}") :]
        block = block[: block.index("}")]
        assert "default_type application/json;" in block
        assert re.search(r"return \d+ '\{\"message\": ", block)


def test_the_deploy_page_names_the_compose_it_needs_and_a_reload_that_keeps_the_scale():
    page = (ROOT / "docs" / "deploy.md").read_text()
    assert "Docker Compose v2" in page
    assert "docker compose kill -s HUP recommender" in page


def healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return test
    assert test[0] in ("CMD", "CMD-SHELL"), test
    return " ".join(test[1:])


# -- docker compose config, where the client has the compose plugin -------------------------------


def compose_client() -> list[str] | None:
    if shutil.which("docker") is None:
        return None
    try:
        found = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return ["docker", "compose"] if found.returncode == 0 else None


def run_compose_config(client: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*client, "--file", str(COMPOSE_FILE), "config", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_docker_compose_config_accepts_the_file():
    client = compose_client()
    if client is None:
        pytest.skip("no `docker compose` (the compose plugin) on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    done = run_compose_config(client, {**env, "REDIS_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    services = config["services"]
    assert set(services) == {"redis", "loader", "recommender", "nginx"}  # no profile named
    password = {**env, "REDIS_PASSWORD": PASSWORD}
    monitoring = run_compose_config([*client, "--profile", "monitoring"], password)
    assert monitoring.returncode == 0, monitoring.stderr
    monitored = json.loads(monitoring.stdout)["services"]
    assert set(monitored) == {"redis", "loader", "recommender", "nginx", "prometheus"}
    (port,) = monitored["prometheus"]["ports"]
    assert (port["host_ip"], port["target"]) == ("127.0.0.1", 9090)
    assert "ports" not in services["redis"]
    assert not services["recommender"].get("ports")
    url = services["recommender"]["environment"]["BOTIFY_REDIS_URL"]
    assert parse_url(url)["password"] == PASSWORD
    conditions = {
        name: dep["condition"] for name, dep in services["recommender"]["depends_on"].items()
    }
    assert conditions == {
        "redis": "service_healthy",
        "loader": "service_completed_successfully",
    }

    if (ROOT / ".env").exists():
        return  # a local .env may give the password: the refusal below cannot be seen
    without = {k: v for k, v in env.items() if k != "REDIS_PASSWORD"}
    refused = run_compose_config(client, without)
    assert refused.returncode != 0
    assert "REDIS_PASSWORD" in refused.stderr


# -- the compose file, parsed ---------------------------------------------------------------------


def test_services(compose):
    started = {name for name, s in compose["services"].items() if not s.get("profiles")}
    assert started == {"redis", "loader", "recommender", "nginx"}
    # Only nginx is published on the host (and, with its profile, Prometheus on loopback).
    published = {name for name, s in compose["services"].items() if s.get("ports")}
    assert published == {"nginx", "prometheus"}
    assert compose["services"]["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]


def test_the_monitoring_profile_scrapes_every_replica(compose):
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert mounts(prometheus)["/etc/prometheus/prometheus.yml"] == (
        "./deploy/prometheus.yml",
        "ro",
    )
    assert mounts(prometheus)["/prometheus"] == ("prometheus-data", "rw")
    assert "prometheus-data" in compose["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert "9090/-/ready" in healthcheck_command(prometheus)
    # One job, finding the replicas as nginx does: every A record of the service's name.
    (job,) = yaml.safe_load(PROMETHEUS_CONF.read_text())["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["recommender"] and discovery["type"] == "A"
    assert discovery["port"] == SERVICE_PORT
    assert "recommender" in compose["services"]


def test_the_prometheus_image_has_a_stand_in_build():
    """The image tag compose names is the one deploy/standins builds from Debian's package."""
    (tag,) = re.findall(r"^tag=(\S+)$", (PROMETHEUS_STANDIN / "build.sh").read_text(), re.M)
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert compose["services"]["prometheus"]["image"] == tag
    version = tag.split(":v")[1]
    dockerfile = (PROMETHEUS_STANDIN / f"prometheus-v{version}" / "Dockerfile").read_text()
    assert re.search(r"^FROM debian:sid$", dockerfile, re.M)
    assert "apt-get install -y --no-install-recommends prometheus" in dockerfile
    assert 'ENTRYPOINT ["/bin/prometheus"]' in dockerfile
    assert os.access(PROMETHEUS_STANDIN / "build.sh", os.X_OK)


def test_recommender_scales(compose):
    recommender = compose["services"]["recommender"]
    # --scale recommender=N needs replicas that differ only by compose's numbering.
    for key in ("container_name", "ports", "hostname"):
        assert key not in recommender, key
    assert recommender["deploy"]["replicas"] >= 2
    assert recommender["build"] in (".", {"context": "."})


def test_redis_is_private_and_needs_the_password_from_the_environment(raw_compose, compose):
    redis_service = compose["services"]["redis"]
    assert redis_service["image"].startswith("redis:")
    assert "ports" not in redis_service
    assert "--requirepass" in " ".join(redis_service["command"])
    # The password comes from the environment, and compose refuses to start without one.
    assert environment(redis_service)["REDIS_PASSWORD"] == PASSWORD
    with pytest.raises(MissingVariable, match="REDIS_PASSWORD"):
        interpolate(raw_compose, {})
    with pytest.raises(MissingVariable, match="REDIS_PASSWORD"):
        interpolate(raw_compose, {"REDIS_PASSWORD": ""})
    assert PASSWORD not in COMPOSE_FILE.read_text()
    # The health check authenticates (redis-cli reads REDISCLI_AUTH).
    assert environment(redis_service)["REDISCLI_AUTH"] == PASSWORD
    assert "redis-cli" in healthcheck_command(redis_service)


@pytest.mark.parametrize("name", ["loader", "recommender"])
def test_botify_services_reach_redis_with_the_password(raw_compose, compose, name):
    url = environment(compose["services"][name])["BOTIFY_REDIS_URL"]
    parsed = parse_url(url)
    assert (parsed["host"], parsed["port"], parsed["password"]) == ("redis", 6379, PASSWORD)
    # No default password: the same required variable as the redis service's.
    with pytest.raises(MissingVariable, match="REDIS_PASSWORD"):
        interpolate(environment(raw_compose["services"][name]), {})


def test_loader_is_one_shot_and_loads_before_any_replica(compose):
    services = compose["services"]
    loader = services["loader"]
    assert loader["entrypoint"] == ["botify", "load"]
    assert loader["command"][:2] == ["--config", "/app/config.json"]
    assert loader["restart"] == "no"
    assert loader["healthcheck"] == {"disable": True}
    assert loader["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert "deploy" not in loader
    recommender = services["recommender"]
    assert recommender["depends_on"]["loader"] == {"condition": "service_completed_successfully"}
    assert recommender["depends_on"]["redis"] == {"condition": "service_healthy"}
    # Replicas never load, and never start their own Redis.
    command = " ".join(recommender["command"])
    assert "--load" not in command and "--embedded-redis" not in command


def test_data_and_config_are_mounted_read_only(compose):
    services = compose["services"]
    assert mounts(services["loader"])["/app/data"] == ("./data", "ro")
    for name in ("loader", "recommender"):
        assert mounts(services[name])["/app/config.json"] == ("./config.json", "ro"), name
    for name, service in services.items():
        for target, (source, mode) in mounts(service).items():
            if source.startswith("."):
                assert mode == "ro", f"{name}: {source} -> {target} is writable"


def test_replicas_log_to_a_shared_volume(compose):
    assert "logs" in compose["volumes"]
    recommender = compose["services"]["recommender"]
    assert mounts(recommender)["/app/log"] == ("logs", "rw")
    # The image's BOTIFY_LOG_DIR is the volume; the entry point adds the replica's hostname.
    assert "BOTIFY_LOG_DIR" not in environment(recommender)
    assert dockerfile_env()["BOTIFY_LOG_DIR"] == "/app/log"


def test_health_checks_and_start_order(compose):
    services = compose["services"]
    for name in ("redis", "recommender", "nginx"):
        assert healthcheck_command(services[name]), name
    assert f"127.0.0.1:{SERVICE_PORT}/healthz" in healthcheck_command(services["recommender"])
    assert "/healthz" in healthcheck_command(services["nginx"])
    assert services["nginx"]["depends_on"] == {"recommender": {"condition": "service_healthy"}}


def test_nginx_balances_over_the_recommender_service(compose):
    nginx = compose["services"]["nginx"]
    assert mounts(nginx)["/etc/nginx/nginx.conf"] == ("./deploy/nginx.conf", "ro")
    (port,) = nginx["ports"]
    assert port.endswith(":80")
    # `server ... resolve` in an upstream needs nginx 1.27.3 or later.
    version = tuple(int(p) for p in re.match(r"nginx:(\d+)\.(\d+)", nginx["image"]).groups())
    assert version >= (1, 28), nginx["image"]

    conf = NGINX_CONF.read_text()
    upstream = re.search(r"upstream\s+recommender\s*\{(.*?)\}", conf, re.DOTALL)
    assert upstream, "no upstream named recommender"
    assert re.search(rf"^\s*server\s+recommender:{SERVICE_PORT}\s+resolve;", upstream[1], re.M)
    assert re.search(r"^\s*zone\s+\S+", upstream[1], re.M)
    assert re.search(r"^\s*resolver\s+127\.0\.0\.11\b", conf, re.M), "Docker's DNS"
    assert re.search(r"^\s*proxy_pass\s+http://recommender;", conf, re.M)
    assert re.search(r"^\s*listen\s+80;", conf, re.M)


def test_the_service_port_agrees_everywhere(compose):
    command = compose["services"]["recommender"]["command"]
    assert command[command.index("--port") + 1] == str(SERVICE_PORT)
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert dockerfile_cmd()[dockerfile_cmd().index("--port") + 1] == str(SERVICE_PORT)
    assert f"EXPOSE {SERVICE_PORT}" in dockerfile_instructions()


@pytest.mark.skipif(shutil.which("nginx") is None, reason="no nginx (apt-get install nginx-light)")
def test_nginx_accepts_the_config_with_local_upstreams(tmp_path):
    """`nginx -t` on deploy/nginx.conf as bench/deploy_topology.py runs it: the Docker-only lines
    (Docker's DNS, the service name) replaced by local addresses."""
    sys.path.insert(0, str(ROOT))
    from bench.deploy_topology import nginx_config

    (tmp_path / "nginx.conf").write_text(nginx_config(18080, [18081, 18082], tmp_path))
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"]
        + ["-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


# -- the Dockerfile -------------------------------------------------------------------------------


def dockerfile_instructions() -> list[str]:
    """Instructions with their continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        joined.append(" ".join(current.split()))
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    return joined


def instruction(keyword: str) -> list[str]:
    return [
        line[len(keyword) + 1 :]
        for line in dockerfile_instructions()
        if line.split()[0].upper() == keyword
    ]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for line in instruction("ENV"):
        env.update(dict(item.split("=", 1) for item in shlex.split(line)))
    return env


def dockerfile_cmd() -> list[str]:
    (cmd,) = instruction("CMD")
    return json.loads(cmd)


def test_dockerfile_base_and_install():
    assert instruction("FROM") == ["python:3.11-slim"]
    runs = instruction("RUN")
    install = next(i for i, run in enumerate(runs) if "-r requirements.txt" in run)
    project = next(i for i, run in enumerate(runs) if re.search(r"pip install .*botify-src", run))
    assert install < project
    assert "--no-deps" in runs[project] and "pip check" in runs[project]
    everything = " ".join(runs)
    for dev_tool in ("pytest", "ruff", "[test]", "[sim", "[offline", " -e "):
        assert dev_tool not in everything, dev_tool


def test_dockerfile_checks_that_the_service_imports():
    runs = " ".join(instruction("RUN"))
    assert re.search(r'python -c "import botify\.app, .*gunicorn\.workers\.ggevent"', runs)


def runtime_closure(pins: list[str]) -> set[str]:
    """The distributions `pip install -r requirements.txt` brings in: the pins and, from the
    metadata installed here, everything they require without extras."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: set[str] = set()
    todo = [Requirement(pin) for pin in pins]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found.add(name)
        try:
            requires = distribution(requirement.name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            needed = Requirement(text)
            if needed.marker is None or needed.marker.evaluate({"extra": ""}):
                todo.append(needed)
    for requirement in [Requirement(pin) for pin in pins]:
        for extra in requirement.extras:
            for text in distribution(requirement.name).requires or []:
                needed = Requirement(text)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra}):
                    found |= runtime_closure([str(needed)])
    return found


def test_the_pinned_set_runs_the_default_worker_class():
    """The image installs requirements.txt only: it must hold what botify serve's default
    gunicorn worker class needs (its gunicorn extra, which pip check does not check)."""
    from importlib.metadata import distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from botify.serve import DEFAULT_WORKER_CLASS

    pins = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    closure = runtime_closure(pins)
    worker_needs = {
        canonicalize_name(Requirement(text).name)
        for text in distribution("gunicorn").requires or []
        if Requirement(text).marker is not None
        and Requirement(text).marker.evaluate({"extra": DEFAULT_WORKER_CLASS})
    }
    assert worker_needs, f"gunicorn has no extra named {DEFAULT_WORKER_CLASS!r}"
    assert worker_needs <= closure, f"missing from requirements.txt: {worker_needs - closure}"


def test_dockerfile_copies_only_files_that_exist_and_are_in_the_build_context():
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in (".venv", "data", "log", "runs", "bench/out", ".git"):
        assert needed in ignored, needed
    for copy in instruction("COPY"):
        sources = [part for part in copy.split()[:-1] if not part.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source.split("/")[0] not in ignored, source


def test_dockerfile_runs_as_a_non_root_user():
    users = instruction("USER")
    assert users and users[-1] not in ("root", "0", "0:0")
    lines = dockerfile_instructions()
    last_user = max(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert last_user < next(i for i, line in enumerate(lines) if line.startswith("ENTRYPOINT "))


def test_dockerfile_healthcheck_and_entry_point():
    (healthcheck,) = instruction("HEALTHCHECK")
    assert f"http://127.0.0.1:{SERVICE_PORT}/healthz" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck  # neither is in the slim image
    (entrypoint,) = instruction("ENTRYPOINT")
    (program,) = json.loads(entrypoint)
    copied = {copy.split()[-1]: copy.split()[-2] for copy in instruction("COPY")}
    assert copied[f"/usr/local/bin/{program}"] == "deploy/entrypoint.sh"
    assert re.search(r'^exec botify serve "\$@"$', ENTRYPOINT.read_text(), re.M)
    cmd = dockerfile_cmd()
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert "--embedded-redis" not in cmd and "--load" not in cmd
    assert dockerfile_env()["BOTIFY_LOG_DIR"] == "/app/log"
    # The non-root user owns the log folder (a named volume mounted there inherits it).
    assert any(re.search(r"chown botify:botify /app/log\b", run) for run in instruction("RUN"))
    assert instruction("USER")[-1] == "botify"


# -- deploy/entrypoint.sh, run with a stand-in `botify` -------------------------------------------


@pytest.fixture
def fake_botify(tmp_path) -> Path:
    """A `botify` that prints its arguments and the log folder it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "botify"
    script.write_text('#!/bin/sh\necho "args: $*"\necho "log_dir: $BOTIFY_LOG_DIR"\n')
    script.chmod(0o755)
    return bin_dir


def run_entrypoint(fake_botify: Path, args: list[str], **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": f"{fake_botify}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=environ, capture_output=True, text=True, timeout=30
    )


def test_entrypoint_serves_with_the_replicas_own_log_folder(fake_botify):
    done = run_entrypoint(
        fake_botify,
        ["--port", "5000"],
        BOTIFY_REDIS_URL="redis://:pw@redis:6379/0",
        BOTIFY_LOG_DIR="/app/log",
        HOSTNAME="3f2a1b4c5d6e",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["args: serve --port 5000", "log_dir: /app/log/3f2a1b4c5d6e"]


@pytest.mark.parametrize("url", [None, "", "null", "localhost:6379"])
def test_entrypoint_refuses_to_start_without_a_redis_url(fake_botify, url):
    env = {"HOSTNAME": "replica"} | ({} if url is None else {"BOTIFY_REDIS_URL": url})
    done = run_entrypoint(fake_botify, [], **env)
    assert done.returncode == 64
    assert "BOTIFY_REDIS_URL" in done.stderr and not done.stdout


@pytest.mark.parametrize("flag", ["--embedded-redis", "--embedded", "--em"])
def test_entrypoint_refuses_an_embedded_redis(fake_botify, flag):
    done = run_entrypoint(fake_botify, [flag], BOTIFY_REDIS_URL="redis://redis:6379/0")
    assert done.returncode == 64
    assert flag in done.stderr and not done.stdout


# -- deploy/collect_logs.sh, run with a stand-in `docker` -----------------------------------------

FAKE_DOCKER = """\
#!{python}
# A stand-in for the docker client: containers and the log volume from {state}.
import json, shutil, sys
from pathlib import Path

state_path = Path({state!r})
state = json.loads(state_path.read_text())
args = sys.argv[1:]
state["calls"].append(args)
state_path.write_text(json.dumps(state))
containers = state["containers"]


def option_values(name):
    return [args[i + 1] for i, arg in enumerate(args) if arg == name]


if args[0] == "ps":
    assert "--all" in args and "--quiet" in args, args
    labels = dict(f.split("=", 1)[1].split("=", 1) for f in option_values("--filter"))
    for cid, c in containers.items():
        if (labels["com.docker.compose.project"], labels["com.docker.compose.service"]) == (
            c["project"], c["service"]
        ):
            print(cid)
elif args[0] == "inspect":
    fmt, cid = args[2], args[3]
    print({{"{{{{.Name}}}}": "/" + containers[cid]["name"],
           "{{{{.Config.Hostname}}}}": containers[cid]["hostname"]}}[fmt])
elif args[:2] == ["volume", "inspect"]:
    sys.exit(0 if args[2] in state["volumes"] else 1)
elif args[0] == "create":
    volume = option_values("--volume")[0].split(":")[0]
    state["helpers"][("helper-" + volume)] = volume
    state_path.write_text(json.dumps(state))
    print("helper-" + volume)
elif args[0] == "rm":
    del state["helpers"][args[1]]
    state_path.write_text(json.dumps(state))
elif args[0] == "cp":
    source, dest = args[1], args[2]
    cid, path = source.split(":", 1)
    assert path == "/app/log/.", path
    volume = containers[cid]["volume"] if cid in containers else state["helpers"][cid]
    shutil.copytree(state["volumes"][volume], dest, dirs_exist_ok=True)
else:
    sys.exit("fake docker: unexpected " + " ".join(args))
"""


@pytest.fixture
def docker_world(tmp_path):
    """A fake docker on PATH over a log volume with three replicas' folders: two current
    replicas, and one whose container was removed (scaled down)."""
    volume = tmp_path / "volume"
    for hostname, lines in (("aaa111", 3), ("bbb222", 2), ("ccc333", 4)):
        (volume / hostname).mkdir(parents=True)
        (volume / hostname / "events.jsonl").write_text(
            "".join(json.dumps({"message": "next", "user": i}) + "\n" for i in range(lines))
        )
        (volume / hostname / "events.jsonl.lock").touch()
    (volume / "aaa111" / "events.jsonl.1").write_text('{"message": "next", "user": 9}\n')
    state = tmp_path / "docker-state.json"
    state.write_text(
        json.dumps(
            {
                "containers": {
                    cid: {
                        "name": name,
                        "hostname": hostname,
                        "project": project,
                        "service": service,
                        "volume": "botify_logs",
                    }
                    for cid, name, hostname, project, service in (
                        ("c1", "botify-recommender-1", "aaa111", "botify", "recommender"),
                        ("c2", "botify-recommender-2", "bbb222", "botify", "recommender"),
                        ("c9", "botify-nginx-1", "nnn999", "botify", "nginx"),
                    )
                },
                "volumes": {"botify_logs": str(volume)},
                "helpers": {},
                "calls": [],
            }
        )
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER.format(python=sys.executable, state=str(state)))
    docker.chmod(0o755)
    return {"bin": bin_dir, "state": state, "tmp": tmp_path}


def collect(world, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{world['bin']}{os.pathsep}{os.environ['PATH']}"}
    env.pop("COMPOSE_PROJECT_NAME", None)
    return subprocess.run(
        ["sh", str(COLLECT), *args],
        env=env,
        cwd=world["tmp"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def event_counts(out: Path) -> dict[str, int]:
    return {
        folder.name: sum(len(f.read_text().splitlines()) for f in folder.glob("events.jsonl*"))
        for folder in sorted(out.iterdir())
    }


def test_collect_logs_gives_one_folder_per_replica(docker_world):
    out = docker_world["tmp"] / "collected"
    done = collect(docker_world, str(out))
    assert done.returncode == 0, done.stderr
    # Current replicas by container name; a removed replica's folder by its hostname.
    assert event_counts(out) == {
        "botify-recommender-1": 4,
        "botify-recommender-2": 2,
        "ccc333": 4,
    }
    assert "collected 3 replica folders" in done.stdout
    assert f"botify ab {out} --experiment NAME" in done.stdout


def test_collected_logs_are_what_botify_ab_reads(docker_world):
    offline_logfiles = pytest.importorskip("offline.logs.logfiles")
    out = docker_world["tmp"] / "collected"
    assert collect(docker_world, str(out)).returncode == 0
    found = offline_logfiles.find_log_files([str(out)])
    assert sorted(str(path.relative_to(out)) for path in found) == [
        "botify-recommender-1/events.jsonl",
        "botify-recommender-1/events.jsonl.1",
        "botify-recommender-2/events.jsonl",
        "ccc333/events.jsonl",
    ]


def test_collect_logs_without_containers_reads_the_volume_through_a_helper(docker_world):
    state = json.loads(docker_world["state"].read_text())
    state["containers"] = {}
    docker_world["state"].write_text(json.dumps(state))
    out = docker_world["tmp"] / "collected"
    done = collect(docker_world, str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(event_counts(out)) == ["aaa111", "bbb222", "ccc333"]
    after = json.loads(docker_world["state"].read_text())
    assert after["helpers"] == {}, "the helper container was not removed"
    assert ["rm", "helper-botify_logs"] in after["calls"]


def test_collect_logs_refuses_a_folder_that_holds_files(docker_world):
    out = docker_world["tmp"] / "collected"
    out.mkdir()
    (out / "old").touch()
    done = collect(docker_world, str(out))
    assert done.returncode == 1
    assert "not empty" in done.stderr


def test_collect_logs_names_a_missing_project(docker_world):
    done = collect(docker_world, "-p", "elsewhere", str(docker_world["tmp"] / "collected"))
    assert done.returncode == 1
    assert "elsewhere" in done.stderr and "-p PROJECT" in done.stderr


def test_collect_logs_default_folder(docker_world):
    done = collect(docker_world)
    assert done.returncode == 0, done.stderr
    (out,) = (docker_world["tmp"] / "log").iterdir()
    assert re.fullmatch(r"docker-\d{8}T\d{6}Z", out.name)


def test_shell_scripts_parse():
    for script in (ENTRYPOINT, COLLECT):
        assert os.access(script, os.X_OK), f"{script} is not executable"
        done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_compose_interpolation_helper():
    """The test's interpolation does what compose does with the forms the file uses."""
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:?e} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} $$HOME", env) == (
        "x d d  $HOME"
    )
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?e}", env)
    assert interpolate(["${SET}", {"k": "${UNSET-}"}], env) == ["x", {"k": ""}]


# -- docker-compose.cluster.yml: the same stack on a Redis Cluster ---------------------------------

CLUSTER_COMPOSE_FILE = ROOT / "docker-compose.cluster.yml"
NODES = [f"redis-{n}" for n in range(1, 7)]


class ComposeLoader(yaml.SafeLoader):
    """PyYAML with compose's merge tags (!override, !reset), kept as the values they tag."""


ComposeLoader.add_constructor("!override", lambda loader, node: loader.construct_mapping(node))
ComposeLoader.add_constructor("!reset", lambda loader, node: None)


@pytest.fixture(scope="module")
def cluster_compose() -> dict:
    raw = yaml.load(CLUSTER_COMPOSE_FILE.read_text(), Loader=ComposeLoader)  # noqa: S506
    return interpolate(raw, {"REDIS_PASSWORD": PASSWORD})


def test_the_cluster_file_runs_six_private_nodes_and_leaves_the_single_redis_out(
    cluster_compose,
):
    services = cluster_compose["services"]
    assert set(services) == {*NODES, "cluster", "redis", "loader", "recommender"}
    assert services["redis"]["profiles"] == ["single-redis"]  # not started with this file
    for name in NODES:
        node = services[name]
        assert "ports" not in node and node["user"] == "redis"
        # The shell's own expansion of the command, its arguments one per line.
        script = node["command"][-1].replace("exec redis-server", "printf '%s\\n'")
        shown = subprocess.run(
            ["sh", "-c", script], env=environment(node), capture_output=True, text=True
        )
        arguments = shown.stdout.splitlines()
        options = dict(zip(arguments[::2], arguments[1::2], strict=True))
        assert options["--cluster-enabled"] == "yes"
        assert options["--cluster-require-full-coverage"] == "no"  # a master down: its slots
        assert options["--requirepass"] == options["--masterauth"] == PASSWORD
        assert options["--appendonly"] == "yes"  # a master that restarts keeps its keys
        assert options["--maxmemory-policy"] == "volatile-ttl"
        assert "--cluster-announce-hostname" not in options  # addresses: no DNS per request
        assert mounts(node)["/data"] == (name, "rw")
    assert set(NODES) <= set(cluster_compose["volumes"])


def test_the_cluster_is_created_once_before_the_loader_and_the_replicas(cluster_compose):
    services = cluster_compose["services"]
    create = services["cluster"]
    assert create["restart"] == "no"
    assert {name: dep["condition"] for name, dep in create["depends_on"].items()} == {
        name: "service_healthy" for name in NODES
    }
    script = create["command"][0]
    assert "redis-cli --cluster create" in script
    assert "--cluster-replicas 1" in script and "cluster_known_nodes:6" in script
    for name in ("loader", "recommender"):
        conditions = {n: d["condition"] for n, d in services[name]["depends_on"].items()}
        assert conditions["cluster"] == "service_completed_successfully"
        assert "redis" not in conditions
    assert services["recommender"]["depends_on"]["loader"]["condition"] == (
        "service_completed_successfully"
    )


@pytest.mark.parametrize("name", ["loader", "recommender"])
def test_the_botify_services_name_the_cluster_with_the_password(cluster_compose, name):
    from botify.config import parse_cluster_url

    url = environment(cluster_compose["services"][name])["BOTIFY_REDIS_URL"]
    seeds, _, password = parse_cluster_url(url)
    assert password == PASSWORD and seeds == [(node, 6379) for node in NODES[:3]]


def test_entrypoint_accepts_a_cluster_url(fake_botify):
    done = run_entrypoint(
        fake_botify,
        [],
        BOTIFY_REDIS_URL="redis+cluster://:pw@redis-1:6379,redis-2:6379",
        HOSTNAME="replica",
    )
    assert done.returncode == 0, done.stderr


def test_docker_compose_config_accepts_the_cluster_override():
    client = compose_client()
    if client is None:
        pytest.skip("no `docker compose` (the compose plugin) on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    done = subprocess.run(
        [*client, "-f", str(COMPOSE_FILE), "-f", str(CLUSTER_COMPOSE_FILE), "config"]
        + ["--format", "json"],
        cwd=ROOT,
        env={**env, "REDIS_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert "redis" not in services  # its profile is not enabled
    assert set(services["recommender"]["depends_on"]) == {"cluster", "loader"}
    assert services["recommender"]["environment"]["BOTIFY_REDIS_URL"].startswith("redis+cluster://")
