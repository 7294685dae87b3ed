"""The README and docs/ show what ships, and stay so: links lead somewhere, every command and
option they name exists, marked blocks run, every figure comes with the command that produced it,
every mean session time names its count, and the config page is the shipped config.

How to mark a block and what counts as a figure: docs/testing.md, "The docs are tested too"."""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from botify.config import DEFAULTS
from lab import cli
from lab.synthetic import make_users, simulate, write_log
from tests.conftest import ROOT
from tests.markdown_blocks import (
    CodeBlock,
    Page,
    Unit,
    heading_anchors,
    inline_code,
    links,
    read_page,
    without_code,
)

PAGES = [read_page(path) for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]]
# The guides the docs link to for the whole story: their links and commands are checked too.
GUIDE_PATHS = ("sim/README.md", "offline/learn/TRAINING.md", "homework/README.md")
GUIDES = [read_page(ROOT / path) for path in GUIDE_PATHS]
SHELL = {"sh", "bash", "shell", "console"}


def where(page: Page, line: int) -> str:
    return f"{page.path.relative_to(ROOT)}:{line}"


# -- (a) links ------------------------------------------------------------------------------------


# Pages of issue 24 that other changes are writing now: linked from the README and docs/index.md
# already; a link to one that is still missing is a warning, not a failure. Remove a page from
# here once it is committed (then it is checked as any other).
def test_every_relative_link_leads_to_a_file_and_an_anchor_to_a_heading():
    broken = []
    for page in PAGES + GUIDES:
        for target, line in links(page):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            path = (page.path.parent / path_part).resolve() if path_part else page.path
            if not path.exists():
                broken.append(f"{where(page, line)}: {target}: no such file")
            elif anchor and path.suffix == ".md" and anchor not in heading_anchors(read_page(path)):
                broken.append(f"{where(page, line)}: {target}: no heading #{anchor} there")
    assert not broken, "\n".join(broken)


# -- (b) commands and options ---------------------------------------------------------------------


@functools.cache
def botify_help(*words: str) -> str:
    """`botify WORDS... --help`, run in this process (cheap: argparse prints and exits), with the
    help of each sub-command it lists ({single,multi}) appended."""
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        try:
            cli.main([*words, "--help"])
        except SystemExit:
            pass
    text = out.getvalue()
    if len(words) == 1:
        for group in re.findall(r"^\s+\{([\w,-]+)\}", text, re.M):
            for sub in group.split(","):
                text += botify_help(*words, sub)
    return text


@functools.cache
def python_help(*target: str, sub: bool = True) -> str:
    """`python -m MODULE --help` or `python SCRIPT --help`, from the repository's root, with the
    help of each sub-command it lists appended."""
    done = subprocess.run(
        [sys.executable, *target, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    text = done.stdout + done.stderr
    if sub:
        for group in re.findall(r"^\s+\{([\w,-]+)\}", text, re.M):
            for name in group.split(","):
                text += python_help(*target, name, sub=False)
    return text


@functools.cache
def make_targets() -> frozenset[str]:
    makefile = (ROOT / "Makefile").read_text()
    return frozenset(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.M))


def shell_lines(block: CodeBlock) -> list[str]:
    """The block's commands, continuation lines joined."""
    return block.text.replace("\\\n", " ").split("\n")


def words_of(command: str) -> list[str]:
    try:
        words = shlex.split(command, comments=True)
    except ValueError:  # an unbalanced quote in prose: its words are enough
        words = command.split()
    # Punctuation of the prose around a command: `[--tracks --dim]`, `botify train:`.
    return [word.strip("[]():;,") for word in words]


SEPARATORS = {"&&", "||", "|", ";", "do", "then"}


def problems_of(words: list[str]) -> list[str]:
    """What is wrong with the botify, python and make commands among `words`."""
    found = []
    for start, word in enumerate(words):
        rest = words[start + 1 :]
        end = next((i for i, w in enumerate(rest) if w in SEPARATORS), len(rest))
        rest = rest[:end]
        options = sorted({w.split("=")[0] for w in rest if w.startswith("--") and len(w) > 2})
        name = Path(word).name
        if name == "botify" and rest:
            command = rest[0]
            if command.isupper() or command.startswith("-"):  # botify COMMAND: a placeholder
                continue
            if command not in cli.COMMANDS:
                found.append(f"botify {command}: no such command in lab/cli.py")
                continue
            help_text = botify_help(command)
            if len(rest) > 1 and re.fullmatch(r"[a-z][a-z-]*", rest[1]):  # botify logs compact
                help_text += botify_help(command, rest[1])
            found += [
                f"botify {command} {option}: not in its --help"
                for option in options
                if not mentions(help_text, option)
            ]
        elif re.fullmatch(r"python3?", name) and rest and options:
            target = tuple(rest[:2]) if rest[0] == "-m" else (rest[0],)
            if target[-1].isupper() or (target[0] != "-m" and not (ROOT / target[0]).is_file()):
                continue  # python -m MODULE: a placeholder; a script elsewhere: not ours
            help_text = python_help(*target)
            found += [
                f"python {' '.join(target)} {option}: not in its --help"
                for option in options
                if not mentions(help_text, option)
            ]
        elif name == "make" and rest and not rest[0].startswith("-") and "=" not in rest[0]:
            if rest[0] not in make_targets() and not rest[0].isupper():
                found.append(f"make {rest[0]}: no such target in the Makefile")
    return found


def mentions(help_text: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text) is not None


def test_every_command_and_option_named_exists():
    """In shell blocks and inline code alike: `botify COMMAND --option` names a command of
    lab/cli.py and an option of its --help; `python -m MODULE --option` and `python SCRIPT
    --option` an option of theirs; `make TARGET` a target of the Makefile."""
    stale = []
    for page in PAGES + GUIDES:
        for block in page.blocks:
            if block.language in SHELL:
                for line in shell_lines(block):
                    stale += [
                        f"{where(page, block.line)}: {p}" for p in problems_of(words_of(line))
                    ]
        for unit in page.units:
            for code in inline_code(unit.text):
                stale += [f"{where(page, unit.line)}: {p}" for p in problems_of(words_of(code))]
    assert not stale, "\n".join(sorted(set(stale)))


def test_the_readme_is_a_landing_page():
    """What botify is, the two commands, what you get, where to go next: the rest is in docs/."""
    words = len((ROOT / "README.md").read_text().split())
    assert words <= 1_500, f"README.md has {words} words: move the details to a page of docs/"


def test_the_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in cli.COMMANDS if f"`botify {name}`" not in readme]
    assert not missing, f"README.md's command list lacks {missing}"


