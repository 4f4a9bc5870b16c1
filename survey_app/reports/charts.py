"""Server-side SVG charts of scores over time: pure functions returning SVG text (no Flask, no database).

Readable without colour: every point has a marker shape and a value label, bands are shaded in greys and
named at the right edge, a missed wave is a cross with its own label and a gap in the line, and a version
change that is not declared comparable is a dashed vertical rule with no line across it. Every chart carries
a `<title>` and a `<desc>` that say the whole series in words, for screen readers and for the PDF's text
layer. Only presentation attributes are used (no `style=`), so the SVG renders the same inline in a page
under a strict CSP and in WeasyPrint.

The caller gives every text already translated and formatted (values, dates, band names): the builder only
places them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

__all__ = [
    "ChartBand",
    "ChartLabels",
    "ChartPoint",
    "ScoreChart",
    "describe",
    "nice_ticks",
    "score_chart_svg",
    "wrap_words",
]

INK = "#1b1f24"
MUTED = "#5a6470"
BAND_FILLS = ("#eef1f4", "#dde2e8")
#: Rough width of one character at font size 10, to keep labels apart.
CHARACTER_WIDTH = 5.6
#: Where the title starts, the rough width of one of its characters (12, semi-bold) and its line height.
TITLE_LEFT, TITLE_CHARACTER_WIDTH, TITLE_LINE = 40, 7.0, 15
BAND_LABEL_CHARACTERS = 19
#: The legend's baseline below the x axis: just under the second row of wave labels (baseline at 28).
LEGEND_BELOW_AXIS = 42
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif"


@dataclass(frozen=True, slots=True)
class ChartBand:
    """A named range of the scale, shaded behind the line (inclusive bounds, as in the questionnaire)."""

    lower: float
    upper: float
    label: str


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One occasion: a score, or a gap (`value` None) with the reason in `note`."""

    when: dt.date
    label: str
    value: float | None = None
    value_text: str = ""
    band_text: str = ""
    wave: str | None = None
    note: str = ""
    estimated: bool = False
    breaks_before: bool = False


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """The fixed words of a chart, translated by the caller."""

    version_break: str = "version changed: not comparable"
    missed: str = "missed"
    not_scored: str = "completed, not scored"
    too_many_missing: str = "completed, not scored: too many items missing"
    not_asked: str = "completed, not asked because of earlier answers"
    no_scores: str = "No scores yet."
    scored: str = "scored"
    estimated: str = "estimated (items missing)"
    estimated_note: str = "estimated"


