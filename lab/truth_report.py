"""The sections that `botify experiment --days N --truth` adds to RUN/report.md: each day's A/B
verdict against the true effect (lab.truth), and the ledger of predicted, measured and true
(lab.ledger). Every effect is in % of C's mean."""

from __future__ import annotations

import math


def interval(value: float, bounds: tuple[float, float] | list[float], form: str = "+.2f") -> str:
    low, high = bounds
    return f"{value:{form}} [{low:{form}}, {high:{form}}]"


def truth_section(rows: list[dict], training: str) -> str:
    covered = sum(r["covers"] for r in rows)
    widest = max(r["true_interval"][1] - r["true_effect"] for r in rows)
    lines = [
        "## The verdict against the truth",
        "",
        f"Training: {training} ({describe(training)}). Beside the A/B world, two counterfactual "
        "worlds with the same users, schedule and random streams, everyone on C and everyone "
        "on T1, each learning only from its own traffic (docs/truth.md). Effects on "
        "mean_time_per_session, the report's count, in % of C.",
        "",
        "| day | A/B effect % [interval] | true effect % [interval] | bias [interval] "
        "| covers | A/A within T1 % [interval] | A/A within T1 clean |",
        "|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['day']} | {interval(r['effect'], r['interval'])} | "
            f"{interval(r['true_effect'], r['true_interval'])} | "
            f"{interval(r['bias'], r['bias_interval'])} | {'yes' if r['covers'] else 'NO'} | "
            f"{interval(r['aa_arm_effect'], r['aa_arm_interval'])} | "
            f"{'yes' if r['aa_arm_clean'] else 'NO'} |"
        )
    lines += [
        "",
        f"The A/B's interval covered the true effect on {covered} of {len(rows)} days; the "
        f"true effect's interval is at most +-{widest:.2f} points wide.",
        "",
        "True effect: each user's mean_time_per_session in the world where everyone is on T1 "
        "against the same user's where everyone is on C (paired, delta-method interval). Bias: "
        "the A/B's effect less the true one, its interval adding both variances (conservative: "
        "the two share their users). A/A within T1: the day's A/A split of LOOP's T1 users "
        "only, both halves on T1's chain: clean while the A/B may be biased, since a shared "
        "training moves both halves alike.",
    ]
    return "\n".join(lines) + "\n"


def describe(training: str) -> str:
    if training == "isolated":
        return "T1's models learn only from T1's own logged traffic"
    return "T1's models learn from every day's whole log, C's traffic included"


def ledger_section(rows: list[dict]) -> str:
    entries = [r["ledger"] for r in rows if "ledger" in r]
    within = sum(e["prediction_within"] for e in entries)
    lines = [
        "## The ledger: predicted, measured, true",
        "",
        "| day | predicted T1 (sim) [interval] | DR [interval] | DR's ESS | measured T1 (sim) "
        "| true T1 (sim) | predicted / true - 1 | predicted effect % | measured effect % | "
        "true effect % | planned MDE % | planned power | verdict |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        e = r.get("ledger")
        if e is None:
            continue
        verdict = "significant" if e["measured_significant"] else "not significant"
        lines.append(
            f"| {r['day']} | {interval(e['predicted_T1_sim'], e['predicted_interval'], '.3f')} "
            f"| {interval(e['dr_T1_sim'], e['dr_interval'], '.3g')} | {e['dr_ess']:,.0f} "
            f"| {e['measured_T1_sim']:.3f} | {e['true_T1_sim']:.3f} | "
            f"{e['prediction_error']:+.1%} | {e['predicted_effect']:+.2f} | "
            f"{e['measured_effect']:+.2f} | {e['true_effect']:+.2f} | "
            f"{number(e['planned_mde'], '.2f')} | {number(e['planned_power'], '.0%')} | "
            f"{verdict} |"
        )
    lines += [
        "",
        f"The prediction was within 10% of the true level on {within} of {len(entries)} days.",
        "",
        "Predicted: the evening before, `botify ope`'s replay of the previous day's T1 "
        "requests over the day's T1 chain, its direct method (the reward model's mean listened "
        "fraction under the chain) through the log's session-length law (lab/ledger.py): mean "
        "session time, the simulator's count; beside it per-decision DR and the effective "
        "sample size of its session weights (ESS: how many logged sessions it really rests "
        "on). The predicted effect is in the report's count, (T1 - C) / (1 + C) with C's level "
        "of the previous day. Planned: `botify plan --expected-lift` for that effect at C's "
        "users per arm (RUN/plan.day<d>.md). "
        "Measured: the A/B's T1 arm and effect. True: the world "
        "where everyone is on T1, and the true effect.",
    ]
    return "\n".join(lines) + "\n"


def number(value: float, form: str) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:{form}}"
