"""The README shows what ships: its config.json block is the shipped config.json."""

from __future__ import annotations

import json

from tests.conftest import ROOT


def test_the_readmes_config_block_is_the_shipped_config():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## config.json") :]
    block = section[section.index("```json\n") + len("```json\n") : section.index("```\n", 10)]
    assert json.loads(block) == json.loads((ROOT / "config.json").read_text())