def plain_number(value: Decimal) -> str:
    """A number with a decimal point and no trailing zeros (for charts that are given no formatter)."""
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class ScoreChart:
    """Everything one chart shows; `number` writes the axis ticks in the chart's language."""

    title: str
    y_range: tuple[float, float]
    points: tuple[ChartPoint, ...]
    bands: tuple[ChartBand, ...] = ()
    cutoff: float | None = None
    cutoff_text: str = ""
    direction_text: str = ""
    labels: ChartLabels = field(default_factory=ChartLabels)
    number: Callable[[Decimal], str] = plain_number


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area in pixels and the data ranges it maps."""

    left: float
    right: float
    top: float
    bottom: float
    #: Width of the whole chart (labels below the plot may use it up to its edges).
    width: float
    y_low: float
    y_high: float
    first: dt.date
    days: float

    def x(self, when: dt.date) -> float:
        if self.days <= 0:
            return (self.left + self.right) / 2
        pad = (self.right - self.left) * 0.06
        share = (when - self.first).days / self.days
        return self.left + pad + share * (self.right - self.left - 2 * pad)

    def y(self, value: float) -> float:
        span = (self.y_high - self.y_low) or 1.0
        clamped = min(max(value, self.y_low), self.y_high)
        return self.bottom - (clamped - self.y_low) / span * (self.bottom - self.top)


def _n(value: float) -> str:
    """A pixel coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(
    x: float, y: float, content: str, *, size: int = 11, anchor: str = "start", fill: str = INK, **extra: str
) -> str:
    attributes = "".join(f' {name.replace("_", "-")}="{escape(value)}"' for name, value in extra.items())
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"'
        f"{attributes}>{escape(content)}</text>"
    )


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from `low` to `high` (about `count` of them)."""
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _band_edges(bands: tuple[ChartBand, ...], y_range: tuple[float, float]) -> list[tuple[float, float, str]]:
    """Bands as contiguous regions: a boundary sits halfway between one band's upper and the next's lower."""
    ordered = sorted(bands, key=lambda band: band.lower)
    edges = []
    for index, band in enumerate(ordered):
        low = y_range[0] if index == 0 else (ordered[index - 1].upper + band.lower) / 2
        high = y_range[1] if index == len(ordered) - 1 else (band.upper + ordered[index + 1].lower) / 2
        edges.append((low, high, band.label))
    return edges


def _draw_bands(chart: ScoreChart, frame: _Frame) -> list[str]:
    parts = []
    for index, (low, high, label) in enumerate(_band_edges(chart.bands, chart.y_range)):
        top, bottom = frame.y(high), frame.y(low)
        parts.append(
            f'<rect class="chart-band" x="{_n(frame.left)}" y="{_n(top)}" '
            f'width="{_n(frame.right - frame.left)}" height="{_n(bottom - top)}" '
            f'fill="{BAND_FILLS[index % 2]}" stroke="#c4ccd4" stroke-width="0.5"/>'
        )
        lines = wrap_words(label, BAND_LABEL_CHARACTERS)
        first_line = (top + bottom) / 2 + 4 - (len(lines) - 1) * 6
        for number, line in enumerate(lines):
            parts.append(_text(frame.right + 6, first_line + 12 * number, line, size=10, fill=MUTED))
    return parts


def wrap_words(text: str, width: int) -> list[str]:
    """Words in lines of at most `width` characters (a longer word gets a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _draw_axes(chart: ScoreChart, frame: _Frame) -> list[str]:
    parts = [
        f'<line x1="{_n(frame.left)}" y1="{_n(frame.bottom)}" x2="{_n(frame.right)}" y2="{_n(frame.bottom)}" '
        f'stroke="{MUTED}" stroke-width="1"/>',
        f'<line x1="{_n(frame.left)}" y1="{_n(frame.top)}" x2="{_n(frame.left)}" y2="{_n(frame.bottom)}" '
        f'stroke="{MUTED}" stroke-width="1"/>',
    ]
    for tick in nice_ticks(*chart.y_range):
        y = frame.y(tick)
        parts.append(
            f'<line x1="{_n(frame.left - 4)}" y1="{_n(y)}" x2="{_n(frame.left)}" y2="{_n(y)}" '
            f'stroke="{MUTED}"/>'
        )
        parts.append(
            _text(
                frame.left - 7, y + 4, chart.number(Decimal(f"{tick:g}")), size=10, anchor="end", fill=MUTED
            )
        )
    parts.extend(_wave_labels(chart, frame))
    if chart.cutoff is not None:
        y = frame.y(chart.cutoff)
        parts.append(
            f'<line class="chart-cutoff" x1="{_n(frame.left)}" y1="{_n(y)}" '
            f'x2="{_n(frame.right)}" y2="{_n(y)}" '
            f'stroke="{INK}" stroke-width="1" stroke-dasharray="6 3"/>'
        )
        parts.append(_text(frame.right - 4, y - 4, chart.cutoff_text, size=10, anchor="end"))
    return parts


def _wave_labels(chart: ScoreChart, frame: _Frame) -> list[str]:
    """Tick and label of each wave; a label that would touch the one before drops to a second row."""
    parts: list[str] = []
    previous_end = {0: -1e9, 1: -1e9}
    for point in sorted((point for point in chart.points if point.wave), key=lambda point: point.when):
        x = frame.x(point.when)
        half = len(point.wave or "") * CHARACTER_WIDTH / 2
        centre = min(max(x, half + 2), frame.width - half - 2)  # kept inside the chart's edges
        row = 0 if centre - half > previous_end[0] + 4 else 1
        previous_end[row] = centre + half
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(frame.bottom)}" x2="{_n(x)}" y2="{_n(frame.bottom + 4 + 12 * row)}" '
            f'stroke="{MUTED}"/>'
        )
        parts.append(_text(centre, frame.bottom + 16 + 12 * row, point.wave or "", size=10, anchor="middle"))
    return parts


