"""How each arm was served, and what the log lost: the report's account of the service itself.

From the fields botify adds to each event (botify.events): `recommender` (the chain link that
answered), `failed` (the links before it that raised or answered no catalog track) and
`data_version`; and from the `lost_events.ndjson` files the event log writes beside itself
when it had to give up on events or deleted its oldest backup at a rotation (botify.eventlog).
An arm whose own recommender failed, or answered under half of its requests, was judged on its
fallbacks: the report says so on top, as it does when the data changed during the experiment or
events were lost (written or rotated away).

The "own" recommender of an arm is the first link of its chain, known only from the service's
config (`botify ab --config`); without it the failures are still reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from botify.config import Config
from offline.logs.errors import InputError
from offline.logs.losses import find_loss_records
from offline.logs.reading import event_schema, time_span

SERVING_FIELDS = event_schema(["recommender", "failed", "data_version"])
OWN_SHARE_BELOW = 0.5  # an arm whose own recommender answers less than this was its fallbacks'


@dataclass
class Serving:
    # per arm and link: requests (the arm's /next events), answered, failed
    links: pl.DataFrame
    # per data version: events, first and last timestamp (ms)
    versions: pl.DataFrame
    own: dict[str, str]  # arm -> its chain's first link, when the config was given
    lost: list[dict] = field(default_factory=list)  # every loss record of the folders read
    span: tuple[int, int] = (0, 0)  # the events' first and last timestamps (ms)
    warnings: list[str] = field(default_factory=list)

    @property
    def lost_events(self) -> int:
        """Events the log lost, written or rotated away."""
        return sum(int(record["lost"]) for record in self.lost)

    @property
    def write_losses(self) -> list[dict]:
        return [record for record in self.lost if not rotated(record)]

    @property
    def rotations(self) -> list[dict]:
        return [record for record in self.lost if rotated(record)]


def rotated(record: dict) -> bool:
    """A record of a backup deleted at rotation (botify.eventlog), not of a failed write."""
    return record.get("reason") == "rotated"


def own_links(config: Config, experiment: str) -> dict[str, str]:
    """Each arm's first chain link, as the service names links, from the config that served the
    experiment (its routing experiment when it is an A/A logged alongside)."""
    from botify.data import DataView
    from botify.experiments import build_experiments

    experiments = build_experiments(config, DataView(None))
    named = {e.name: e for e in experiments.declared}
    routing = experiments.routing
    chosen = named.get(experiment)
    if chosen is None:
        raise InputError(f"--config {config.source}: declares no experiment {experiment!r}")
    source = chosen if chosen.chains is not None else routing
    assert source.chains is not None
    if source is routing and chosen is not routing:
        # An experiment logged alongside: every arm is served by the routing experiment's
        # chains, whichever arm of it the user is in; only a single-chain routing is clear.
        if len(source.chains) != 1:
            return {}
        (chain,) = source.chains.values()
        return {arm: chain.links[0].name for arm in chosen.arms}
    return {arm: chain.links[0].name for arm, chain in source.chains.items()}


def link_counts(events: pl.DataFrame) -> pl.DataFrame:
    """LINKS (offline.report.aggregate) of `events`: the experiment's events with `arm` and the
    SERVING_FIELDS."""
    nexts = events.filter(pl.col("message") == "next")
    requests = nexts.group_by("arm").len("requests")
    answered = nexts.group_by("arm", pl.col("recommender").alias("link")).len("answered")
    failed = (
        nexts.select("arm", pl.col("failed").alias("link"))
        .explode("link")
        .drop_nulls("link")
        .group_by("arm", "link")
        .len("failed")
    )
    return (
        answered.join(failed, on=["arm", "link"], how="full", coalesce=True)
        .join(requests, on="arm")
        .with_columns(pl.col("answered", "failed").fill_null(0))
        .select("arm", "link", "requests", "answered", "failed")
        .sort("arm", "link", nulls_last=True)
    )


def merge_links(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """link_counts of all the events, from link_counts of parts of them (no event in two)."""
    requests = (
        pl.concat([part.unique("arm").select("arm", "requests") for part in parts])
        .group_by("arm")
        .agg(pl.col("requests").sum())
    )
    return (
        pl.concat(parts)
        .group_by("arm", "link")
        .agg(pl.col("answered").sum(), pl.col("failed").sum())
        .join(requests, on="arm")
        .select("arm", "link", "requests", "answered", "failed")
        .sort("arm", "link", nulls_last=True)
    )


def version_counts(events: pl.DataFrame) -> pl.DataFrame:
    """VERSIONS (offline.report.aggregate) of `events`."""
    return (
        events.group_by("data_version")
        .agg(
            events=pl.len(),
            first_ms=pl.col("timestamp").min(),
            last_ms=pl.col("timestamp").max(),
        )
        .sort("first_ms")
    )


def merge_versions(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """version_counts of all the events, from version_counts of parts of them."""
    return (
        pl.concat(parts)
        .group_by("data_version")
        .agg(pl.col("events").sum(), pl.col("first_ms").min(), pl.col("last_ms").max())
        .sort("first_ms")
    )


def serving_of(
    links: pl.DataFrame,
    versions: pl.DataFrame,
    lost: list[dict],
    span: tuple[int, int],
    own: dict[str, str] | None = None,
) -> Serving:
    """The account from the aggregation's LINKS and VERSIONS, the loss records and the events'
    span. Every loss record counts, wherever it falls in time: events lost after the last
    logged line (a disk that filled and stayed full) are answered events the report cannot see
    as much as those lost within the span."""
    serving = Serving(links, versions, own or {}, lost, span)
    serving.warnings = warnings(serving)
    return serving


def account(
    events: pl.DataFrame, log_files: list[Path], own: dict[str, str] | None = None
) -> Serving:
    """`events`: the experiment's events with `arm` and the SERVING_FIELDS."""
    return serving_of(
        link_counts(events),
        version_counts(events),
        find_loss_records(log_files),
        time_span(events),
        own,
    )


