"""The dashboard's charts, drawn on the server as SVG text: no chart library, nothing fetched.

- `effects_chart`: each metric's effect per treatment arm with two intervals, the course's
  fixed-horizon one (thick) and the always-valid one (thin, under it), coloured as botify ab's
  effects.png colours them (offline.report.charts: by the metric's good direction), the metrics
  of a family (offline.report.metrics.FAMILIES) on one x scale.
- `trajectory_chart`: a learning loop's effect on mean_time_per_session day by day with its
  interval, the day still running drawn hollow with its always-valid interval.

Every text drawn is escaped; the numbers themselves are in the page's tables (with their ids).
"""

from __future__ import annotations

import math
from html import escape

from offline.report.charts import BAD, COLOURS, GOOD, LEGEND, NOT_SIGNIFICANT, direction
from offline.report.metrics import FAMILIES, GOOD_DIRECTION

WIDTH = 760
LABEL = 190  # the left column: metric and arm names
RIGHT = 20
ROW = 22
AXIS = 34  # tick labels and the family's axis title


def known(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high]."""
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def limits(values: list[float]) -> tuple[float, float]:
    """A range holding 0 and every known value, padded by 5%."""
    shown = [0.0, *(v for v in values if known(v))]
    low, high = min(shown), max(shown)
    pad = 0.05 * (high - low) if high > low else 1.0
    return low - pad, high + pad


class Scale:
    def __init__(self, low: float, high: float, left: float, right: float) -> None:
        self.low, self.high, self.left, self.right = low, high, left, right

    def __call__(self, value: float) -> float:
        value = min(max(value, self.low), self.high)  # an unbounded interval runs to the edge
        return self.left + (value - self.low) / (self.high - self.low) * (self.right - self.left)


def text(x: float, y: float, content: str, size: int = 11, anchor: str = "start", **extra) -> str:
    attributes = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in extra.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{attributes}>'
        f"{escape(content)}</text>"
    )


def line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float, **extra) -> str:
    attributes = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in extra.items())
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
        f'stroke-width="{width}"{attributes}/>'
    )


def axis(scale: Scale, top: float, bottom: float, title: str) -> list[str]:
    parts = []
    for tick in nice_ticks(scale.low, scale.high):
        x = scale(tick)
        parts.append(line(x, top, x, bottom, "#e3e6e8", 1))
        parts.append(text(x, bottom + 13, f"{tick:+g}", 10, "middle", fill="#555"))
    parts.append(line(scale(0), top, scale(0), bottom, "#222", 1))
    parts.append(text((scale.left + scale.right) / 2, bottom + 27, title, 10, "middle"))
    return parts


def legend(y: float) -> list[str]:
    parts, x = [], LABEL
    for verdict in (GOOD, BAD, NOT_SIGNIFICANT):
        parts.append(line(x, y - 4, x + 18, y - 4, COLOURS[verdict], 5))
        parts.append(text(x + 23, y, LEGEND[verdict], 10))
        x += 175
    marks = [
        (line(LABEL, y + 12, LABEL + 18, y + 12, "#555", 5), "fixed-horizon interval (botify ab)"),
        (
            line(LABEL + 225, y + 12, LABEL + 243, y + 12, "#555", 1.5),
            "always-valid interval (safe to peek)",
        ),
    ]
    for mark, label in marks:
        parts.append(mark)
        start = LABEL + 23 if "fixed" in label else LABEL + 248
        parts.append(text(start, y + 16, label, 10))
    return parts


def effects_chart(effects: list[dict], control: str) -> str:
    """The effects table's rows (lab.dashboard.judge) as one SVG."""
    arms = list(dict.fromkeys(row["treatment"] for row in effects))
    by_key = {(row["treatment"], row["metric"]): row for row in effects}
    parts = legend(16)
    y = 46.0
    for family, metrics in FAMILIES.items():
        rows = [
            by_key[arm, metric] for metric in metrics for arm in arms if (arm, metric) in by_key
        ]
        columns = ("effect", "lower", "upper", "sequential_lower", "sequential_upper")
        scale = Scale(*limits([r[c] for r in rows for c in columns]), LABEL, WIDTH - RIGHT)
        top = y
        for metric in metrics:
            better = "higher" if GOOD_DIRECTION[metric] > 0 else "lower"
            parts.append(text(6, y + 14, f"{metric} ({better} is better)", 11, font_weight="600"))
            y += ROW
            for arm in arms:
                row = by_key.get((arm, metric))
                if row is None:
                    continue
                parts += effect_row(row, arm, control, scale, y)
                y += ROW
        parts += axis(scale, top, y, f"{family}: effect, % of the {control} mean")
        y += AXIS + 12
    height = y
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" font-family="sans-serif" role="img" '
        f'aria-label="effects against {escape(control)}">{"".join(parts)}</svg>'
    )


def effect_row(row: dict, arm: str, control: str, scale: Scale, y: float) -> list[str]:
    metric = row["metric"]
    parts = [text(LABEL - 8, y + 14, f"{arm} vs {control}", 11, "end")]
    effect = row["effect"] if known(row["effect"]) else math.nan
    colour = COLOURS[direction(metric, effect, bool(row["significant"]))]
    if known(row["lower"]) and known(row["upper"]):
        parts.append(line(scale(row["lower"]), y + 8, scale(row["upper"]), y + 8, colour, 6))
    low, high = row["sequential_lower"], row["sequential_upper"]
    decided = row["decision"] != "undecided"
    valid_colour = COLOURS[direction(metric, effect, decided)]
    low = low if known(low) else -math.inf
    high = high if known(high) else math.inf
    parts.append(line(scale(low), y + 16, scale(high), y + 16, valid_colour, 1.5))
    if known(effect):
        parts.append(f'<circle cx="{scale(effect):.1f}" cy="{y + 8}" r="3.5" fill="#111"/>')
    return parts


def trajectory_chart(rows: list[dict], metric: str) -> str:
    """Each day's effect (%) with its interval; the live day hollow, with its always-valid
    interval. `rows`: lab.dashboard.trajectory's."""
    height, top, bottom, left, right = 300, 40, 250, 70, WIDTH - RIGHT
    values = [r[k] for r in rows for k in ("effect", "lower", "upper")]
    low, high = limits(values)
    days = [r["day"] for r in rows]
    first, last = min(days, default=1), max(days, default=1)

    def x(day: int) -> float:
        span = max(last - first, 1)
        return left + 30 + (day - first) / span * (right - left - 60)

    def y(value: float) -> float:
        value = min(max(value, low), high)
        return bottom - (value - low) / (high - low) * (bottom - top)

    parts = [text(left, 22, f"{metric}: effect of T1 against C by day, % (interval)", 12)]
    for tick in nice_ticks(low, high):
        parts.append(line(left, y(tick), right, y(tick), "#e3e6e8", 1))
        parts.append(text(left - 6, y(tick) + 4, f"{tick:+g}", 10, "end", fill="#555"))
    parts.append(line(left, y(0), right, y(0), "#222", 1))
    previous = None
    for row in rows:
        cx = x(row["day"])
        live = row["status"] == "live"
        colour = COLOURS[direction(metric, row["effect"], bool(row["significant"]))]
        if known(row["lower"]) and known(row["upper"]):
            parts.append(line(cx, y(row["lower"]), cx, y(row["upper"]), colour, 3))
        if known(row["effect"]):
            if previous is not None:
                parts.append(
                    line(*previous, cx, y(row["effect"]), "#888", 1, stroke_dasharray="4 3")
                )
            previous = (cx, y(row["effect"]))
            fill = "#fff" if live else "#111"
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{y(row["effect"]):.1f}" r="4.5" fill="{fill}" '
                f'stroke="#111" stroke-width="1.5"/>'
            )
        label = f"day {row['day']}" + (" (live)" if live else "")
        parts.append(text(cx, bottom + 18, label, 10, "middle"))
    parts.append(
        text(
            left,
            bottom + 40,
            "judged days: botify ab's fixed-horizon interval; the live day (hollow): its "
            "always-valid interval so far",
            10,
            fill="#555",
        )
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" font-family="sans-serif" role="img" '
        f'aria-label="trajectory">{"".join(parts)}</svg>'
    )