def _segments(points: list[ChartPoint]) -> list[list[ChartPoint]]:
    """Runs of scored points joined by a line: a gap or a version break starts a new run."""
    runs: list[list[ChartPoint]] = [[]]
    for point in points:
        if point.value is None or point.breaks_before:
            runs.append([])
        if point.value is not None:
            runs[-1].append(point)
    return [run for run in runs if run]


def _draw_series(chart: ScoreChart, frame: _Frame, points: list[ChartPoint]) -> list[str]:
    parts = []
    for run in _segments(points):
        if len(run) > 1:
            coordinates = " ".join(f"{_n(frame.x(p.when))},{_n(frame.y(p.value or 0))}" for p in run)
            parts.append(
                f'<polyline class="chart-line" points="{coordinates}" fill="none" stroke="{INK}" '
                f'stroke-width="2" stroke-linejoin="round"/>'
            )
    previous: ChartPoint | None = None
    for index, point in enumerate(points):
        x = frame.x(point.when)
        if point.breaks_before and previous is not None:
            middle = (frame.x(previous.when) + x) / 2
            parts.append(
                f'<line class="chart-break" x1="{_n(middle)}" y1="{_n(frame.top)}" x2="{_n(middle)}" '
                f'y2="{_n(frame.bottom)}" stroke="{INK}" stroke-width="1.5" stroke-dasharray="2 3"/>'
            )
            parts.append(_break_label(frame, middle, chart.labels.version_break))
        if point.value is None:
            parts.extend(_gap_marker(frame, x, point, chart.labels))
        else:
            labelled = point.wave is not None or index == len(points) - 1
            parts.extend(_value_marker(frame, x, point, labelled))
        previous = point
    return parts


def _break_label(frame: _Frame, x: float, words: str) -> str:
    """The words of a version break beside its rule: to the right, or to the left where they would not fit."""
    fits = x + 3 + len(words) * CHARACTER_WIDTH * 0.9 <= frame.right
    return _text(x + 3 if fits else x - 3, frame.top + 10, words, size=9, anchor="start" if fits else "end")


def _gap_marker(frame: _Frame, x: float, point: ChartPoint, labels: ChartLabels) -> list[str]:
    y = frame.bottom - 10
    return [
        f'<path class="chart-missed" d="M{_n(x - 4)} {_n(y - 4)}L{_n(x + 4)} {_n(y + 4)}'
        f'M{_n(x - 4)} {_n(y + 4)}L{_n(x + 4)} {_n(y - 4)}" stroke="{INK}" stroke-width="1.5"/>',
        _text(x, y - 8, point.note or labels.missed, size=9, anchor="middle"),
    ]


def _value_marker(frame: _Frame, x: float, point: ChartPoint, labelled: bool) -> list[str]:
    y = frame.y(point.value or 0.0)
    radius = 4.5 if point.wave else 3.5
    fill = "#ffffff" if point.estimated else INK
    parts = [
        f'<circle class="chart-point" cx="{_n(x)}" cy="{_n(y)}" r="{radius}" fill="{fill}" stroke="{INK}" '
        f'stroke-width="1.5"/>'
    ]
    if labelled and point.value_text:
        above = y - 9 if y - 9 > frame.top + 4 else y + 17
        parts.append(_text(x, above, point.value_text, size=11, anchor="middle", font_weight="600"))
    return parts


