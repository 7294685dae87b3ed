"""The README shows what ships: its config.json block is the shipped config.json."""

from __future__ import annotations

import json

from tests.conftest import ROOT


def test_the_readmes_config_block_is_the_shipped_config():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## config.json") :]
    block = section[section.index("```json\n") + len("```json\n") : section.index("```\n", 10)]
    assert json.loads(block) == json.loads((ROOT / "config.json").read_text())


def test_every_mean_session_time_in_the_readme_names_its_count():
    """Two counts differ by about one track (the report's counts each session's first track,
    the simulator's does not): a figure without its count reads as the other one."""
    readme = (ROOT / "README.md").read_text()
    mentions = ("mean session time", "mean time per session")
    paragraphs = [p for p in readme.split("\n\n") if any(m in p.lower() for m in mentions)]
    assert len(paragraphs) >= 4  # the calibration, training, the learning loop, the counts
    for paragraph in paragraphs:
        assert "simulator's count" in paragraph or "report's count" in paragraph, paragraph
