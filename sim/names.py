"""Readable names for the generated catalog: genres, artists and track titles.

Artist names must be unique, because the catalog identifies an artist by its name (the service
groups tracks by the `artist` string); titles may repeat, as they do in real catalogs."""

from __future__ import annotations

import numpy as np

GENRES = (
    "pop", "rock", "hip hop", "electronic", "r&b", "indie", "metal", "jazz",
    "classical", "country", "folk", "latin", "reggae", "blues", "punk", "soul",
    "house", "techno", "ambient", "k-pop", "funk", "disco", "trap", "lo-fi",
)  # fmt: skip

_ADJECTIVES = (
    "Amber", "Atomic", "Blue", "Broken", "Burning", "Crimson", "Crystal", "Dark",
    "Electric", "Empty", "Endless", "Fading", "Falling", "Frozen", "Gentle", "Golden",
    "Hidden", "Hollow", "Iron", "Last", "Little", "Lonely", "Lost", "Lucky",
    "Midnight", "Neon", "Northern", "Pale", "Paper", "Purple", "Quiet", "Radiant",
    "Restless", "Rising", "Royal", "Rusty", "Sacred", "Savage", "Secret", "Silent",
    "Silver", "Sleeping", "Slow", "Solar", "Southern", "Static", "Still", "Sunny",
    "Sweet", "Tender", "Velvet", "Violet", "Wandering", "Wild", "Winter", "Young",
    "Black", "White", "Red", "Green", "Cosmic", "Distant", "Honest", "Magnetic",
)  # fmt: skip

_NOUNS = (
    "Anchor", "Arrow", "Bird", "Bloom", "Bridge", "Canyon", "Cat", "City",
    "Cloud", "Comet", "Crow", "Dream", "Echo", "Engine", "Feather", "Fire",
    "Flame", "Forest", "Fox", "Garden", "Ghost", "Harbor", "Heart", "Horizon",
    "Island", "Jungle", "Lake", "Lantern", "Light", "Lion", "Machine", "Mirror",
    "Moon", "Mountain", "Ocean", "Orchid", "Parade", "Planet", "Radio", "Rain",
    "River", "Road", "Rocket", "Rose", "Shadow", "Signal", "Sky", "Smoke",
    "Snake", "Star", "Stone", "Storm", "Summer", "Sun", "Tide", "Tiger",
    "Tower", "Train", "Valley", "Wave", "Wolf", "Window", "Wire", "Wings",
)  # fmt: skip

_FIRST = (
    "Ada", "Alex", "Ana", "Ben", "Bruno", "Carla", "Chen", "Dana", "Dario", "Eli",
    "Emma", "Erik", "Eva", "Felix", "Gil", "Hana", "Ivan", "Iris", "Jack", "Jade",
    "Jon", "Kai", "Kira", "Leo", "Lena", "Lia", "Luca", "Mae", "Marco", "Maya",
    "Mila", "Nico", "Nina", "Noah", "Olga", "Omar", "Otto", "Pia", "Raj", "Rosa",
    "Ruby", "Sam", "Sara", "Tao", "Theo", "Uma", "Vera", "Yara", "Zoe", "Ravi",
    "Aiko", "Bea", "Cleo", "Dmitri", "Elif", "Finn", "Greta", "Hugo", "Ines", "Jonas",
    "Kofi", "Lars", "Mina", "Nadia", "Oscar", "Paz", "Quinn", "Rami", "Sofia", "Tomas",
    "Ugo", "Vik", "Wren", "Xena", "Yusuf", "Zara", "Anouk", "Basil", "Cyrus", "Dora",
    "Enzo", "Fleur", "Goran", "Hedda", "Ilya", "Juno", "Kenji", "Lupe", "Milo", "Nell",
    "Orla", "Pavel", "Rhea", "Sven", "Tess", "Ulla",
)  # fmt: skip

_LAST = (
    "Adler", "Bauer", "Blake", "Brooks", "Castro", "Cole", "Cruz", "Diaz", "Dubois", "Ellis",
    "Fox", "Gray", "Hale", "Haas", "Ito", "Jansen", "Kane", "Khan", "Klein", "Lang",
    "Lee", "Lind", "Lopez", "Marsh", "Meyer", "Mori", "Nash", "Novak", "Ortiz", "Park",
    "Pike", "Quinn", "Reyes", "Rossi", "Ruiz", "Sato", "Silva", "Stone", "Sun", "Tan",
    "Vale", "Voss", "Wade", "Weber", "West", "Wolfe", "Young", "Zhou", "Berg", "Moss",
    "Abara", "Bianchi", "Costa", "Dahl", "Eze", "Falk", "Gomez", "Holm", "Iqbal", "Jovic",
    "Kowal", "Lund", "Mendes", "Nakata", "Olsen", "Petrov", "Rahman", "Santos", "Toivo",
    "Ueda", "Varga", "Wong", "Yilmaz", "Zeller", "Ahn", "Banks", "Chow", "Drake", "Eriks",
    "Frost", "Gallo", "Hart", "Ibarra", "Jung", "Kurz", "Lacroix", "Mazur", "Nolan",
    "Okafor", "Pham", "Reed", "Strand", "Thorne", "Uribe", "Vance", "Weiss", "Yoon", "Zorn",
    "Hayes", "Ferro",
)  # fmt: skip

_TITLE_WORDS = _ADJECTIVES + _NOUNS + (
    "Again", "Alone", "Away", "Backwards", "Before", "Blues", "Dancing", "Down",
    "Forever", "Goodbye", "Home", "Hold On", "Let Go", "Love", "Maybe", "Never",
    "Nights", "Now", "Over", "Running", "Someday", "Song", "Tonight", "Together",
)  # fmt: skip

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
