"""`botify train --engine spark`: the same files from logs of any size, trained in Spark.

The steps of offline.learn.train, each on Spark: listens (offline.learn.spark_listens, counted as
the one-machine path counts them), the evaluation (the last --holdout share of sessions by start
held out whole; the cases, a seeded sample of --max-cases at most, scored on the driver by
offline.learn.evaluation's own code), then the models on all listens (offline.learn.spark_models)
written by train's own Staging and meta: `top_tracks.json`, `i2i.json`, `users.json`, their
`.meta.json` and `botify_data.json`, which `botify load` takes as it takes the one-machine files.

What Spark trains: top tracks; item-to-item `next`, `session` and their `blend` (the one-machine
blend also fuses the `catalog` and `als` components, which stay one-machine models: this blend's
weights are --weights' next and session, 1 and 1 by default, and the run says so); per-user ALS
(pyspark.ml). Options of the one-machine models alone (--users enjoyed/features, --i2i
catalog/als/affinity, --exclude-seen, a weight on catalog or als) are refused, not ignored.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import ujson

from offline.learn.evaluation import Score, for_global, for_items, for_users, print_scores, score
from offline.learn.output import Staging, list_lines
from offline.learn.spark_listens import read_spark_listens
from offline.learn.spark_models import (
    SPARK_COMPONENTS,
    SPARK_METHODS,
    fit_als,
    item_lists,
    top_by_plays,
    top_tracks,
    user_lists,
)
from offline.learn.tracks import Tracks, load_tracks
from offline.logs.errors import InputError
from offline.logs.spark_session import spark_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BASELINE = "TopPop (plays)"  # offline.learn.train's


def check_options(args: argparse.Namespace) -> dict[str, float]:
    """Refuses what Spark does not train; returns the blend's weights."""
    refused = []
    if args.users != "als":
        refused.append(f"--users {args.users}")
    if args.i2i not in ("auto", *SPARK_METHODS):
        refused.append(f"--i2i {args.i2i}")
    if args.exclude_seen:
        refused.append("--exclude-seen")
    weights = {name: 1.0 for name in SPARK_COMPONENTS}
    if args.weights is not None:
        others = [name for name, weight in args.weights.items() if weight and name not in weights]
        if others:
            refused.append(f"--weights on {', '.join(others)}")
        weights = {name: args.weights.get(name, 0.0) for name in SPARK_COMPONENTS}
        if not any(weights.values()):
            refused.append("--weights without next or session")
    if refused:
        raise InputError(
            f"{'; '.join(refused)}: not trained with --engine spark, which trains top tracks, "
            f"item-to-item {', '.join(SPARK_METHODS)} and per-user ALS (use --engine polars)"
        )
    return weights


def split(listens: DataFrame, holdout: float) -> tuple[DataFrame, DataFrame]:
    """(train, test): the sessions that start in the last `holdout` share of sessions are
    test, ties by user and session number, as evaluation.split orders them."""
    from pyspark.sql import functions as F

    sessions = listens.groupBy("user", "session").agg(F.min("timestamp").alias("start"))
    count = sessions.count()
    n_test = int(round(count * holdout))
    if not n_test:
        return listens, listens.limit(0)
    order = ["start", "user", "session"]
    first = sessions.orderBy(*order).offset(count - n_test).first()
    assert first is not None
    key = F.struct(*[F.col(name) for name in order])
    cut = F.struct(*[F.lit(first[name]).cast("bigint").alias(name) for name in order])
    held = sessions.filter(key >= cut)
    return (
        listens.join(held, ["user", "session"], "left_anti"),
        listens.join(held.select("user", "session"), ["user", "session"], "left_semi"),
    )


def cases(test: DataFrame, relevant: float, limit: int, seed: int) -> tuple[np.ndarray, ...]:
    """(user, anchor, target) of the held-out listens heard enough after another listen; beyond
    `limit`, a seeded sample of that many."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    step = Window.partitionBy("user", "session").orderBy("position")
    found = test.select(
        "user",
        "session",
        "position",
        F.lag("track").over(step).alias("anchor"),
        F.col("track").alias("target"),
        (
            (F.col("position") == F.lag("position").over(step) + 1) & (F.col("time") >= relevant)
        ).alias("case"),
    ).filter("case")
    if found.count() > limit:
        draw = F.xxhash64(F.lit(seed), "user", "session", "position")
        found = found.orderBy(draw).limit(limit)
    table = found.orderBy("user", "session", "position").toArrow()
    return tuple(table.column(name).to_numpy() for name in ("user", "anchor", "target"))


def per_user(model, users: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted user ids, (users, n) dense indices) of the ALS lists of `users`."""
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    assert spark is not None
    frame = spark.createDataFrame([(int(u),) for u in np.unique(users)], "user long")
    rows = user_lists(model, frame.selectExpr("cast(user as int) as user"), n).collect()
    rows.sort(key=lambda row: row["user"])
    lists = np.full((len(rows), n), -1, dtype=np.int64)
    for number, row in enumerate(rows):
        lists[number, : len(row["tracks"])] = row["tracks"]
    return np.array([row["user"] for row in rows], dtype=np.int64), lists