def warnings(serving: Serving) -> list[str]:
    said = []
    for arm, link, requests, _, failed in serving.links.iter_rows():
        if failed and link is not None:
            said.append(
                f"arm {arm}: link `{link}` failed on {failed:,} of {requests:,} requests "
                f"({failed / requests:.0%}): it raised or answered no track of the catalog, and "
                "the next links of the chain answered instead"
            )
    for arm, own in serving.own.items():
        rows = serving.links.filter((pl.col("arm") == arm) & (pl.col("link") == own))
        requests = serving.links.filter(pl.col("arm") == arm)["requests"]
        total = int(requests[0]) if len(requests) else 0
        answered = int(rows["answered"].sum()) if rows.height else 0
        if total and answered / total < OWN_SHARE_BELOW:
            said.append(
                f"arm {arm}: its own recommender `{own}` answered {answered:,} of {total:,} "
                f"requests ({answered / total:.0%}), less than half: this arm was judged on its "
                "fallbacks"
            )
    known = serving.versions.filter(pl.col("data_version").is_not_null())
    if known.height > 1:
        said.append(
            f"the data changed during the experiment: {known.height} data versions "
            f"({', '.join(known['data_version'])}); see 'Data versions' below"
        )
    losses = serving.write_losses
    if losses:
        errors = sorted({str(record.get("error", "")) for record in losses})
        said.append(
            f"the service's event log lost {sum(int(r['lost']) for r in losses):,} events "
            f"({when_lost(losses, serving.span)}; {'; '.join(errors)}; recorded in "
            f"{', '.join(sorted({r['file'] for r in losses}))}): the report cannot see them"
        )
    for record in still_failing(losses, serving.span):
        said.append(
            f"the event log beside {record['file']} was still failing ({record.get('error', '')}) "
            f"when its last loss record was made, at {_when(int(record['recorded_at']))}: the "
            "events answered after that are unknown (lost, and not counted here)"
        )
    rotations = serving.rotations
    if rotations:
        backups = sorted({str(record.get("log_backups", "?")) for record in rotations})
        first = min(int(record["from_timestamp"]) for record in rotations)
        last = max(int(record["to_timestamp"]) for record in rotations)
        said.append(
            f"{sum(int(r['lost']) for r in rotations):,} events rotated away (log_backups "
            f"{', '.join(backups)}) between {_when(first)} and {_when(last)}: the log's oldest "
            f"files were deleted before this report read them (recorded in "
            f"{', '.join(sorted({r['file'] for r in rotations}))}); a larger log_backups keeps "
            "them"
        )
    return said


def still_failing(losses: list[dict], span: tuple[int, int]) -> list[dict]:
    """Per loss file, its newest record when it says the log was still failing and no logged
    event came after it (botify.eventlog records losses on a disk that stays full in the space
    it set aside, saying so)."""
    newest: dict[str, dict] = {}
    for record in losses:
        if "recorded_at" not in record:
            continue
        kept = newest.get(record["file"])
        if kept is None or int(record["recorded_at"]) >= int(kept["recorded_at"]):
            newest[record["file"]] = record
    return [
        record
        for record in newest.values()
        if record.get("still_failing") and int(record["recorded_at"]) > span[1]
    ]


def when_lost(losses: list[dict], span: tuple[int, int]) -> str:
    """How many of the lost events fell before, within and after the logged span."""
    first, last = span
    parts = {"before": 0, "within": 0, "after": 0}
    for record in losses:
        if int(record["to_timestamp"]) < first:
            parts["before"] += int(record["lost"])
        elif int(record["from_timestamp"]) > last:
            parts["after"] += int(record["lost"])
        else:
            parts["within"] += int(record["lost"])
    said = [f"{count:,} {where}" for where, count in parts.items() if count]
    return ", ".join(said) + " the logged span"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