# -- (c) marked blocks run ------------------------------------------------------------------------

CHECKED = [
    (where(page, block.line), block)
    for page in PAGES
    for block in page.blocks
    if block.checked_runs
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A folder laid out as `botify experiment` leaves one: config.json, .venv, and a run in
    runs/latest with two days of logs (synthetic: 1,000 users, STICKY_VS_LEARNED and AA, each day
    squeezed into 40 s like a quick run's; T1 +5% on day 2)."""
    root = tmp_path_factory.mktemp("docs")
    (root / ".venv").symlink_to(Path(sys.prefix))
    shutil.copy(ROOT / "config.json", root / "config.json")
    run = root / "runs" / "20260101-000000"
    users = make_users(1_000, seed=1)
    for day, effects in ((1, None), (2, {"T1": 0.05})):
        events = simulate(users, {"STICKY_VS_LEARNED": 2, "AA": 2}, seed=day, effects=effects)
        stamps = events["timestamp"]
        span = max(int(stamps.max() - stamps.min()), 1)
        events["timestamp"] = stamps.min() + (stamps - stamps.min()) * 40_000 // span
        assert np.all(np.diff(events["timestamp"]) >= 0)
        write_log(events, run / "logs" / f"day{day}")
    (root / "runs" / "latest").symlink_to(run.name)
    return root


def test_blocks_are_marked_to_run():
    """The marker is easy to lose in an edit: the pages keep their cheap commands checked."""
    assert len(CHECKED) >= 6, [place for place, _ in CHECKED]
    assert all(block.language in SHELL for _, block in CHECKED)


@pytest.mark.parametrize("place, block", CHECKED, ids=[place for place, _ in CHECKED])
def test_a_marked_block_runs(scratch, place, block):
    env = {**os.environ, "PATH": f"{scratch / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.text],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{place}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


# -- (d) figures and their commands ---------------------------------------------------------------

UNIT = (
    r"%|µs|ms|s|min|h|minutes?|seconds?|hours?|days?|KiB|MiB|GiB|KB|MB|GB|gb|bytes"
    r"|requests/s|req/s|times|x"
)
FIGURE = re.compile(rf"(?<![\w.])[+-]?\d[\d,]*(?:\.\d+)?(?:\s?(?:{UNIT}))(?![\w/])")
# `key` (value): a setting's value, not a measurement.
SETTING = re.compile(r"`[^`\n]+`\s+\([^()]*\)")
# A command as one types it: `botify ab` alone is a name, `botify ab LOG` or
# `.venv/bin/botify ab` a command.
COMMAND = re.compile(
    r"^(?:\.venv/bin/(?:botify|python)\b|botify [a-z]+ \S|python3? \S+|make [a-z]+|bash \S+"
    r"|docker compose \w+|curl |/usr/bin/time )"
)
MEASURED_WITH = re.compile(r"Measured with `[^`]+`")
# Figures that are no measurement and sit where no command could produce them: (page, figure).
NOT_MEASURED: dict[tuple[str, str], str] = {
    ("service.md", "0.1 s"): "the sleep botify/overload.py times to measure a worker's lag",
    ("service.md", "50 ms"): "how long botify/eventlog.py gathers unwritten events in a batch",
    ("service.md", "5 s"): "how often botify/eventlog.py records losses while the log fails",
}


def names_a_command(text: str) -> bool:
    return any(COMMAND.match(code) for code in inline_code(text))


def figures(text: str) -> list[str]:
    return FIGURE.findall(without_code(SETTING.sub(" ", text)))


def test_every_figure_in_prose_comes_with_its_command():
    """A paragraph or list item with a figure (a number with a unit, or a percentage) names the
    command that produced it; a list item may leave that to its list's lead-in."""
    alone = []
    for page in PAGES:
        for unit in page.units:
            if unit.kind not in ("paragraph", "item"):
                continue
            if names_a_command(unit.text) or names_a_command(unit.lead_in):
                continue
            for figure in figures(unit.text):
                if (page.path.name, figure) not in NOT_MEASURED:
                    alone.append(f"{where(page, unit.line)}: {figure!r} in {unit.text[:70]!r}...")
    assert not alone, "\n".join(alone)


def is_measurement_cell(cell: str) -> bool:
    cell = cell.strip().strip("*").strip()
    return re.fullmatch(rf"[+-]?\d[\d,]*(?:\.\d+)?\s?(?:{UNIT})?", cell) is not None


def is_measurement_table(table: Unit) -> bool:
    rows = table.text.split("\n")[2:]  # past the header and its rule
    return any(is_measurement_cell(cell) for row in rows for cell in row.strip("|").split("|"))


def is_output(block: CodeBlock) -> bool:
    return block.language in ("", "text") and re.search(r"\d\.\d|\d%", block.text) is not None


def test_every_table_and_output_of_measurements_says_how_it_was_measured():
    """A table of measurements has a "Measured with `...`" line just before or after it; an
    output block a command just before it (a shell block or a paragraph) or just after it."""
    unexplained = []
    for page in PAGES:
        elements = page.elements
        for i, element in enumerate(elements):
            before = elements[i - 1] if i > 0 else None
            after = elements[i + 1] if i + 1 < len(elements) else None
            neighbours = [e for e in (before, after) if isinstance(e, Unit)]
            if isinstance(element, Unit) and element.kind == "table":
                if is_measurement_table(element) and not any(
                    MEASURED_WITH.search(e.text) for e in neighbours
                ):
                    unexplained.append(f"{where(page, element.line)}: a table of measurements")
            elif isinstance(element, CodeBlock) and is_output(element):
                shell_before = isinstance(before, CodeBlock) and before.language in SHELL
                if not shell_before and not any(names_a_command(e.text) for e in neighbours):
                    unexplained.append(f"{where(page, element.line)}: an output block")
    assert not unexplained, "\n".join(unexplained)


# -- the two counts of mean session time ----------------------------------------------------------


def test_every_mean_session_time_names_its_count():
    """Two counts differ by about one track (the report's counts each session's first track,
    the simulator's does not): a figure without its count reads as the other one."""
    mentions_ = ("mean session time", "mean time per session")
    units = [
        (page, unit)
        for page in PAGES
        for unit in page.units
        if unit.kind != "heading" and any(m in unit.text.lower() for m in mentions_)
    ]
    assert len(units) >= 6  # the README's verdict, the counts, calibration, training, the loop
    unnamed = [
        f"{where(page, unit.line)}: {unit.text[:80]!r}"
        for page, unit in units
        if not any(c in unit.text + unit.lead_in for c in ("simulator's count", "report's count"))
    ]
    assert not unnamed, "\n".join(unnamed)


# -- the config page ------------------------------------------------------------------------------

CONFIG_PAGE = ROOT / "docs" / "config.md"


def test_the_config_pages_block_is_the_shipped_config():
    block = next(b for b in read_page(CONFIG_PAGE).blocks if b.language == "json")
    assert json.loads(block.text) == json.loads((ROOT / "config.json").read_text())


def test_the_config_page_names_every_key_with_its_default():
    rows = re.findall(r"^\| `(\w+)` \| `([^|]+)` \|", CONFIG_PAGE.read_text(), re.M)
    documented = {key: json.loads(default) for key, default in rows}
    assert set(documented) == set(DEFAULTS), (
        "docs/config.md's key table differs from botify/config.py's DEFAULTS: "
        f"missing {sorted(set(DEFAULTS) - set(documented))}, "
        f"unknown {sorted(set(documented) - set(DEFAULTS))}"
    )
    assert documented == DEFAULTS
