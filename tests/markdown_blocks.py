"""A markdown page as the docs tests read it: its fenced code blocks, its prose units (paragraphs,
list items, tables), its links, headings and inline code, each with the line it starts on.

Only what the README and docs/ use is understood: ``` fences with an optional language (indented
in a list item), `#` headings, `- ` and `1. ` lists, `|` tables, `<!-- ... -->` comment lines,
[text](target) links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^( *)```(\S*)\s*$")  # a block in a list item is indented
LIST_ITEM = re.compile(r"^(?:[-*]|\d+\.) ")
LINK = re.compile(r"\[(?:[^\]]|\][^(])*?\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
CHECKED_RUNS = "<!-- checked: runs -->"


@dataclass
class CodeBlock:
    language: str
    text: str
    line: int  # of the opening fence, 1-based
    checked_runs: bool  # the line before the fence is CHECKED_RUNS


@dataclass
class Unit:
    """A paragraph, one list item, or a table: what a figure and its command must share."""

    kind: str  # "paragraph", "item", "table", "heading"
    text: str
    line: int
    lead_in: str = ""  # for a list item: the paragraph that introduces its list


@dataclass
class Page:
    path: Path
    text: str
    blocks: list[CodeBlock] = field(default_factory=list)
    # Paragraphs, list items, tables, headings and code blocks in page order.
    elements: list[Unit | CodeBlock] = field(default_factory=list)

    @property
    def units(self) -> list[Unit]:
        return [element for element in self.elements if isinstance(element, Unit)]

    def prose(self) -> str:
        return "\n\n".join(unit.text for unit in self.units)


def read_page(path: Path) -> Page:
    text = path.read_text()
    page = Page(path, text)
    lines = text.split("\n")
    index = 0
    pending: list[str] = []  # lines of the prose block being gathered
    pending_start = 0

    def flush() -> None:
        if pending:
            page.elements.extend(_units(pending, pending_start, page.elements))
            pending.clear()

    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence:
            flush()
            start = index
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                index += 1
            indent = len(fence.group(1))
            body = "\n".join(line[indent:] for line in lines[start + 1 : index])
            checked = start > 0 and lines[start - 1].strip() == CHECKED_RUNS
            block = CodeBlock(fence.group(2), body, start + 1, checked)
            page.blocks.append(block)
            page.elements.append(block)
        elif not line.strip() or line.strip().startswith("<!--"):
            flush()
        else:
            if not pending:
                pending_start = index + 1
            pending.append(line)
        index += 1
    flush()
    return page


def _units(lines: list[str], start: int, before: list[Unit | CodeBlock]) -> list[Unit]:
    if lines[0].startswith("#"):
        return [Unit("heading", lines[0], start)] + (
            _units(lines[1:], start + 1, before) if len(lines) > 1 else []
        )
    if all(line.startswith("|") for line in lines):
        return [Unit("table", "\n".join(lines), start)]
    if not LIST_ITEM.match(lines[0]):
        return [Unit("paragraph", "\n".join(lines), start)]
    previous = before[-1] if before else None
    lead_in = previous.text if isinstance(previous, Unit) and previous.kind == "paragraph" else ""
    items: list[Unit] = []
    for offset, line in enumerate(lines):
        if LIST_ITEM.match(line):
            items.append(Unit("item", line, start + offset, lead_in))
        else:
            items[-1].text += "\n" + line
    return items


def inline_code(text: str) -> list[str]:
    return [" ".join(match.group(2).split()) for match in INLINE_CODE.finditer(text)]


def without_code(text: str) -> str:
    """The prose of `text` with its inline code and link targets blanked out."""
    text = INLINE_CODE.sub(" ", text)
    return LINK.sub(lambda match: match.group(0)[: match.group(0).index("](")], text)


def links(page: Page) -> list[tuple[str, int]]:
    """Every [text](target) in the page's prose, with its unit's line."""
    found = []
    for unit in page.units:
        for match in LINK.finditer(unit.text):
            found.append((match.group(1), unit.line + unit.text[: match.start()].count("\n")))
    return found


def heading_anchors(page: Page) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces to
    hyphens, a repeated one suffixed -1, -2, ..."""
    anchors: set[str] = set()
    for unit in page.units:
        if unit.kind != "heading":
            continue
        title = unit.text.lstrip("#").strip().lower()
        slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors
