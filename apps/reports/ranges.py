"""A report's date range: whole days in the merchant's time zone, `to` inclusive. Pure: no database.

`from`/`to` are `YYYY-MM-DD`; each day runs from local midnight to the next local midnight, so a DST day
lasts 23 or 25 hours and a figure is never split across the merchant's days by UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366
DEFAULT_DAYS = 30


class RangeError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ReportRange:
    first: date
    last: date  # inclusive
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return _midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:
        """Exclusive: the local midnight after the last day."""
        return _midnight(self.last + timedelta(days=1), self.tz)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def previous(self) -> ReportRange:
        """The period of the same length that ends the day before this one starts."""
        length = self.last - self.first + timedelta(days=1)
        return ReportRange(first=self.first - length, last=self.first - timedelta(days=1), tz=self.tz)

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _parse(field: str, value: str | None) -> date:
    if value is None or value == "":
        raise RangeError(field, "Give a date like 2026-03-31.")
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise RangeError(field, f"“{value[:20]}” is not a date like 2026-03-31.") from None


def range_parse(*, params, tz: ZoneInfo, today: date | None = None, required: bool = True) -> ReportRange:
    """The range named by `from`/`to` in `params`; with `required=False` a missing pair is the last 30 days
    ending today (the portal's default). RangeError names the field at fault."""
    raw_from, raw_to = params.get("from"), params.get("to")
    if not required and not raw_from and not raw_to:
        last = today or datetime.now(tz).date()
        return ReportRange(first=last - timedelta(days=DEFAULT_DAYS - 1), last=last, tz=tz)
    first, last = _parse("from", raw_from), _parse("to", raw_to)
    if last < first:
        raise RangeError("to", "“to” is before “from”.")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError("to", f"A report covers at most {MAX_DAYS} days.")
    return ReportRange(first=first, last=last, tz=tz)
