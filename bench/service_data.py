"""A dataset of realistic size in the course's formats, deterministic from a seed: 50,000 tracks
of about 11,000 artists, 100 item-to-item neighbours per track, 10,000 users with 100
recommendations each (as the course's service benchmark uses)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def make_dataset(out: Path, tracks=50_000, artists=11_000, users=10_000, neighbours=100, seed=0):
    out.mkdir(parents=True, exist_ok=True)
    if (out / "done").exists():
        return out
    rng = np.random.default_rng(seed)
    # Heavy-tailed artist sizes: every artist has a track, the rest go by a Zipf-like weight.
    weights = 1.0 / np.arange(1, artists + 1) ** 0.8
    artist_of = np.concatenate(
        [np.arange(artists), rng.choice(artists, tracks - artists, p=weights / weights.sum())]
    )
    rng.shuffle(artist_of)
    with open(out / "tracks.json", "w") as file:
        for track, artist in enumerate(artist_of):
            file.write(
                json.dumps({"track": track, "artist": f"Artist {artist}", "title": f"Song {track}"})
                + "\n"
            )
    popularity = rng.zipf(1.5, tracks).argsort()[::-1]
    (out / "top_tracks.json").write_text(json.dumps(popularity[:1000].tolist()))
    with open(out / "i2i.json", "w") as file:
        for track in range(tracks):
            file.write(
                json.dumps(
                    {
                        "track": track,
                        "recommendations": rng.choice(tracks, neighbours, replace=False).tolist(),
                    }
                )
                + "\n"
            )
    with open(out / "recommendations_ub.json", "w") as file:
        for user in range(users):
            file.write(
                json.dumps(
                    {"user": user, "tracks": rng.choice(tracks, neighbours, replace=False).tolist()}
                )
                + "\n"
            )
    (out / "done").touch()
    return out
