"""Fitting the three models on one set of listens: top tracks, item-to-item, per-user.

The same function trains on the evaluation's training part and, after the evaluation, on all the
listens for the files that are written. One ALS model serves both the per-user lists and the
item-to-item `als` component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from offline.learn.als import ALSModel, ALSParams, fit_als
from offline.learn.enjoyed import enjoyed_lists
from offline.learn.feature_factors import FeatureParams, feature_lists
from offline.learn.item2item import I2I, METHODS, I2IParams, fit_i2i
from offline.learn.listens import Listens
from offline.learn.popularity import top_by_plays, top_tracks
from offline.learn.tracks import Tracks

MODELS = ("top", "i2i", "users")
# the per-user model: ALS, the user's enjoyed tracks, or the factorisation with item features
USER_METHODS = ("als", "enjoyed", "features")


@dataclass(frozen=True)
class Options:
    models: tuple[str, ...] = MODELS
    top_n: int = 1000
    i2i: I2IParams = I2IParams()
    i2i_methods: tuple[str, ...] = METHODS  # which item-to-item methods to fit
    als: ALSParams = ALSParams()
    users_n: int = 100
    users_method: str = "als"
    enjoyed: float = 0.5  # the listened fraction that makes a listen enjoyed
    features: FeatureParams = FeatureParams()
    exclude_seen: bool = False


class UserLists(NamedTuple):
    ids: np.ndarray  # sorted user ids
    lists: np.ndarray  # (users, users_n) dense indices


@dataclass
class Fitted:
    top: np.ndarray  # dense indices, most listened first
    top_by_plays: np.ndarray  # the TopPop baseline
    i2i: I2I | None = None
    users: UserLists | None = None


def needs_als_similar(options: Options) -> bool:
    return "i2i" in options.models and (
        "als" in options.i2i_methods
        or ("blend" in options.i2i_methods and bool(options.i2i.weights.get("als")))
    )


def needs_als(options: Options) -> bool:
    users_als = "users" in options.models and options.users_method == "als"
    return users_als or needs_als_similar(options)


def fit(
    listens: Listens,
    tracks: Tracks,
    options: Options,
    only_tracks: np.ndarray | None = None,
    only_users: np.ndarray | None = None,
) -> Fitted:
    """The models; with `only_tracks` (dense indices) and `only_users` (ids), the lists of
    other tracks and users may be left out: the evaluation needs those of its cases alone."""
    n_tracks = len(tracks)
    fitted = Fitted(
        top=top_tracks(listens, n_tracks, options.top_n),
        top_by_plays=top_by_plays(listens, n_tracks, options.top_n),
    )
    als: ALSModel | None = fit_als(listens, options.als) if needs_als(options) else None
    if "i2i" in options.models:
        similar = None
        if als is not None and needs_als_similar(options):
            similar = als.similar(n_tracks, options.i2i.n, only_tracks)
        fitted.i2i = fit_i2i(
            listens, tracks, options.i2i, similar, options.i2i_methods, only_tracks
        )
    if "users" in options.models:
        fitted.users = user_lists(listens, tracks, options, als, only_users)
    return fitted


def user_lists(
    listens: Listens,
    tracks: Tracks,
    options: Options,
    als: ALSModel | None,
    only_users: np.ndarray | None,
) -> UserLists | None:
    """The per-user model's lists, by `options.users_method`."""
    if options.users_method == "enjoyed":
        return UserLists(*enjoyed_lists(listens, options.users_n, options.enjoyed, only_users))
    if options.users_method == "features":
        lists = feature_lists(
            listens,
            tracks.artists,
            tracks.genres,
            options.enjoyed,
            options.features,
            options.users_n,
            only_users,
        )
        return UserLists(*lists)
    if als is None:
        return None
    return UserLists(*als.recommend(options.users_n, options.exclude_seen, only_users))
