"""`botify train LOG... --catalog PATH --out DIR`: learn the files that botify loads from its event
logs and the catalog.

Writes into DIR, each beside a `<name>.meta.json` (the logs it learned from, what was skipped,
the parameters, the offline evaluation):
- `top_tracks.json`: a JSON array of track ids, most listened first;
- `i2i.json`: item-to-item JSON lines {"track": id, "recommendations": [ids]};
- `users.json`: per-user JSON lines {"user": id, "tracks": [ids]};
- `botify_data.json`: the `data` section of a botify config naming them (sources "i2i", "als").

With `--experiment NAME --arm ARM` only that arm's events are read (the other arms' are counted
and left out before anything else): the data-diverted design, in which an arm's models learn
only from the traffic it served.

Before training on everything, the last --holdout share of sessions is held out and every model
trained on the rest is scored on it (hit rate and NDCG at --k) against TopPop; the table is
printed, and `--i2i auto` keeps the item-to-item method that scores best. Bad input (a catalog or
log that cannot be used, a bad option) ends with one line on stderr and exit status 2, and no
output file is touched.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from offline.learn.als import ALSParams
from offline.learn.artist_affinity import AffinityParams
from offline.learn.evaluation import (
    Score,
    cases,
    for_global,
    for_items,
    for_users,
    print_scores,
    score,
    split,
)
from offline.learn.feature_factors import FeatureParams
from offline.learn.item2item import COMPONENTS, DEFAULT_WEIGHTS, METHODS, I2IParams
from offline.learn.listens import Listens, LogAccount, read_listens
from offline.learn.models import MODELS, USER_METHODS, Fitted, Options, fit
from offline.learn.output import Staging, list_lines
from offline.learn.tracks import Tracks, load_tracks
from offline.logs.errors import InputError, run_command
from offline.logs.spark_session import DEFAULT_MASTER, conf_pair, master

FILES = {"top": "top_tracks.json", "i2i": "i2i.json", "users": "users.json"}
ITEM_SOURCE, USER_SOURCE = "i2i", "als"
BASELINE = "TopPop (plays)"
DEFAULT = Options()  # the models' parameters when no option names them


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message)  # one line naming the option, not argparse's usage block


def share(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(text)
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError(text)
    return value


def model_names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or any(name not in MODELS for name in names):
        raise ValueError(text)
    return names


def weights(text: str) -> dict[str, float]:
    parsed = {name: 0.0 for name in COMPONENTS}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in COMPONENTS or float(value) < 0:
            raise ValueError(text)
        parsed[name.strip()] = float(value)
    if not any(parsed.values()):
        raise ValueError(text)
    return parsed


share.__name__ = "share (0 <= x < 1)"
fraction.__name__ = "fraction (0..1)"
positive_int.__name__ = "positive integer"
non_negative.__name__ = "non-negative number"
model_names.__name__ = f"model list ({', '.join(MODELS)})"
weights.__name__ = f"weights (e.g. {','.join(f'{c}=1' for c in COMPONENTS)})"


def shown(kind: Callable[[str], Any], default: float, help: str = "") -> dict[str, Any]:
    """An option's type, default and help; the help ends with the default, as every option of
    this command shows it."""
    return {"type": kind, "default": default, "help": f"{help} ({default:g})".lstrip()}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="botify train",
        description="Learn top tracks, item-to-item and per-user recommendation files from "
        "botify's event logs and the catalog.",
    )
    parser.add_argument("logs", nargs="+", metavar="LOG", help="event log files or folders")
    parser.add_argument("--catalog", required=True, type=Path, help="the catalog (tracks.json)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    group = parser.add_argument_group("engine")
    group.add_argument(
        "--engine",
        choices=("polars", "spark"),
        default="polars",
        help="polars: this machine; spark: a Spark cluster, botify[spark] "
        "(offline/learn/spark_train.py) (polars)",
    )
    group.add_argument(
        "--master",
        type=master,
        default=DEFAULT_MASTER,
        help=f"--engine spark: local[N], spark://HOST:PORT or yarn ({DEFAULT_MASTER})",
    )
    group.add_argument(
        "--conf",
        type=conf_pair,
        action="append",
        metavar="spark.KEY=VALUE",
        help="--engine spark: a Spark setting, as spark-submit's --conf (repeatable)",
    )
    parser.add_argument(
        "--experiment", metavar="NAME", help="learn from one arm's traffic of NAME only ..."
    )
    parser.add_argument(
        "--arm",
        metavar="ARM",
        help="... this arm's (with --experiment): its models never read another arm's events",
    )
    parser.add_argument(
        "--model",
        type=model_names,
        action="append",
        metavar="NAME[,NAME]",
        help=f"models to train: {', '.join(MODELS)} (all)",
    )
    group = parser.add_argument_group("evaluation")
    held_out = "share of sessions held out, last by start time; 0 skips the evaluation"
    group.add_argument("--holdout", **shown(share, 0.2, held_out))
    relevant = "a held-out listen counts when at least this fraction was listened"
    group.add_argument("--relevant", **shown(fraction, 0.5, relevant))
    group.add_argument("--k", **shown(positive_int, 10, "list length scored"))
    sample = "score a seeded sample of this many held-out cases at most"
    group.add_argument("--max-cases", **shown(positive_int, 20_000, sample))
    group = parser.add_argument_group("top tracks")
    group.add_argument("--top-n", **shown(positive_int, DEFAULT.top_n, "tracks in the chart"))
    group = parser.add_argument_group("item-to-item")
    group.add_argument(
        "--i2i",
        choices=("auto", *METHODS),
        default="blend",
        help="method written: a component, their blend, or auto: the best offline (blend)",
    )
    group.add_argument("--i2i-n", **shown(positive_int, DEFAULT.i2i.n, "tracks per list"))
    window = "session component: listens apart that still count"
    group.add_argument("--window", **shown(positive_int, DEFAULT.i2i.window, window))
    decay = "session component: weight factor per extra step apart"
    group.add_argument("--decay", **shown(fraction, DEFAULT.i2i.decay, decay))
    prior = "next component: transitions' worth of the average as prior"
    group.add_argument("--prior", **shown(non_negative, DEFAULT.i2i.prior, prior))
    group.add_argument(
        "--weights",
        type=weights,
        default=None,
        help="blend weights per component ("
        + ",".join(f"{name}={weight:g}" for name, weight in DEFAULT_WEIGHTS.items())
        + "); a component left out weighs 0",
    )
    group = parser.add_argument_group("item-to-item affinity (--i2i affinity)")
    affinity = DEFAULT.i2i.affinity
    prior = "observations' worth of the mean of a pair's kind (genre-mates or not)"
    group.add_argument("--affinity-prior", **shown(non_negative, affinity.prior, prior))
    bonus = "spread of the Thompson draw of an artist pair never observed"
    group.add_argument("--affinity-bonus", **shown(non_negative, affinity.bonus, bonus))
    artists = "other artists merged into an artist's list"
    group.add_argument("--affinity-artists", **shown(positive_int, affinity.artists, artists))
    variants = "lists drawn per artist (at most one per track)"
    group.add_argument("--affinity-variants", **shown(positive_int, affinity.variants, variants))
    listener = "observations' worth of a listener's effect being none"
    group.add_argument(
        "--affinity-listener-prior", **shown(non_negative, affinity.listener_prior, listener)
    )
    group = parser.add_argument_group("per-user (ALS, also the i2i 'als' component)")
    group.add_argument(
        "--users",
        choices=USER_METHODS,
        default="als",
        help="per-user model: ALS, each user's enjoyed tracks, or the factorisation with item "
        "features (als)",
    )
    enjoyed = "--users enjoyed, features: the listened fraction that makes a listen enjoyed"
    group.add_argument("--enjoyed", **shown(fraction, DEFAULT.enjoyed, enjoyed))
    group.add_argument("--users-n", **shown(positive_int, DEFAULT.users_n, "tracks per user"))
    group.add_argument("--factors", **shown(positive_int, DEFAULT.als.factors))
    group.add_argument("--iterations", **shown(positive_int, DEFAULT.als.iterations))
    group.add_argument("--regularization", **shown(non_negative, DEFAULT.als.regularization))
    alpha = "confidence per listened track"
    group.add_argument("--alpha", **shown(non_negative, DEFAULT.als.alpha, alpha))
    group.add_argument(
        "--exclude-seen",
        action="store_true",
        help="leave out of a user's list the tracks they played",
    )
    features = DEFAULT.features
    epochs = "--users features: passes over the enjoyed listens (--factors: its dimensions)"
    group.add_argument("--epochs", **shown(positive_int, features.epochs, epochs))
    bpr = "--users features: L2 penalty of its BPR fit"
    group.add_argument("--bpr-regularization", **shown(non_negative, features.regularization, bpr))
    group.add_argument("--seed", **shown(int, DEFAULT.als.seed, "random seed"))
    group.add_argument("--threads", **shown(int, DEFAULT.als.threads, "ALS threads, 0: all cores"))
    group = parser.add_argument_group("bad input")
    bad_lines = "fail above this share of unusable log lines"
    group.add_argument("--max-bad-lines", **shown(share, 0.01, bad_lines))
    unknown = "fail above this share of events naming tracks outside the catalog"
    group.add_argument("--max-unknown-tracks", **shown(share, 0.01, unknown))
    args = parser.parse_args(argv)
    if (args.experiment is None) != (args.arm is None):
        raise InputError("--experiment and --arm go together (learn from one arm's traffic)")
    return args


def options_from(args: argparse.Namespace) -> Options:
    models = tuple(m for m in MODELS if any(m in group for group in (args.model or [MODELS])))
    i2i = I2IParams(
        n=args.i2i_n,
        window=args.window,
        decay=args.decay,
        prior=args.prior,
        weights=args.weights or dict(DEFAULT_WEIGHTS),
        affinity=AffinityParams(
            prior=args.affinity_prior,
            bonus=args.affinity_bonus,
            artists=args.affinity_artists,
            variants=args.affinity_variants,
            listener_prior=args.affinity_listener_prior,
            seed=args.seed,
        ),
    )
    # The ALS options are named as ALSParams' fields.
    als = ALSParams(**{param.name: getattr(args, param.name) for param in fields(ALSParams)})
    # The evaluation scores every method; the final fit makes only the one written.
    return Options(
        models,
        args.top_n,
        i2i,
        METHODS,
        als,
        args.users_n,
        users_method=args.users,
        enjoyed=args.enjoyed,
        features=FeatureParams(
            factors=args.factors,
            epochs=args.epochs,
            regularization=args.bpr_regularization,
            seed=args.seed,
        ),
        exclude_seen=args.exclude_seen,
    )


def evaluate(listens: Listens, tracks: Tracks, options: Options, args) -> list[Score] | None:
    """Each model trained on the sessions before the holdout, scored on the holdout."""
    train, test = split(listens, args.holdout)
    held = cases(test, args.relevant, args.max_cases, args.seed)
    if not len(train) or not len(held):
        return None
    fitted = fit(train, tracks, options, np.unique(held.anchor), np.unique(held.user))
    k = args.k
    scores = [score(BASELINE, for_global(fitted.top_by_plays, len(held), k), held.target, k)]
    if "top" in options.models:
        ranked = for_global(fitted.top, len(held), k)
        scores.append(score("top_tracks (listened time)", ranked, held.target, k))
    if fitted.i2i is not None:
        for method, lists in fitted.i2i.lists.items():
            scores.append(score(f"i2i {method}", for_items(lists, held.anchor), held.target, k))
    if fitted.users is not None:
        ranked = for_users(fitted.users.ids, fitted.users.lists, held.user)
        name = "ALS" if options.users_method == "als" else options.users_method
        scores.append(score(f"users ({name})", ranked, held.target, k))
    return scores


def chosen_method(args, scores: list[Score] | None) -> str:
    if args.i2i != "auto":
        return args.i2i
    if not scores:
        return "blend"
    by_name = {s.model: s for s in scores if s.model.startswith("i2i ")}
    return max(METHODS, key=lambda m: (by_name[f"i2i {m}"].ndcg, m == "blend"))


def meta(
    model: str,
    args,
    account: LogAccount,
    tracks: Tracks,
    parameters: dict,
    scores: list[Score] | None,
    rows: int,
) -> dict:
    def picked(s: Score) -> bool:
        prefix = {"top": "top_tracks", "i2i": "i2i", "users": "users"}[model]
        return s.model == BASELINE or s.model.startswith(prefix)

    evaluation = None
    if scores is not None:
        evaluation = {
            "holdout": args.holdout,
            "relevant": args.relevant,
            "k": args.k,
            "scores": [s.__dict__ for s in scores if picked(s)],
        }
    return {
        "model": model,
        "file": FILES[model],
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "logs": account.files,
        "log": asdict(account) | {"files": len(account.files)},
        "catalog": str(tracks.path),
        "catalog_tracks": len(tracks),
        "parameters": parameters,
        "rows": rows,
        "evaluation": evaluation,
    }


def write(
    staging: Staging, fitted: Fitted, tracks: Tracks, method: str, options: Options
) -> dict[str, int]:
    """The model files (staged); returns rows per model."""
    rows = {}
    if "top" in options.models:
        staging.write_text(FILES["top"], [_json_ids(tracks.ids[fitted.top]) + "\n"])
        rows["top"] = len(fitted.top)
    if fitted.i2i is not None:
        lists = fitted.i2i.method(method)
        keys = tracks.ids
        staging.write_text(
            FILES["i2i"], list_lines("track", "recommendations", keys, lists, tracks.ids)
        )
        rows["i2i"] = int((lists[:, 0] >= 0).sum())
    if fitted.users is not None:
        users, lists = fitted.users
        staging.write_text(FILES["users"], list_lines("user", "tracks", users, lists, tracks.ids))
        rows["users"] = int((lists[:, 0] >= 0).sum())
    return rows


def _json_ids(ids: np.ndarray) -> str:
    return "[" + ", ".join(map(str, ids.tolist())) + "]"


def data_section(
    out: Path, tracks: Tracks, models: tuple[str, ...], user_source: str = USER_SOURCE
) -> dict:
    """Sources: item `i2i`, users by the per-user method (`als`, `enjoyed` or `features`)."""
    folder = out.resolve()
    section: dict = {"catalog": str(tracks.path.resolve())}
    if "top" in models:
        section["top_tracks"] = str(folder / FILES["top"])
    section["item_recommendations"] = (
        {ITEM_SOURCE: str(folder / FILES["i2i"])} if "i2i" in models else {}
    )
    section["user_recommendations"] = (
        {user_source: str(folder / FILES["users"])} if "users" in models else {}
    )
    return section


def run(args: argparse.Namespace) -> int:
    if args.engine == "spark":
        from offline.learn.spark_train import run_spark

        return run_spark(args)
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        phases[name] = time.perf_counter() - started - sum(phases.values())

    options = options_from(args)
    tracks = load_tracks(args.catalog)
    arm = None if args.experiment is None else (args.experiment, args.arm)
    listens, account = read_listens(
        args.logs, tracks, args.max_bad_lines, args.max_unknown_tracks, arm
    )
    print(f"botify train: {account.summary()}")
    lap("reading")
    scores = evaluate(listens, tracks, options, args) if args.holdout > 0 else None
    lap("evaluation")
    print_scores(scores, args.holdout, args.relevant, args.k)
    method = chosen_method(args, scores)
    final_options = replace(options, i2i_methods=(method,))
    fitted = fit(listens, tracks, final_options)
    lap("training")
    depth = None if fitted.i2i is None else fitted.i2i.depth
    learned_affinity = None if fitted.i2i is None else fitted.i2i.affinity
    staging = Staging(args.out)
    try:
        rows = write(staging, fitted, tracks, method, final_options)
        parameters = {
            "top": {"top_n": options.top_n, "weight": "listened fraction"},
            "i2i": {
                "method": method,
                **asdict(options.i2i),
                "als": asdict(options.als),
                "learned_artist_depth": None if depth is None else depth.as_dict(),
                "learned_affinity": learned_affinity,
            },
            "users": {
                "method": options.users_method,
                "users_n": options.users_n,
                **{
                    "als": {"exclude_seen": options.exclude_seen, **asdict(options.als)},
                    "enjoyed": {"enjoyed": options.enjoyed},
                    "features": {"enjoyed": options.enjoyed, **asdict(options.features)},
                }[options.users_method],
            },
        }
        for model in final_options.models:
            staging.write_json(
                FILES[model].replace(".json", ".meta.json"),
                meta(model, args, account, tracks, parameters[model], scores, rows[model]),
            )
        section = data_section(args.out, tracks, final_options.models, options.users_method)
        staging.write_json("botify_data.json", section)
        written = staging.commit()
    except BaseException:
        staging.abort()
        raise
    lap("writing")
    if "i2i" in final_options.models:
        print(f"botify train: item-to-item method written: {method}")
    took = ", ".join(f"{name} {seconds:.1f}" for name, seconds in phases.items())
    print(
        f"botify train: wrote {', '.join(p.name for p in written)} to {args.out}/ in "
        f"{time.perf_counter() - started:.1f} s ({took})"
    )
    return 0


def main(argv: list[str]) -> int:
    return run_command("botify train", lambda: run(parse_args(argv)))