def _draw_legend(chart: ScoreChart, frame: _Frame) -> list[str]:
    y = frame.bottom + LEGEND_BELOW_AXIS
    items = [
        (f'<circle cx="{_n(frame.left + 4)}" cy="{_n(y - 4)}" r="4" fill="{INK}"/>', chart.labels.scored)
    ]
    if any(point.estimated for point in chart.points):
        items.append(("hollow", chart.labels.estimated))
    parts, x = [], frame.left
    for marker, words in items:
        if marker == "hollow":
            marker = f'<circle cx="{_n(x + 4)}" cy="{_n(y - 4)}" r="4" fill="#ffffff" stroke="{INK}"/>'
        parts.append(marker)
        parts.append(_text(x + 12, y, words, size=10, fill=MUTED))
        x += 24 + 6 * len(words)
    if chart.direction_text:
        parts.append(_text(frame.right, y, chart.direction_text, size=10, anchor="end", fill=MUTED))
    return parts


def describe(chart: ScoreChart) -> str:
    """The chart in words: every point in order, with gaps, breaks and the cut-off."""
    if not chart.points:
        return chart.labels.no_scores
    sentences = []
    for point in chart.points:
        words = point.label + ": "
        if point.value is None:
            words += point.note or chart.labels.missed
        else:
            words += ", ".join(part for part in (point.value_text, point.band_text) if part)
            if point.estimated:
                words += f" ({chart.labels.estimated_note})"
        if point.breaks_before:
            words = f"{chart.labels.version_break}. {words}"
        sentences.append(words)
    extra = [text for text in (chart.direction_text, chart.cutoff_text) if text]
    return ". ".join(sentences + extra) + "."


def _title_lines(title: str, width: int) -> list[str]:
    """The title in at most two lines that fit the chart (the second cut with an ellipsis if need be)."""
    fits = max(16, int((width - TITLE_LEFT - 4) / TITLE_CHARACTER_WIDTH))
    lines = wrap_words(title, fits)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    if len(lines[-1]) > fits:
        lines[-1] = lines[-1][: fits - 1].rstrip() + "…"
    return lines


def _frame(chart: ScoreChart, width: int, height: int, has_bands: bool, title_lines: int) -> _Frame:
    dates = [point.when for point in chart.points] or [dt.date(2000, 1, 1)]
    first, last = min(dates), max(dates)
    low, high = chart.y_range
    return _Frame(
        left=40, right=width - (118 if has_bands else 16), top=26 + TITLE_LINE * (title_lines - 1),
        bottom=height - LEGEND_BELOW_AXIS - 6, width=width, y_low=low, y_high=high, first=first,
        days=float((last - first).days),
    )  # fmt: skip


def score_chart_svg(
    chart: ScoreChart, *, chart_id: str, width: int = 560, height: int = 240, font_family: str = FONT
) -> str:
    """The chart as an `<svg>` element (text), with `<title>` and `<desc>` ids derived from `chart_id`.

    `font_family` names the fonts of its texts (the PDF reports give their own embedded fonts).
    """
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id) or "chart"
    title = _title_lines(chart.title, width)
    frame = _frame(chart, width, height, bool(chart.bands), len(title))
    points = sorted(chart.points, key=lambda point: point.when)
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="score-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="{escape(font_family)}" '
        f'aria-labelledby="{safe_id}-title {safe_id}-desc">',
        f'<title id="{safe_id}-title">{escape(chart.title)}</title>',
        f'<desc id="{safe_id}-desc">{escape(describe(chart))}</desc>',
        *(
            _text(TITLE_LEFT, 14 + TITLE_LINE * row, line, size=12, font_weight="600")
            for row, line in enumerate(title)
        ),
    ]
    body.extend(_draw_bands(chart, frame))
    body.extend(_draw_axes(chart, frame))
    if points:
        body.extend(_draw_series(chart, frame, points))
        body.extend(_draw_legend(chart, frame))
    else:
        middle = ((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2)
        body.append(_text(*middle, chart.labels.no_scores, anchor="middle", fill=MUTED))
    body.append("</svg>")
    return "\n".join(body)
