"""The models of `botify train --engine spark`, on listens in Spark (offline.learn.spark_listens).

Where a model is an aggregation over listens, it is the one-machine model in Spark SQL, with the
same scores and the same order (score, then the lower dense track index):
- top tracks by listened time, and TopPop by plays (offline.learn.popularity);
- item-to-item `next` (offline.learn.item2item: the shrunk mean listened fraction of observed
  transitions, less the average), `session` (co-occurrence up to `window` listens apart, both
  ways, weighted by both fractions and `decay` per extra step) and their `blend` (weighted
  reciprocal rank fusion over the top 2n, then the `next` veto, then n);
- per-user ALS by Spark's own `pyspark.ml.recommendation.ALS` with implicit preferences (the
  preference a user's summed listened fraction of a track, as offline.learn.als gives
  `implicit`): factors -> rank, iterations -> maxIter, regularization -> regParam, alpha, seed.
  Spark's regParam is scaled by each user's and track's number of ratings (ALS-WR), implicit's
  is not: the same number regularises differently (offline/learn/TRAINING.md measures both).
Lists come back to the driver as the one-machine models' arrays (dense indices padded with -1):
a chart, one list per catalog track; per-user lists are streamed (spark_train).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from offline.learn.als import ALSParams
from offline.learn.ranking import PAD
from offline.logs.errors import InputError

if TYPE_CHECKING:
    from pyspark.ml.recommendation import ALSModel
    from pyspark.sql import Column, DataFrame

# The item-to-item methods computed in Spark, and the blend's components among them.
SPARK_COMPONENTS = ("next", "session")
SPARK_METHODS = (*SPARK_COMPONENTS, "blend")
RRF_OFFSET = 10.0  # offline.learn.ranking.reciprocal_rank_fusion's
INT32 = 2**31 - 1


def chart(listens: DataFrame, score: Column, limit: int) -> np.ndarray:
    """Dense track indices with a positive `score` summed over their listens, best first."""
    from pyspark.sql import functions as F

    scored = listens.groupBy("track").agg(score.alias("score")).filter("score > 0")
    rows = scored.orderBy(F.desc("score"), "track").limit(limit).collect()
    return np.array([r["track"] for r in rows], dtype=np.int64)


def top_tracks(listens: DataFrame, limit: int) -> np.ndarray:
    from pyspark.sql import functions as F

    return chart(listens, F.sum("time"), limit)


def top_by_plays(listens: DataFrame, limit: int) -> np.ndarray:
    from pyspark.sql import functions as F

    return chart(listens, F.count("*").cast("double"), limit)


def top_n(pairs: DataFrame, n: int, score: str = "score") -> DataFrame:
    """Each `a`'s n `b` of highest positive score (ties: lower b first), with their rank 0..."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("a").orderBy(F.desc(score), "b")
    ranked = pairs.filter((F.col(score) > 0) & (F.col("a") != F.col("b")))
    ranked = ranked.withColumn("rank", F.row_number().over(order) - 1)
    return ranked.filter(F.col("rank") < n).select("a", "b", "rank")


def lists_of(ranked: DataFrame, n_tracks: int, n: int) -> np.ndarray:
    """(n_tracks, n) dense indices from rows (a, b, rank)."""
    out = np.full((n_tracks, n), PAD, dtype=np.int64)
    table = ranked.toArrow()
    a, b, rank = (table.column(name).to_numpy() for name in ("a", "b", "rank"))
    out[a, rank] = b
    return out


def in_session_order(listens: DataFrame) -> DataFrame:
    """The listens with `row`: their place among the session's listens kept (item2item steps
    by listens, not by logged positions)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    return listens.withColumn(
        "row", F.row_number().over(Window.partitionBy("user", "session").orderBy("position"))
    )


def next_evidence(listens: DataFrame, prior: float) -> tuple[DataFrame, float]:
    """Pairs (a, b, lift) of observed transitions, and the average transition's fraction."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    step = Window.partitionBy("user", "session").orderBy("position")
    moves = listens.select(
        F.lag("track").over(step).alias("a"),
        F.col("track").alias("b"),
        "time",
        (F.col("position") == F.lag("position").over(step) + 1).alias("follows"),
    ).filter("follows")
    average = moves.agg(F.avg("time")).first()[0]  # type: ignore[index]
    if average is None:
        return moves.select("a", "b", F.lit(0.0).alias("lift")).limit(0), 0.0
    pairs = moves.groupBy("a", "b").agg(F.sum("time").alias("sum"), F.count("*").alias("count"))
    lift = (F.col("sum") + prior * average) / (F.col("count") + prior) - average
    # keep "exactly average" stored and not positive, as item2item does
    lift = F.when(lift == 0, F.lit(-1e-12)).otherwise(lift)
    return pairs.select("a", "b", lift.alias("lift")), float(average)


