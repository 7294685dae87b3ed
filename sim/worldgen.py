"""The world generator: a catalog, its hidden track embeddings and the users' hidden tastes,
all drawn deterministically from one seed.

The geometry is built so that recommenders can be told apart: every vector is unit length;
an artist's vector leans towards its genre's centre and a track's towards its artist's, so
tracks of one artist are close (cosine about `artist_share`), tracks of one genre less so
(about `artist_share * genre_share`) and unrelated tracks near 0. Popularity is log-normal
across artists and again across an artist's tracks, and popular artists have more tracks:
heavy tails at both levels. A user's interests are tracks drawn by popularity; the consume
bias sits well above the similarity of an unrelated track, so a random track is rarely
enjoyed while a track by the artist of the session's interest usually is."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.names import GENRES, artist_names, track_titles
from sim.neighbours import nearest_many


@dataclass(frozen=True)
class WorldSpec:
    tracks: int = 50_000
    artists: int = 11_000
    users: int = 10_000
    genres: int = 24
    dim: int = 64
    # cosine between two artists of one genre, and between two tracks of one artist
    genre_share: float = 0.5
    artist_share: float = 0.8
    artist_popularity_sigma: float = 1.5
    track_popularity_sigma: float = 1.0
    # how strongly the number of an artist's tracks follows its popularity
    tracks_per_popularity: float = 0.6
    genre_zipf: float = 0.8
    interests: tuple[int, int] = (1, 6)
    consume_bias: tuple[float, float] = (0.45, 0.65)
    consume_sharpness: tuple[float, float] = (8.0, 16.0)
    # nearest neighbours precomputed for every interest (sessions start among them)
    neighbours: int = 32

    def validate(self) -> None:
        if self.tracks < 1 or self.artists < 1 or self.users < 1 or self.genres < 1:
            raise ValueError("tracks, artists, users and genres must be at least 1")
        if self.artists > self.tracks:
            raise ValueError(
                f"{self.artists} artists need at least as many tracks, not {self.tracks}"
            )
        if self.genres > self.artists:
            raise ValueError(f"{self.genres} genres need at least as many artists")
        if self.dim < 2:
            raise ValueError("dim must be at least 2")
        low, high = self.interests
        if not 1 <= low <= high:
            raise ValueError("interests must be a range 1 <= low <= high")


@dataclass
class GeneratedWorld:
    spec: WorldSpec
    seed: int
    genre_names: list[str]
    artist_names: list[str]
    artist_genre: np.ndarray  # genre index per artist
    track_artist: np.ndarray  # artist index per track (track id = position)
    titles: list[str]
    popularity: np.ndarray  # per track; the public chart is its order
    embeddings: np.ndarray  # float32 (tracks, dim), unit rows
    users: list[dict] = field(default_factory=list)
    # (interest tracks, their nearest neighbours)
    neighbours: tuple[np.ndarray, np.ndarray] | None = None

    def chart(self) -> list[int]:
        """Track ids, most popular first (ties by id, so the order is total)."""
        return np.lexsort((np.arange(len(self.popularity)), -self.popularity)).tolist()


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _lean(anchor: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors whose cosine with `anchor` (row-wise) is about sqrt(share), so that two
    vectors leaning on one anchor have a cosine of about `share`."""
    noise = _unit_rows(rng.standard_normal(anchor.shape))
    return _unit_rows(np.sqrt(share) * anchor + np.sqrt(1.0 - share) * noise)


def genre_names(count: int) -> list[str]:
    return [GENRES[i] if i < len(GENRES) else f"genre {i + 1}" for i in range(count)]


def generate(spec: WorldSpec, seed: int) -> GeneratedWorld:
    spec.validate()
    rng = np.random.default_rng(seed)

    genre_weight = 1.0 / np.arange(1, spec.genres + 1) ** spec.genre_zipf
    genre_weight /= genre_weight.sum()
    # every genre gets an artist, the rest follow the genre's weight
    artist_genre = np.concatenate(
        [
            np.arange(spec.genres),
            rng.choice(spec.genres, spec.artists - spec.genres, p=genre_weight),
        ]
    )
    rng.shuffle(artist_genre)
    artist_popularity = rng.lognormal(0.0, spec.artist_popularity_sigma, spec.artists)

    # every artist has a track; the others go to artists by popularity (a heavy tail of counts)
    weight = artist_popularity**spec.tracks_per_popularity
    extra = rng.multinomial(spec.tracks - spec.artists, weight / weight.sum())
    by_artist = np.repeat(np.arange(spec.artists), 1 + extra)
    # shuffled, so that a track id says nothing about its artist
    track_artist = by_artist[rng.permutation(spec.tracks)]

    track_popularity = artist_popularity[track_artist] * rng.lognormal(
        0.0, spec.track_popularity_sigma, spec.tracks
    )

    genre_centres = _unit_rows(rng.standard_normal((spec.genres, spec.dim)))
    artist_vectors = _lean(genre_centres[artist_genre], spec.genre_share, rng)
    embeddings = _lean(artist_vectors[track_artist], spec.artist_share, rng).astype(np.float32)

    world = GeneratedWorld(
        spec=spec,
        seed=seed,
        genre_names=genre_names(spec.genres),
        artist_names=artist_names(spec.artists, rng),
        artist_genre=artist_genre,
        track_artist=track_artist,
        titles=track_titles(spec.tracks, rng),
        popularity=track_popularity,
        embeddings=embeddings,
    )
    world.users = _users(spec, track_popularity, rng)
    interests = np.unique([t for user in world.users for t in user["interests"]])
    world.neighbours = (interests, nearest_many(embeddings, interests, spec.neighbours))
    return world


def _users(spec: WorldSpec, popularity: np.ndarray, rng: np.random.Generator) -> list[dict]:
    low, high = spec.interests
    high = min(high, spec.tracks)
    low = min(low, high)
    counts = rng.integers(low, high + 1, size=spec.users)
    cdf = np.cumsum(popularity)
    cdf /= cdf[-1]
    bias = rng.uniform(*spec.consume_bias, size=spec.users)
    sharpness = rng.uniform(*spec.consume_sharpness, size=spec.users)
    users = []
    for user, count in enumerate(counts.tolist()):
        interests: list[int] = []
        # draws by popularity, without repeats within a user
        while len(interests) < count:
            draws = np.searchsorted(cdf, rng.random(2 * count), side="right")
            for track in np.minimum(draws, spec.tracks - 1).tolist():
                if track not in interests and len(interests) < count:
                    interests.append(track)
        users.append(
            {
                "user": user,
                "interests": interests,
                "consume_bias": round(float(bias[user]), 4),
                "consume_sharpness": round(float(sharpness[user]), 3),
            }
        )
    return users