def evaluate(
    listens: DataFrame, tracks: Tracks, args: argparse.Namespace, weights: dict[str, float]
) -> list[Score] | None:
    train, test = split(listens, args.holdout)
    user, anchor, target = cases(test, args.relevant, args.max_cases, args.seed)
    if not len(target):
        return None
    train = train.persist()
    k, held = args.k, len(target)
    scores = [score(BASELINE, for_global(top_by_plays(train, args.top_n), held, k), target, k)]
    if "top" in models_of(args):
        ranked = for_global(top_tracks(train, args.top_n), held, k)
        scores.append(score("top_tracks (listened time)", ranked, target, k))
    if "i2i" in models_of(args):
        lists = item_lists(
            train,
            len(tracks),
            args.i2i_n,
            SPARK_METHODS,
            weights,
            args.window,
            args.decay,
            args.prior,
        )
        for method, found in lists.items():
            scores.append(score(f"i2i {method}", for_items(found, anchor), target, k))
    if "users" in models_of(args):
        ids, found = per_user(fit_als(train, als_params(args)), user, args.users_n)
        scores.append(score("users (ALS)", for_users(ids, found, user), target, k))
    train.unpersist()
    return scores


def models_of(args: argparse.Namespace) -> tuple[str, ...]:
    from offline.learn.models import MODELS

    return tuple(m for m in MODELS if any(m in group for group in (args.model or [MODELS])))


def als_params(args: argparse.Namespace):
    from offline.learn.als import ALSParams

    return ALSParams(
        factors=args.factors,
        iterations=args.iterations,
        regularization=args.regularization,
        alpha=args.alpha,
        seed=args.seed,
        threads=0,
    )


def user_lines(model, tracks: Tracks, n: int, rows: list[int]):
    """JSON lines {"user", "tracks"} of every user the model knows, by user id, streamed."""
    found = user_lists(model, None, n).orderBy("user")
    for row in found.toLocalIterator():
        if row["tracks"]:
            rows[0] += 1
            yield ujson.dumps({"user": row["user"], "tracks": tracks.ids[row["tracks"]].tolist()})
            yield "\n"


def run_spark(args: argparse.Namespace) -> int:
    from offline.learn.train import FILES, data_section, meta

    weights = check_options(args)
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        phases[name] = time.perf_counter() - started - sum(phases.values())

    tracks = load_tracks(args.catalog)
    spark = spark_session(args.master, dict(args.conf or []))
    lap("starting Spark")
    arm = None if args.experiment is None else (args.experiment, args.arm)
    listens, account = read_spark_listens(
        spark, args.logs, tracks, args.max_bad_lines, args.max_unknown_tracks, arm
    )
    listens = listens.persist()
    print(f"botify train: {account.summary()}")
    print(
        "botify train: --engine spark: item-to-item blend of "
        + " and ".join(f"{name} (weight {weights[name]:g})" for name in SPARK_COMPONENTS)
        + "; the catalog and als components are --engine polars' alone"
    )
    lap("reading")
    scores = evaluate(listens, tracks, args, weights) if args.holdout > 0 else None
    lap("evaluation")
    print_scores(scores, args.holdout, args.relevant, args.k)
    method = args.i2i
    if method == "auto":
        by_name = {s.model: s for s in scores or [] if s.model.startswith("i2i ")}
        method = (
            max(SPARK_METHODS, key=lambda m: (by_name[f"i2i {m}"].ndcg, m == "blend"))
            if by_name
            else "blend"
        )
    models = models_of(args)
    staging = Staging(args.out)
    try:
        rows = write_models(staging, listens, tracks, args, weights, method, models)
        lap("training and writing")
        parameters = {
            "top": {"top_n": args.top_n, "weight": "listened fraction", "engine": "spark"},
            "i2i": {
                "method": method,
                "engine": "spark",
                "n": args.i2i_n,
                "window": args.window,
                "decay": args.decay,
                "prior": args.prior,
                "weights": weights,
            },
            "users": {
                "method": "als",
                "engine": "spark (pyspark.ml ALS)",
                "users_n": args.users_n,
                "als": {k: v for k, v in asdict(als_params(args)).items() if k != "threads"},
            },
        }
        for model in models:
            staging.write_json(
                FILES[model].replace(".json", ".meta.json"),
                meta(model, args, account, tracks, parameters[model], scores, rows[model]),
            )
        staging.write_json("botify_data.json", data_section(args.out, tracks, models))
        done = staging.commit()
    except BaseException:
        staging.abort()
        raise
    listens.unpersist()
    if "i2i" in models:
        print(f"botify train: item-to-item method written: {method}")
    took = ", ".join(f"{name} {seconds:.1f}" for name, seconds in phases.items())
    print(
        f"botify train: wrote {', '.join(p.name for p in done)} to {args.out}/ in "
        f"{time.perf_counter() - started:.1f} s ({took})"
    )
    return 0


def write_models(
    staging: Staging,
    listens: DataFrame,
    tracks: Tracks,
    args: argparse.Namespace,
    weights: dict[str, float],
    method: str,
    models: tuple[str, ...],
) -> dict[str, int]:
    """Each model trained on all listens and its file staged; returns rows per model."""
    from offline.learn.train import FILES

    rows: dict[str, int] = {}
    if "top" in models:
        chart = top_tracks(listens, args.top_n)
        staging.write_text(FILES["top"], ["[" + ", ".join(map(str, tracks.ids[chart])) + "]\n"])
        rows["top"] = len(chart)
    if "i2i" in models:
        lists = item_lists(
            listens,
            len(tracks),
            args.i2i_n,
            (method,),
            weights,
            args.window,
            args.decay,
            args.prior,
        )[method]
        lines = list_lines("track", "recommendations", tracks.ids, lists, tracks.ids)
        staging.write_text(FILES["i2i"], lines)
        rows["i2i"] = int((lists[:, 0] >= 0).sum())
    if "users" in models:
        counter = [0]
        model = fit_als(listens, als_params(args))
        staging.write_text(FILES["users"], user_lines(model, tracks, args.users_n, counter))
        rows["users"] = counter[0]
    return rows
