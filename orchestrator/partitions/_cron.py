"""Cron arithmetic shared by time-window partitions and schedules.

Five-field expressions (``"0 * * * *"``) are evaluated by `cronsim` in a zoneinfo
timezone; a six-field expression whose first field is the second (``"*/2 * * * * *"``)
fires at those seconds of every matching minute. Daylight-saving gaps move a tick to the
first existing minute after it; repeated hours fire once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from ..errors import DefinitionError

__all__ = ["Cron", "parse_cron", "resolve_timezone"]

_ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


@functools.lru_cache(maxsize=64)
def resolve_timezone(name: str | None) -> tzinfo:
    """A zoneinfo timezone by IANA name (``None`` or ``"UTC"`` → UTC)."""
    if name is None or name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DefinitionError(
            f"unknown timezone {name!r}: use an IANA name such as 'UTC', 'Europe/Paris' or "
            f"'America/New_York'") from None


def _parse_seconds(field: str, expr: str) -> tuple[int, ...]:
    out: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, _, raw_step = part.partition("/")
            if not raw_step.isdigit() or int(raw_step) == 0:
                raise DefinitionError(f"cron {expr!r}: bad step {raw_step!r} in the seconds field")
            step = int(raw_step)
        if part == "*":
            lo, hi = 0, 59
        elif "-" in part:
            a, _, b = part.partition("-")
            if not (a.isdigit() and b.isdigit()):
                raise DefinitionError(f"cron {expr!r}: bad range {part!r} in the seconds field")
            lo, hi = int(a), int(b)
        elif part.isdigit():
            lo = int(part)
            hi = lo if step == 1 else 59
        else:
            raise DefinitionError(f"cron {expr!r}: bad seconds field {field!r}")
        if not (0 <= lo <= hi <= 59):
            raise DefinitionError(f"cron {expr!r}: seconds must be within 0-59, got {part!r}")
        out.update(range(lo, hi + 1, step))
    return tuple(sorted(out))


class Cron:
    """A parsed cron expression evaluated in one timezone.

    ::

        c = Cron("0 9 * * 1-5", "Europe/Paris")
        c.next_after(datetime(2024, 1, 5, 10, tzinfo=timezone.utc))   # Mon 2024-01-08 09:00+01
    """

    __slots__ = ("expr", "minute_expr", "seconds", "tz")

    def __init__(self, expr: str, tz: str | tzinfo | None = None) -> None:
        from cronsim import CronSim, CronSimError

        if not isinstance(expr, str) or not expr.strip():
            raise DefinitionError(f"cron schedule must be a non-empty string, got {expr!r}")
        expr = expr.strip()
        fields = _ALIASES.get(expr, expr).split()
        self.seconds: tuple[int, ...] | None = None
        if len(fields) == 6:
            self.seconds = _parse_seconds(fields[0], expr)
            fields = fields[1:]
        if len(fields) != 5:
            raise DefinitionError(
                f"cron schedule {expr!r} has {len(fields)} fields; expected 5 (minute hour "
                f"day-of-month month day-of-week) or 6 with seconds first, e.g. '0 * * * *'")
        self.expr = expr
        self.minute_expr = " ".join(fields)
        self.tz = tz if isinstance(tz, tzinfo) else resolve_timezone(tz)
        try:
            CronSim(self.minute_expr, datetime(2000, 1, 1))
        except CronSimError as exc:
            raise DefinitionError(f"cron schedule {expr!r} is not valid: {exc}") from None

    def _minutes(self, after: datetime, reverse: bool = False) -> Iterator[datetime]:
        from cronsim import CronSim

        return CronSim(self.minute_expr, after, reverse=reverse)

    def _local(self, dt: datetime) -> datetime:
        if dt.tzinfo is None:
            raise DefinitionError(f"naive datetime {dt!r}: give times a timezone")
        return dt.astimezone(self.tz)

    def next_after(self, dt: datetime) -> datetime:
        """The first fire time strictly after ``dt`` (aware, in this cron's timezone)."""
        local = self._local(dt)
        if self.seconds is None:
            return next(self._minutes(local))
        minute = local.replace(second=0, microsecond=0)
        if self._minute_matches(minute):
            for s in self.seconds:
                cand = minute + timedelta(seconds=s)
                if cand > local:
                    return cand
        nxt = next(self._minutes(minute))
        return nxt + timedelta(seconds=self.seconds[0])

    def prev_at_or_before(self, dt: datetime) -> datetime:
        """The last fire time at or before ``dt``."""
        local = self._local(dt)
        if self.seconds is None:
            probe = local.replace(second=0, microsecond=0)
            if probe == local and self._minute_matches(probe):
                return probe
            return next(self._minutes(local, reverse=True))
        minute = local.replace(second=0, microsecond=0)
        if self._minute_matches(minute):
            for s in reversed(self.seconds):
                cand = minute + timedelta(seconds=s)
                if cand <= local:
                    return cand
        prev = next(self._minutes(minute, reverse=True))
        return prev + timedelta(seconds=self.seconds[-1])

    def _minute_matches(self, minute: datetime) -> bool:
        try:
            return next(self._minutes(minute - timedelta(minutes=1))) == minute
        except StopIteration:  # pragma: no cover - cronsim never ends
            return False

    def is_fire_time(self, dt: datetime) -> bool:
        return self.prev_at_or_before(dt) == self._local(dt)

    def iter_after(self, dt: datetime) -> Iterator[datetime]:
        """Fire times strictly after ``dt``, for ever (one cron iterator: fast)."""
        if self.seconds is not None:
            t = dt
            while True:
                t = self.next_after(t)
                yield t
        yield from self._minutes(self._local(dt))

    def iter_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Fire times ``t`` with ``start < t <= end``, in order."""
        t = self.next_after(start)
        while t <= end:
            yield t
            t = self.next_after(t)

    def __repr__(self) -> str:
        return f"Cron({self.expr!r}, {getattr(self.tz, 'key', str(self.tz))!r})"


@functools.lru_cache(maxsize=1024)
def parse_cron(expr: str, tz: str | None = None) -> Cron:
    """A cached :class:`Cron` for an expression and timezone name."""
    return Cron(expr, tz)
