"""The import picture of DESIGN.md: bench/ on lab/, lab/ on offline/ and sim/ side by side, both
on botify/, which names nothing above it. Read from the source (function-level imports too), so
a lazy import cannot hide a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("botify", "sim", "offline", "lab", "bench")
# Each package and the project packages it may import (besides itself): a package stands only on
# packages listed before it, so there is no circle.
ALLOWED = {
    "botify": set(),
    "sim": {"botify"},
    "offline": {"botify"},
    "lab": {"botify", "sim", "offline"},
    "bench": {"botify", "sim", "offline", "lab"},
}


def imported_packages(path: Path) -> dict[str, int]:
    """Each project package that `path` imports, with the line of its first import."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.setdefault(top, node.lineno)
    return found


def string_targets(path: Path) -> dict[str, int]:
    """Packages named by "package.module:function" strings (lab.cli's command table)."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value:
            top = node.value.split(".")[0]
            if top in PACKAGES and node.value.split(":")[0].replace(".", "").isidentifier():
                found.setdefault(top, node.lineno)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_stands_below_it(package):
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        uses = {**string_targets(path), **imported_packages(path)}
        for other, line in uses.items():
            if other != package and other not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {other}")
    assert not wrong, "\n".join(wrong)


# offline's two jobs stand on its shared log reading, never on each other.
OFFLINE_ALLOWED = {"logs": set(), "report": {"logs"}, "learn": {"logs"}}


def offline_subpackages(path: Path) -> dict[str, int]:
    """Each offline sub-package that `path` imports, with the line of its first import."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] == "offline" and len(parts) > 1:
                found.setdefault(parts[1], node.lineno)
    return found


@pytest.mark.parametrize("subpackage", sorted(OFFLINE_ALLOWED))
def test_offline_jobs_stand_on_log_reading_and_not_on_each_other(subpackage):
    wrong = []
    for path in sorted((ROOT / "offline" / subpackage).rglob("*.py")):
        for other, line in offline_subpackages(path).items():
            if other != subpackage and other not in OFFLINE_ALLOWED[subpackage]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports offline.{other}")
    assert not wrong, "\n".join(wrong)


def test_offline_has_only_its_subpackages_at_the_top():
    loose = sorted(p.name for p in (ROOT / "offline").glob("*.py") if p.name != "__init__.py")
    assert not loose, f"modules outside offline's sub-packages: {loose}"
