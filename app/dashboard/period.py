"""What a patient's page shows: the period (4 weeks, 12 weeks, 1 year or a custom range) and
the knee, read from the query string. Anything else is a 400 page that says what is wrong."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from app.care.models import Patient
from app.errors import AppError
from app.schemas import DATE_MAX, DATE_MIN
from app.trends import windows

PERIODS: dict[str, tuple[int, str]] = {
    "4w": (28, "4 weeks"),
    "12w": (84, "12 weeks"),
    "1y": (365, "1 year"),
}
DEFAULT_PERIOD = "12w"
KNEES: dict[str, str] = {
    "index": "Index knee",
    "worse": "Worse knee",
    "left": "Left knee",
    "right": "Right knee",
}
# The trend engine's longest window (`GET …/trends/{metric}` refuses a longer one).
MAX_RANGE_DAYS = windows.MAX_WINDOW_DAYS


class BadView(AppError):
    """A query string the page cannot show (400): the message names the parameter."""


@dataclass(frozen=True)
class Window:
    """The dates shown. `knee` is the knee the summaries judge (left, right or worse: `index`
    resolved); `asked` is the knee as chosen, for the links that keep it."""

    period: str  # 4w | 12w | 1y | custom
    knee: str
    start: dt.date
    end: dt.date
    asked: str = ""

    @property
    def label(self) -> str:
        if self.period in PERIODS:
            return PERIODS[self.period][1]
        return f"{(self.end - self.start).days + 1} days"

    @property
    def long(self) -> bool:
        """Long enough that dates on the axis need their year."""
        return (self.end - self.start).days > 120 or self.start.year != self.end.year

    def query(self, **changes: str) -> str:
        """The query string of this view with `changes` (period, knee, from, to)."""
        params = {"period": self.period, "knee": self.asked or self.knee}
        if self.period == "custom":
            params |= {"from": self.start.isoformat(), "to": self.end.isoformat()}
        params |= changes
        if params["period"] != "custom":
            params.pop("from", None)
            params.pop("to", None)
        return urlencode(params)


def _date(name: str, value: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise BadView(
            f"'{name}' must be a date written as YYYY-MM-DD, not {value[:20]!r}."
        ) from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise BadView(f"'{name}' must be between {DATE_MIN} and {DATE_MAX}.")
    return day


def parse_window(
    patient: Patient,
    now: dt.datetime,
    *,
    period: str | None,
    knee: str | None,
    date_from: str | None,
    date_to: str | None,
) -> Window:
    """The window asked for by the query string; BadView (400) naming what is wrong."""
    knee = knee or "index"
    if knee not in KNEES:
        raise BadView(f"Unknown knee {knee[:20]!r}: choose one of {', '.join(KNEES)}.")
    resolved = windows.resolve_knee(patient, knee)
    today = windows.today_for(patient, now)
    if date_from or date_to or period == "custom":
        if not (date_from and date_to):
            raise BadView("A custom date range needs both 'from' and 'to'.")
        start, end = _date("from", date_from), _date("to", date_to)
        if end < start:
            raise BadView(
                f"The end of the date range ({end:%-d %b %Y}) is before its start "
                f"({start:%-d %b %Y})."
            )
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise BadView(
                f"The date range spans {(end - start).days + 1} days; it may span at most "
                f"{MAX_RANGE_DAYS} days (3 years)."
            )
        return Window("custom", resolved, start, end, knee)
    period = period or DEFAULT_PERIOD
    if period not in PERIODS:
        raise BadView(
            f"Unknown period {period[:20]!r}: choose one of {', '.join(PERIODS)}, "
            "or give 'from' and 'to'."
        )
    days = PERIODS[period][0]
    return Window(period, resolved, today - dt.timedelta(days=days - 1), today, knee)