def session_pairs(listens: DataFrame, window: int, decay: float) -> DataFrame:
    """Pairs (a, b, score): listens up to `window` apart in a session, both ways."""
    from pyspark.sql import functions as F

    rows = in_session_order(listens).select("user", "session", "row", "track", "time")
    gaps = F.explode(F.sequence(F.lit(1), F.lit(window))).alias("gap")
    # Each listen meets the ones 1..window rows before it: its row less the gap is theirs.
    later = rows.select(
        "user", "session", "row", F.col("track").alias("b"), F.col("time").alias("time_b"), gaps
    ).withColumn("row", F.col("row") - F.col("gap"))
    joined = rows.join(later, ["user", "session", "row"])
    weight = F.col("time") * F.col("time_b") * F.pow(F.lit(decay), F.col("gap") - 1)
    one_way = joined.select(F.col("track").alias("a"), "b", weight.alias("w")).filter("w > 0")
    both = one_way.unionByName(one_way.select(F.col("b").alias("a"), F.col("a").alias("b"), "w"))
    return both.groupBy("a", "b").agg(F.sum("w").alias("score"))


def item_lists(
    listens: DataFrame,
    n_tracks: int,
    n: int,
    methods: tuple[str, ...],
    weights: dict[str, float],
    window: int,
    decay: float,
    prior: float,
) -> dict[str, np.ndarray]:
    """The lists of `methods` (of SPARK_METHODS), (n_tracks, n) each."""
    from pyspark.sql import functions as F

    wanted = set(methods)
    if "blend" in wanted:
        wanted |= {name for name in SPARK_COMPONENTS if weights.get(name)}
    ranked: dict[str, DataFrame] = {}
    evidence, average = next_evidence(listens, prior)
    if "next" in wanted:
        ranked["next"] = top_n(evidence.withColumnRenamed("lift", "score"), n)
    if "session" in wanted:
        ranked["session"] = top_n(session_pairs(listens, window, decay), n)
    for frame in ranked.values():
        frame.persist()
    lists = {name: lists_of(frame, n_tracks, n) for name, frame in ranked.items()}
    if "blend" in wanted:
        parts = [
            ranked[name].select(
                "a", "b", (weights[name] / (RRF_OFFSET + F.col("rank") + 1)).alias("v")
            )
            for name in SPARK_COMPONENTS
            if weights.get(name)
        ]
        fused = parts[0]
        for part in parts[1:]:
            fused = fused.unionByName(part)
        fused = top_n(fused.groupBy("a", "b").agg(F.sum("v").alias("score")), 2 * n)
        vetoed = evidence.filter(F.col("lift") < -0.5 * average).select("a", "b")
        kept = fused.join(vetoed, ["a", "b"], "left_anti").withColumn("score", -F.col("rank"))
        lists["blend"] = lists_of(top_n_any(kept, n), n_tracks, n)
    for frame in ranked.values():
        frame.unpersist()
    return {name: lists[name] for name in methods}


def fused_value(weight: float) -> Column:
    """A list's share of an item's fused score: weight / (offset + rank), rank from 1."""
    from pyspark.sql import functions as F

    return (weight / (RRF_OFFSET + F.col("rank") + 1)).alias("v")


def top_n_any(pairs: DataFrame, n: int) -> DataFrame:
    """Each `a`'s first n `b` by `score` (any sign) then b: the blend's order after the veto."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("a").orderBy(F.desc("score"), "b")
    ranked = pairs.withColumn("rank", F.row_number().over(order) - 1)
    return ranked.filter(F.col("rank") < n).select("a", "b", "rank")


def fit_als(listens: DataFrame, params: ALSParams) -> ALSModel:
    """Spark's ALS on users x tracks, the preference the summed listened fraction."""
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    ratings = listens.groupBy("user", "track").agg(F.sum("time").alias("rating"))
    ratings = ratings.filter("rating > 0")
    low, high = ratings.agg(F.min("user"), F.max("user")).first()  # type: ignore[misc]
    if low is not None and (low < -INT32 - 1 or high > INT32):
        raise InputError(
            f"user ids from {low} to {high}: Spark's ALS takes 32-bit ids only "
            "(train per-user lists with --engine polars)"
        )
    als = ALS(
        rank=params.factors,
        maxIter=params.iterations,
        regParam=params.regularization,
        alpha=params.alpha,
        seed=params.seed,
        implicitPrefs=True,
        userCol="user",
        itemCol="track",
        ratingCol="rating",
        coldStartStrategy="drop",
    )
    return als.fit(ratings)


def user_lists(model: ALSModel, users: DataFrame | None, n: int) -> DataFrame:
    """Rows (user, tracks: dense indices best first) for `users` (a frame with `user`), or for
    every user the model knows."""
    from pyspark.sql import functions as F

    found = (
        model.recommendForAllUsers(n) if users is None else model.recommendForUserSubset(users, n)
    )
    return found.select("user", F.col("recommendations.track").alias("tracks"))
