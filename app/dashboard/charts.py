"""Chart geometry for server-drawn SVG: pure functions from dates and numbers to coordinates.

The templates draw what these return (`templates/_charts.html`). Nothing here knows about the
database or HTTP, and nothing runs in the browser: the page's CSP allows no script, and every
colour is doubled by a line pattern, a fill pattern or a text label.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

WIDE = 960
HALF = 480
HEIGHT = 230


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: labels at the edges stay inside the chart


@dataclass(frozen=True)
class Frame:
    """A date axis and a value axis mapped onto the SVG viewBox."""

    start: dt.date
    end: dt.date
    y_min: float
    y_max: float
    width: int = WIDE
    height: int = HEIGHT
    left: int = 46
    right: int = 14
    top: int = 16
    bottom: int = 30

    @property
    def span_days(self) -> int:
        return max((self.end - self.start).days, 1)

    @property
    def plot_right(self) -> float:
        return self.width - self.right

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    def x(self, day: dt.date) -> float:
        frac = ((day - self.start).days + 0.5) / (self.span_days + 1)
        return round(self.left + frac * (self.plot_right - self.left), 1)

    def day_width(self) -> float:
        return (self.plot_right - self.left) / (self.span_days + 1)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        frac = (value - self.y_min) / span
        return round(self.plot_bottom - frac * (self.plot_bottom - self.top), 1)

    def x_ticks(self, count: int = 6) -> list[Tick]:
        """Dates along the axis: days for a short span; for a long one (over 120 days, or
        across a new year) the first of every n-th month, with its year."""
        if self.span_days > 120 or self.start.year != self.end.year:
            days = self._month_starts(count)
            text = "%b %Y"
        else:
            step = max(1, math.ceil(self.span_days / count))
            days = [self.start + dt.timedelta(days=i) for i in range(0, self.span_days + 1, step)]
            text = "%-d %b"
        return [self._tick(self.x(day), day.strftime(text)) for day in days]

    def _month_starts(self, count: int) -> list[dt.date]:
        """The first of every n-th month from the first one in the span."""
        year, month = self.start.year, self.start.month
        if self.start.day > 1:
            year, month = year + month // 12, month % 12 + 1
        months = (self.end.year - year) * 12 + self.end.month - month + 1
        step = max(1, math.ceil(months / count))
        out: list[dt.date] = []
        while (day := dt.date(year, month, 1)) <= self.end:
            out.append(day)
            month += step
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        return out

    def _tick(self, pos: float, label: str) -> Tick:
        # About 3.3 user units per character at the axis' font size: a label that would
        # cross the edge of the drawing is anchored at its end instead of its middle.
        half = len(label) * 3.3
        if pos - half < 2:
            return Tick(pos, label, "start")
        if pos + half > self.width - 2:
            return Tick(pos, label, "end")
        return Tick(pos, label)

    def y_ticks(self, count: int = 5) -> list[Tick]:
        step = nice_step((self.y_max - self.y_min) / count)
        first = math.ceil(self.y_min / step) * step
        out, v = [], first
        while v <= self.y_max + 1e-9:
            out.append(Tick(self.y(v), fmt(v)))
            v += step
        return out


def nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return m * magnitude
    return 10 * magnitude


def fmt(value: float | None, digits: int = 1, *, fixed: bool = False) -> str:
    """A number for people: `digits` decimals (trailing zeros dropped unless `fixed`), a true
    minus sign, and never "-0"."""
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    if not fixed and digits and text.endswith("." + "0" * digits):
        text = text[: -digits - 1]
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "−")


def path(frame: Frame, points: Iterable[tuple[dt.date, float | None]]) -> str:
    """An SVG path through the points; a gap (None, or a missing day) lifts the pen."""
    parts: list[str] = []
    previous: dt.date | None = None
    for day, value in points:
        if value is None:
            previous = None
            continue
        joined = previous is not None and (day - previous).days == 1
        parts.append(f"{'L' if joined else 'M'}{frame.x(day)} {frame.y(value)}")
        previous = day
    return " ".join(parts)


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str
    label: str = ""
    css: str = "daily"


@dataclass(frozen=True)
class Line:
    label: str
    css: str
    d: str


@dataclass(frozen=True)
class HLine:
    y: float
    label: str
    css: str


@dataclass(frozen=True)
class Band:
    y_top: float
    y_bottom: float
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    label: str
    title: str
    css: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True)
class LegendItem:
    label: str
    css: str
    shape: str  # line | dashed | dot | band | bar | marker | rug


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    frame: Frame
    unit: str
    lines: list[Line] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    hlines: list[HLine] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    rug: list[Marker] = field(default_factory=list)  # short ticks on the axis (sessions)
    bars: list[Bar] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    empty: bool = False

    @property
    def x_ticks(self) -> list[Tick]:
        return self.frame.x_ticks()

    @property
    def y_ticks(self) -> list[Tick]:
        return self.frame.y_ticks()


def markers_for(frame: Frame, events: Sequence[tuple[dt.date, str, str]]) -> list[Marker]:
    """Vertical markers (falls) for the events inside the frame: (date, label, css)."""
    return [
        Marker(frame.x(day), label, f"{label} on {day:%d %b %Y}", css)
        for day, label, css in events
        if frame.start <= day <= frame.end
    ]


def sparkline(
    values: Sequence[tuple[dt.date, float | None]],
    start: dt.date,
    end: dt.date,
    *,
    y_max: float = 10,
    width: int = 120,
    height: int = 28,
) -> str:
    """The path of a small line chart with no axes (the panel's pain sparkline)."""
    frame = Frame(
        start, end, 0, y_max, width=width, height=height, left=1, right=1, top=2, bottom=2
    )
    return path(frame, values)


def nice_floor(value: float, step: float = 5) -> float:
    return math.floor(value / step) * step


def nice_ceil(value: float, step: float = 5) -> float:
    return math.ceil(value / step) * step
