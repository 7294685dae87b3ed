"""What the learning loop (`botify experiment --days N`) serves each day: C's StickyArtist, T1's
chain (StickyArtist exploring genre-mates on day 1, the learned chain from day 2) and the data
files that a day's chains read. Defined once for the A/B world (lab.days_loop) and for the
counterfactual worlds of --truth (lab.counterfactual), which must serve exactly the same chains.
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.worldfiles import TOP_TRACKS, TRACKS

RANKED = {"ranked": True, "no_repeat": True}
STICKY = {"recommender": "sticky_artist", "no_repeat": True}
TIRED = 0.5  # an artist whose latest listen in the session was below this is left


def learned_chain(explore: float | None) -> list[dict]:
    lists = {"recommender": "session_artists", "source": "i2i", "tired": TIRED, **RANKED}
    if explore:
        lists["explore"] = {"probability": explore, "from": "genre"}
    return [
        {"recommender": "replay", "source": "enjoyed", "tired": TIRED, **RANKED},
        lists,
        {"recommender": "history_i2i", "source": "i2i", "history": 5, **RANKED},
        {"recommender": "top_pop", "top_n": 100, "no_repeat": True},
    ]


def treatment_chain(explore: float, learned: bool) -> list[dict]:
    """T1's chain: the learned one, or before anything is learned StickyArtist exploring."""
    if learned:
        return learned_chain(explore)
    return [{**STICKY, "explore": {"probability": explore, "from": "genre"}}]


def day_data(run: Path, world: Path, day: int, learned: bool) -> dict:
    """The config's data section: the world's catalog, and the files learned into
    run/model<day - 1> when the day serves them."""
    data = {"catalog": str(world / TRACKS), "top_tracks": str(world / TOP_TRACKS)}
    if learned:
        data = {**json.loads((run / f"model{day - 1}" / "botify_data.json").read_text()), **data}
        data["top_tracks"] = str(run / f"model{day - 1}" / "top_tracks.json")
    return data
