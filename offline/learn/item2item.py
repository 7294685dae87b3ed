"""Item-to-item: for each track, the tracks to play after it, best first.

Four components, each a ranked list per track, and their blend:
- `next`: what users listened to right after the track and for how long. Each observed
  transition a -> b counts b's listened fraction; the mean is shrunk towards the average
  transition (a prior worth `prior` transitions), so one lucky listen does not top the list, and
  a pair listened to less than the average transition (skips) is left out: negative evidence.
- `session`: tracks listened to in the same session, up to `window` listens apart, both ways,
  each pair weighted by the product of the two listened fractions (both enjoyed) and `decay` per
  extra step apart. A session follows one mood, so this reaches beyond the pairs that happened
  to be adjacent.
- `als`: the nearest tracks by the cosine of the ALS track factors (offline.learn.als).
- `catalog`: the other tracks by the same artist, then genre-mates, by listened time, with the
  number of the artist's tracks learned from the logs (offline.learn.catalog_prior); every catalog
  track gets a list, even one nobody played.
- `affinity`: the track's artist, then the artists its listeners enjoy, learned from first plays
  of artists in sessions, merged by how fast listeners tire of an artist
  (offline.learn.artist_affinity): the method that uses exploring traffic.
- `blend`: weighted reciprocal rank fusion of the components; a pair whose `next` evidence is
  below half the average transition (repeatedly skipped) is vetoed from the blend. The default
  weights favour `catalog` (4 to 1 for `next` and `session`, 0 for `als`): on the simulator's
  cold-start logs that blend played best online and `als` added nothing there, while the
  offline evaluation, whose held-out listens are what the logging recommender chose to play,
  prefers the evidence components (offline/learn/TRAINING.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from offline.learn.artist_affinity import AffinityParams, affinity_lists, fit_affinity
from offline.learn.catalog_prior import ArtistDepth, artist_depth, catalog_lists
from offline.learn.listens import Listens
from offline.learn.popularity import listened_time
from offline.learn.ranking import PAD, drop_items, reciprocal_rank_fusion, sparse_top_k
from offline.learn.tracks import Tracks

COMPONENTS = ("next", "session", "als", "catalog")
METHODS = (*COMPONENTS, "blend", "affinity")
DEFAULT_WEIGHTS = {"next": 1.0, "session": 1.0, "als": 0.0, "catalog": 4.0}


@dataclass(frozen=True)
class I2IParams:
    n: int = 50
    window: int = 5
    decay: float = 0.8
    prior: float = 2.0
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    affinity: AffinityParams = AffinityParams()


@dataclass
class NextEvidence:
    """Observed transitions: per pair, the shrunk mean listened fraction minus the average."""

    lift: sp.csr_matrix
    average: float


def transitions(listens: Listens) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(from, to, listened fraction of `to`) for each pair of consecutive listens."""
    follows = (listens.session[1:] == listens.session[:-1]) & (
        listens.position[1:] == listens.position[:-1] + 1
    )
    before = np.flatnonzero(follows)
    return listens.track[before], listens.track[before + 1], listens.time[before + 1]


