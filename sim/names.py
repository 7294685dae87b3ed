"""Readable names for the generated catalog: genres, artists and track titles.

Artist names must be unique, because the catalog identifies an artist by its name (the service
groups tracks by the `artist` string); titles may repeat, as they do in real catalogs."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np

# the word tables are data, kept in names.json beside this module
_TABLES = json.loads((resources.files("sim") / "names.json").read_text(encoding="utf-8"))
GENRES: tuple[str, ...] = tuple(_TABLES["genres"])
_ADJECTIVES: tuple[str, ...] = tuple(_TABLES["adjectives"])
_NOUNS: tuple[str, ...] = tuple(_TABLES["nouns"])
_FIRST: tuple[str, ...] = tuple(_TABLES["first_names"])
_LAST: tuple[str, ...] = tuple(_TABLES["last_names"])
_TITLE_WORDS = _ADJECTIVES + _NOUNS + tuple(_TABLES["title_words"])

_ROMAN = ("", " II", " III", " IV", " V", " VI", " VII", " VIII", " IX", " X")


def _name_space() -> list[str]:
    bands = [f"The {a} {n}s" for a in _ADJECTIVES for n in _NOUNS]
    people = [f"{f} {last}" for f in _FIRST for last in _LAST]
    return bands + people


def artist_names(count: int, rng: np.random.Generator) -> list[str]:
    """`count` distinct names in a random order; past the base space, names gain a numeral
    (and past that, a number), so any count works."""
    space = _name_space()
    order = rng.permutation(len(space))
    names = []
    for i in range(count):
        base = space[order[i % len(space)]]
        lap = i // len(space)
        suffix = _ROMAN[lap] if lap < len(_ROMAN) else f" {lap + 1}"
        names.append(base + suffix)
    return names


def track_titles(count: int, rng: np.random.Generator) -> list[str]:
    """Two- or three-word titles; repeats allowed."""
    words = np.asarray(_TITLE_WORDS, dtype=object)
    first = words[rng.integers(len(words), size=count)]
    second = words[rng.integers(len(words), size=count)]
    third = words[rng.integers(len(words), size=count)]
    long = rng.random(count) < 0.25
    return [
        f"{a} {b} {c}" if is_long else f"{a} {b}"
        for a, b, c, is_long in zip(first, second, third, long, strict=True)
    ]