def next_evidence(listens: Listens, n_tracks: int, prior: float) -> NextEvidence:
    a, b, time = transitions(listens)
    shape = (n_tracks, n_tracks)
    if not len(a):
        return NextEvidence(sp.csr_matrix(shape, dtype=np.float64), 0.0)
    average = float(time.mean())
    pairs, pair_of = np.unique(a * n_tracks + b, return_inverse=True)
    sums = np.bincount(pair_of, weights=time)
    counts = np.bincount(pair_of)
    lift = (sums + prior * average) / (counts + prior) - average
    lift[lift == 0] = -1e-12  # keep "exactly average" stored, and not positive
    matrix = sp.csr_matrix((lift, (pairs // n_tracks, pairs % n_tracks)), shape=shape)
    return NextEvidence(matrix, average)


def next_lists(evidence: NextEvidence, n: int, only: np.ndarray | None = None) -> np.ndarray:
    return sparse_top_k(evidence.lift, n, exclude_diagonal=True, only=only)


def session_lists(
    listens: Listens,
    n_tracks: int,
    n: int,
    window: int,
    decay: float,
    only: np.ndarray | None = None,
) -> np.ndarray:
    rows, cols, weights = [], [], []
    session, track, time = listens.session, listens.track, listens.time.astype(np.float64)
    for gap in range(1, window + 1):
        same = np.flatnonzero(session[gap:] == session[:-gap])
        if not len(same):
            break
        weight = time[same] * time[same + gap] * decay ** (gap - 1)
        useful = weight > 0
        a, b, weight = track[same][useful], track[same + gap][useful], weight[useful]
        rows += [a, b]
        cols += [b, a]
        weights += [weight, weight]
    if not rows:
        return np.full((n_tracks, n), PAD, dtype=np.int64)
    matrix = sp.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_tracks, n_tracks),
    )
    return sparse_top_k(matrix, n, exclude_diagonal=True, only=only)


def veto(lists: np.ndarray, evidence: NextEvidence) -> np.ndarray:
    """Drop pairs a -> b whose shrunk mean listened fraction is below half the average."""
    n_tracks = lists.shape[0]
    lift = evidence.lift.tocoo()
    bad = lift.data < -0.5 * evidence.average
    if not bad.any():
        return lists
    bad_keys = lift.row[bad].astype(np.int64) * n_tracks + lift.col[bad]
    rows, ranks = np.nonzero(lists != PAD)
    hit = np.isin(rows * n_tracks + lists[rows, ranks], bad_keys)
    out = lists.copy()
    out[rows[hit], ranks[hit]] = PAD
    return drop_items(out, np.zeros(n_tracks, dtype=bool))


@dataclass
class I2I:
    """Each method's lists, (n_tracks, n) dense indices padded with -1."""

    lists: dict[str, np.ndarray]
    depth: ArtistDepth | None = None  # what the catalog component learned
    affinity: dict | None = None  # what the affinity method learned

    def method(self, name: str) -> np.ndarray:
        return self.lists[name]


def fit_i2i(
    listens: Listens,
    tracks: Tracks,
    params: I2IParams,
    als_similar: np.ndarray | None,
    methods: tuple[str, ...] = METHODS,
    only: np.ndarray | None = None,
) -> I2I:
    """The lists of the methods asked for (`blend` needs the components its weights name); with
    `only` (dense track indices), the other tracks' lists may be left empty."""
    n_tracks, n = len(tracks), params.n
    wanted = set(methods)
    if "blend" in wanted:
        wanted |= {name for name, weight in params.weights.items() if weight}
    lists: dict[str, np.ndarray] = {}
    evidence = next_evidence(listens, n_tracks, params.prior)
    if "next" in wanted:
        lists["next"] = next_lists(evidence, n, only)
    if "session" in wanted:
        lists["session"] = session_lists(listens, n_tracks, n, params.window, params.decay, only)
    if "als" in wanted:
        if als_similar is None:
            raise ValueError("the als component needs the ALS model")
        lists["als"] = als_similar[:, :n]
    depth = None
    if "catalog" in wanted:
        depth = artist_depth(listens, tracks.artists, tracks.genres, n)
        popularity = listened_time(listens, n_tracks)
        lists["catalog"] = catalog_lists(tracks.artists, tracks.genres, popularity, depth, n)
    learned = None
    if "affinity" in wanted:
        model = fit_affinity(listens, tracks.artists, tracks.genres, params.affinity)
        popularity = listened_time(listens, n_tracks)
        lists["affinity"] = affinity_lists(
            model, tracks.artists, tracks.genres, popularity, params.affinity, n
        )
        learned = model.as_dict()
    if "blend" in wanted:
        names = [name for name in COMPONENTS if params.weights.get(name)]
        fused = reciprocal_rank_fusion(
            [lists[name] for name in names],
            [params.weights[name] for name in names],
            # Room for the veto to remove pairs and still fill n.
            k=2 * n,
        )
        lists["blend"] = veto(fused, evidence)[:, :n]
    return I2I({name: lists[name] for name in methods if name in lists}, depth, learned)
