"""Partitions definitions: static lists, time windows and their products.

::

    colors = StaticPartitionsDefinition(["red", "green", "blue"])
    days = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Paris")
    days.get_partition_keys(current_time=datetime(2024, 1, 4, tzinfo=timezone.utc))
    # ['2024-01-01', '2024-01-02', '2024-01-03']
    days.time_window_for("2024-01-02")      # TimeWindow(start=2024-01-02 00:00+01:00, end=...)
    both = MultiPartitionsDefinition({"date": days, "color": colors})
    both.get_partition_keys()[0]             # MultiPartitionKey 'red|2024-01-01'

Keys are plain strings everywhere (run records, events, the protocol context); a multi
key joins its dimension keys with ``|`` in dimension-name order, as Dagster does.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, NamedTuple

from ..errors import DefinitionError
from ._cron import Cron, resolve_timezone

__all__ = [
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "MonthlyPartitionsDefinition",
    "MultiPartitionKey",
    "MultiPartitionsDefinition",
    "PartitionDimensionDefinition",
    "PartitionKeyRange",
    "PartitionsDefinition",
    "StaticPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
    "contiguous_ranges",
]


class PartitionKeyRange(NamedTuple):
    """An inclusive range of partition keys: ``PartitionKeyRange("2024-01-01", "2024-01-31")``."""

    start: str
    end: str


class TimeWindow(NamedTuple):
    """A half-open interval of time ``[start, end)`` (aware datetimes)."""

    start: datetime
    end: datetime


def _now(current_time: datetime | float | None) -> datetime:
    if current_time is None:
        return datetime.now(UTC)
    if isinstance(current_time, (int, float)):
        return datetime.fromtimestamp(current_time, UTC)
    if current_time.tzinfo is None:
        return current_time.replace(tzinfo=UTC)
    return current_time


class PartitionsDefinition:
    """The set of partition keys of an asset or job. Subclasses give the keys."""

    def get_partition_keys(self, current_time: datetime | float | None = None,
                           dynamic_partitions_store: Any = None) -> list[str]:
        raise NotImplementedError

    # derived ------------------------------------------------------------------------------
    def has_partition_key(self, partition_key: str,
                          current_time: datetime | float | None = None) -> bool:
        return partition_key in self._key_index(current_time)

    def _key_index(self, current_time: datetime | float | None = None) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.get_partition_keys(current_time))}

    def validate_partition_key(self, partition_key: str, where: str = "",
                               current_time: datetime | float | None = None) -> None:
        """Raise DefinitionError naming the bad key, close matches and the valid span."""
        if not isinstance(partition_key, str):
            raise DefinitionError(f"{where}partition key must be a string, got "
                                  f"{type(partition_key).__name__} {partition_key!r}")
        if self.has_partition_key(partition_key, current_time):
            return
        keys = self.get_partition_keys(current_time)
        close = difflib.get_close_matches(partition_key, keys[-2000:], n=3)
        span = (f"'{keys[0]}' ... '{keys[-1]}' ({len(keys)} keys)" if len(keys) > 6
                else str(keys))
        hint = f"; did you mean {close}?" if close else ""
        raise DefinitionError(f"{where}partition key {partition_key!r} is not a partition of "
                              f"{self!r}; valid keys: {span}{hint}")

    def get_partition_keys_in_range(self, partition_key_range: PartitionKeyRange,
                                    current_time: datetime | float | None = None,
                                    dynamic_partitions_store: Any = None) -> list[str]:
        """The keys from ``range.start`` to ``range.end`` inclusive, in order."""
        keys = self.get_partition_keys(current_time)
        index = self._key_index(current_time)
        start, end = partition_key_range
        for k in (start, end):
            if k not in index:
                self.validate_partition_key(k, "partition range: ", current_time)
        i, j = index[start], index[end]
        if i > j:
            raise DefinitionError(f"partition range {start!r}...{end!r} is backwards: "
                                  f"{start!r} comes after {end!r}")
        return keys[i:j + 1]

    def get_first_partition_key(self, current_time: datetime | float | None = None
                                ) -> str | None:
        keys = self.get_partition_keys(current_time)
        return keys[0] if keys else None

    def get_last_partition_key(self, current_time: datetime | float | None = None,
                               dynamic_partitions_store: Any = None) -> str | None:
        keys = self.get_partition_keys(current_time)
        return keys[-1] if keys else None

    def get_num_partitions(self, current_time: datetime | float | None = None) -> int:
        return len(self.get_partition_keys(current_time))

    def get_partition_key_range_for_keys(self, keys: Sequence[str]) -> PartitionKeyRange:
        return PartitionKeyRange(keys[0], keys[-1])


def contiguous_ranges(pdef: PartitionsDefinition, keys: Iterable[str],
                      max_per_range: int | None = None,
                      current_time: datetime | float | None = None) -> list[PartitionKeyRange]:
    """Group ``keys`` into ranges of neighbouring partitions (in the definition's order),
    each at most ``max_per_range`` long."""
    index = pdef._key_index(current_time)
    order = sorted(set(keys), key=lambda k: index[k])
    out: list[PartitionKeyRange] = []
    run: list[str] = []
    for k in order:
        if run and (index[k] != index[run[-1]] + 1 or
                    (max_per_range is not None and len(run) >= max_per_range)):
            out.append(PartitionKeyRange(run[0], run[-1]))
            run = []
        run.append(k)
    if run:
        out.append(PartitionKeyRange(run[0], run[-1]))
    return out


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed list of partition keys: ``StaticPartitionsDefinition(["eu", "us"])``."""

    def __init__(self, partition_keys: Sequence[str]) -> None:
        keys = list(partition_keys)
        bad = [k for k in keys if not isinstance(k, str) or not k]
        if bad:
            raise DefinitionError(f"StaticPartitionsDefinition: keys must be non-empty strings, "
                                  f"got {bad[:3]!r}")
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise DefinitionError(f"StaticPartitionsDefinition: duplicate keys {dupes}")
        for k in keys:
            if any(c in k for c in "|,[]*\n") or k != k.strip():
                raise DefinitionError(
                    f"StaticPartitionsDefinition: key {k!r} contains a reserved character "
                    f"(one of '|,[]*', a newline or surrounding spaces); rename it")
        self._keys = keys
        self._index = {k: i for i, k in enumerate(keys)}

    def get_partition_keys(self, current_time: Any = None,
                           dynamic_partitions_store: Any = None) -> list[str]:
        return list(self._keys)

    def _key_index(self, current_time: Any = None) -> dict[str, int]:
        return self._index

    def has_partition_key(self, partition_key: str, current_time: Any = None) -> bool:
        return partition_key in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticPartitionsDefinition) and other._keys == self._keys

    def __hash__(self) -> int:
        return hash(tuple(self._keys))

    def __repr__(self) -> str:
        shown = ", ".join(repr(k) for k in self._keys[:5])
        more = f", ... ({len(self._keys)} keys)" if len(self._keys) > 5 else ""
        return f"StaticPartitionsDefinition([{shown}{more}])"


def _parse_start(value: str | datetime, fmt: str, tz: tzinfo, where: str) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
    if not isinstance(value, str):
        raise DefinitionError(f"{where}: start must be a string or datetime, got {value!r}")
    for f in (fmt, "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d-%H:%M"):
        try:
            return datetime.strptime(value, f).replace(tzinfo=tz)
        except ValueError:
            continue
    raise DefinitionError(f"{where}: start {value!r} does not match the format {fmt!r} "
                          f"(nor YYYY-MM-DD)")


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Partitions that are windows of time between the ticks of a cron schedule.

    ``TimeWindowPartitionsDefinition(start="2024-01-01", cron_schedule="0 */6 * * *",
    fmt="%Y-%m-%d-%H:%M", timezone="UTC", end_offset=0)``: the first window starts at the
    first tick at or after ``start``; a window exists once it has ended (``end_offset=1``
    also offers the window in progress, ``-1`` holds the last finished one back); ``end``
    (exclusive) stops the windows.
    """

    def __init__(self, start: str | datetime, fmt: str, end: str | datetime | None = None,
                 schedule_type: Any = None, timezone: str | None = None, end_offset: int = 0,
                 minute_offset: int | None = None, hour_offset: int | None = None,
                 day_offset: int | None = None, cron_schedule: str | None = None) -> None:
        where = type(self).__name__
        if cron_schedule is None:
            raise DefinitionError(f"{where}: cron_schedule= is required (e.g. '0 0 * * *')")
        if not isinstance(end_offset, int):
            raise DefinitionError(f"{where}: end_offset must be an int, got {end_offset!r}")
        self.timezone = timezone or "UTC"
        self._tz = resolve_timezone(self.timezone)
        self.fmt = fmt
        self.cron_schedule = cron_schedule
        self._cron = Cron(cron_schedule, self._tz)
        self.end_offset = end_offset
        start_dt = _parse_start(start, fmt, self._tz, where)
        self.start = start_dt if self._cron.is_fire_time(start_dt) else \
            self._cron.next_after(start_dt)
        self.end = _parse_start(end, fmt, self._tz, where) if end is not None else None
        self._ticks: list[datetime] = [self.start]
        self._tick_ts: list[float] = [self.start.timestamp()]
        self._keys: list[str] = [self.start.strftime(fmt)]
        self._index: dict[str, int] = {self._keys[0]: 0}
        self._lock = threading.Lock()
        self._step = _fixed_step(self._cron)
        self._wall_step = _wall_step(self._cron) if self._step is None else None
        self._iter: Any = None
        if len(set(self._probe_keys())) < 3:
            raise DefinitionError(f"{where}: fmt {fmt!r} gives the same key to different "
                                  f"windows of {cron_schedule!r}; include finer fields")

    def _probe_keys(self) -> list[str]:
        t, out = self.start, []
        for _ in range(3):
            out.append(t.strftime(self.fmt))
            t = self._cron.next_after(t)
        return out

    # tick cache --------------------------------------------------------------------------
    def _extend_to(self, ts: float) -> None:
        """Make sure the cached ticks reach at least timestamp ``ts`` (one tick past it)."""
        if self._tick_ts[-1] > ts:
            return
        with self._lock:
            t = self._ticks[-1]
            step = self._step
            wall = self._wall_step
            if step is None and wall is None and self._iter is None:
                self._iter = self._cron.iter_after(t)
            while self._tick_ts[-1] <= ts:
                if step is not None:
                    t = t + step
                elif wall is not None:
                    t = self._next_wall(t, wall)
                else:
                    t = next(self._iter)
                key = t.strftime(self.fmt)
                if key == self._keys[-1]:
                    # a repeated wall-clock time (the autumn DST hour): one key, whose
                    # window spans both occurrences
                    continue
                self._ticks.append(t)
                self._tick_ts.append(t.timestamp())
                self._index.setdefault(key, len(self._keys))
                self._keys.append(key)

    def _next_wall(self, t: datetime, kind: str) -> datetime:
        """The tick after ``t`` for hourly/daily crons in a DST zone, by arithmetic; any
        step that lands on an unusual wall time is checked against the cron itself."""
        tz = self._tz
        if kind == "hour":
            nxt = (t.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
            if nxt.minute == t.minute and nxt.second == 0:
                return nxt
        else:
            local = t.replace(tzinfo=None) + timedelta(days=1)
            nxt = local.replace(tzinfo=tz)
            back = nxt.astimezone(UTC).astimezone(tz)
            if back.replace(tzinfo=None) == local and back.fold == 0 and \
                    (local.hour, local.minute) == (self.start.hour, self.start.minute):
                return back
        return self._cron.next_after(t)

    def _extend_count(self, count: int) -> None:
        """Make sure at least ``count`` ticks are cached."""
        while len(self._ticks) < count:
            self._extend_to(self._tick_ts[-1])

    def _num_windows(self, current_time: datetime | float | None) -> int:
        now = _now(current_time).timestamp()
        self._extend_to(now)
        # windows whose end (tick i+1) is <= now
        finished = bisect.bisect_right(self._tick_ts, now) - 1
        n = max(0, finished + self.end_offset)
        if self.end is not None:
            end_ts = self.end.timestamp()
            self._extend_to(end_ts)
            n = min(n, bisect.bisect_left(self._tick_ts, end_ts))
        self._extend_count(n + 1)
        return n

    def get_partition_keys(self, current_time: datetime | float | None = None,
                           dynamic_partitions_store: Any = None) -> list[str]:
        return self._keys[:self._num_windows(current_time)]

    def _key_index(self, current_time: datetime | float | None = None) -> dict[str, int]:
        n = self._num_windows(current_time)
        return {k: i for k, i in self._index.items() if i < n}

    def has_partition_key(self, partition_key: str,
                          current_time: datetime | float | None = None) -> bool:
        i = self._find(partition_key)
        return i is not None and i < self._num_windows(current_time)

    def _find(self, key: str) -> int | None:
        i = self._index.get(key)
        if i is not None:
            return i
        try:
            dt = datetime.strptime(key, self.fmt).replace(tzinfo=self._tz)
        except (ValueError, TypeError):
            return None
        if dt < self.start or not self._cron.is_fire_time(dt):
            return None
        self._extend_to(dt.timestamp())
        return self._index.get(key)

    def _index_of(self, key: str, where: str = "") -> int:
        i = self._find(key)
        if i is None:
            raise DefinitionError(
                f"{where}{key!r} is not a partition key of {self!r}: keys are window starts "
                f"formatted with {self.fmt!r}, from {self._keys[0]!r}")
        return i

    # time windows ----------------------------------------------------------------------------
    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The ``[start, end)`` window of a key (in this definition's timezone)."""
        i = self._index_of(partition_key)
        self._extend_to(self._tick_ts[i])
        return TimeWindow(self._ticks[i], self._ticks[i + 1])

    time_window_for = time_window_for_partition_key

    def time_window_for_partition_key_range(self, partition_key_range: PartitionKeyRange
                                            ) -> TimeWindow:
        start = self.time_window_for_partition_key(partition_key_range.start)
        end = self.time_window_for_partition_key(partition_key_range.end)
        if start.start > end.start:
            raise DefinitionError(f"partition range {partition_key_range.start!r}..."
                                  f"{partition_key_range.end!r} is backwards")
        return TimeWindow(start.start, end.end)

    def get_partition_keys_in_time_window(self, window: TimeWindow) -> list[str]:
        """Keys whose windows overlap ``window``."""
        s, e = window.start.timestamp(), window.end.timestamp()
        self._extend_to(e)
        i = max(0, bisect.bisect_right(self._tick_ts, s) - 1)
        out = []
        while i < len(self._keys) - 1 and self._tick_ts[i] < e:
            if self._tick_ts[i + 1] > s:
                out.append(self._keys[i])
            i += 1
        return out

    def get_partition_keys_in_range(self, partition_key_range: PartitionKeyRange,
                                    current_time: datetime | float | None = None,
                                    dynamic_partitions_store: Any = None) -> list[str]:
        i = self._index_of(partition_key_range.start, "partition range start ")
        j = self._index_of(partition_key_range.end, "partition range end ")
        if i > j:
            raise DefinitionError(f"partition range {partition_key_range.start!r}..."
                                  f"{partition_key_range.end!r} is backwards")
        return self._keys[i:j + 1]

    def key_offset(self, key: str, offset: int) -> str | None:
        """The key ``offset`` windows after (before, if negative) ``key``; None before start."""
        i = self._index_of(key) + offset
        if i < 0:
            return None
        self._extend_count(i + 2)
        return self._keys[i]

    def key_for_time(self, dt: datetime | float) -> str | None:
        """The key of the window holding ``dt`` (None before the first window)."""
        ts = _now(dt).timestamp()
        self._extend_to(ts)
        i = bisect.bisect_right(self._tick_ts, ts) - 1
        return self._keys[i] if i >= 0 else None

    @property
    def schedule_cron(self) -> Cron:
        return self._cron

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TimeWindowPartitionsDefinition) and
                (other.start, other.fmt, other.cron_schedule, other.timezone, other.end,
                 other.end_offset) == (self.start, self.fmt, self.cron_schedule, self.timezone,
                                       self.end, self.end_offset))

    def __hash__(self) -> int:
        return hash((self.start, self.fmt, self.cron_schedule, self.timezone))

    def __repr__(self) -> str:
        extra = f", end_offset={self.end_offset}" if self.end_offset else ""
        return (f"{type(self).__name__}(start={self._keys[0]!r}, "
                f"cron_schedule={self.cron_schedule!r}, timezone={self.timezone!r}{extra})")


def _fixed_step(cron: Cron) -> timedelta | None:
    """The constant distance between ticks when there is one (no DST, simple cron)."""
    import re

    if not isinstance(cron.tz, timezone) or cron.seconds is not None:
        return None
    if re.fullmatch(r"\d+ \* \* \* \*", cron.minute_expr):
        return timedelta(hours=1)
    if re.fullmatch(r"\d+ \d+ \* \* \*", cron.minute_expr):
        return timedelta(days=1)
    if re.fullmatch(r"\d+ \d+ \* \* \d", cron.minute_expr):
        return timedelta(days=7)
    return None


def _wall_step(cron: Cron) -> str | None:
    """"hour" / "day" for simple hourly / daily crons (any timezone), else None."""
    import re

    if cron.seconds is not None:
        return None
    if re.fullmatch(r"\d+ \* \* \* \*", cron.minute_expr):
        return "hour"
    if re.fullmatch(r"\d+ \d+ \* \* \*", cron.minute_expr):
        return "day"
    return None


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per hour: keys like ``"2024-01-01-13:00"``."""

    def __init__(self, start_date: str | datetime, end_date: str | datetime | None = None,
                 minute_offset: int = 0, timezone: str | None = None,
                 fmt: str | None = None, end_offset: int = 0) -> None:
        super().__init__(start=start_date, end=end_date, fmt=fmt or "%Y-%m-%d-%H:%M",
                         timezone=timezone, end_offset=end_offset,
                         cron_schedule=f"{minute_offset} * * * *")


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per day: ``DailyPartitionsDefinition(start_date="2024-01-01")``."""

    def __init__(self, start_date: str | datetime, end_date: str | datetime | None = None,
                 minute_offset: int = 0, hour_offset: int = 0, timezone: str | None = None,
                 fmt: str | None = None, end_offset: int = 0) -> None:
        super().__init__(start=start_date, end=end_date, fmt=fmt or "%Y-%m-%d",
                         timezone=timezone, end_offset=end_offset,
                         cron_schedule=f"{minute_offset} {hour_offset} * * *")


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per week, starting on ``day_offset`` (0 = Sunday)."""

    def __init__(self, start_date: str | datetime, end_date: str | datetime | None = None,
                 minute_offset: int = 0, hour_offset: int = 0, day_offset: int = 0,
                 timezone: str | None = None, fmt: str | None = None,
                 end_offset: int = 0) -> None:
        super().__init__(start=start_date, end=end_date, fmt=fmt or "%Y-%m-%d",
                         timezone=timezone, end_offset=end_offset,
                         cron_schedule=f"{minute_offset} {hour_offset} * * {day_offset}")


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per month, starting on day ``day_offset`` (default 1)."""

    def __init__(self, start_date: str | datetime, end_date: str | datetime | None = None,
                 minute_offset: int = 0, hour_offset: int = 0, day_offset: int = 1,
                 timezone: str | None = None, fmt: str | None = None,
                 end_offset: int = 0) -> None:
        super().__init__(start=start_date, end=end_date, fmt=fmt or "%Y-%m-%d",
                         timezone=timezone, end_offset=end_offset,
                         cron_schedule=f"{minute_offset} {hour_offset} {day_offset} * *")


class MultiPartitionKey(str):
    """A key of a MultiPartitionsDefinition: a str (``"red|2024-01-01"``) that also knows
    its parts: ``key.keys_by_dimension == {"color": "red", "date": "2024-01-01"}``."""

    keys_by_dimension: dict[str, str]

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        names = sorted(keys_by_dimension)
        obj = super().__new__(cls, "|".join(keys_by_dimension[n] for n in names))
        obj.keys_by_dimension = {n: keys_by_dimension[n] for n in names}
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (MultiPartitionKey, (self.keys_by_dimension,))


class PartitionDimensionDefinition(NamedTuple):
    name: str
    partitions_def: PartitionsDefinition


class MultiPartitionsDefinition(PartitionsDefinition):
    """The product of two partitions definitions, each named:
    ``MultiPartitionsDefinition({"date": DailyPartitionsDefinition(...),
    "color": StaticPartitionsDefinition([...])})``. Keys are MultiPartitionKeys."""

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        if not isinstance(partitions_defs, Mapping) or len(partitions_defs) != 2:
            raise DefinitionError(
                f"MultiPartitionsDefinition takes a dict of exactly two named dimensions, "
                f"e.g. {{'date': DailyPartitionsDefinition(...), 'region': "
                f"StaticPartitionsDefinition([...])}}; got {partitions_defs!r}")
        for name, d in partitions_defs.items():
            if not isinstance(d, PartitionsDefinition) or isinstance(
                    d, MultiPartitionsDefinition):
                raise DefinitionError(f"MultiPartitionsDefinition: dimension {name!r} must be "
                                      f"a static or time-window definition, got {d!r}")
        times = [n for n, d in partitions_defs.items()
                 if isinstance(d, TimeWindowPartitionsDefinition)]
        if len(times) > 1:
            raise DefinitionError("MultiPartitionsDefinition: at most one time-window dimension")
        self.partitions_defs = [PartitionDimensionDefinition(n, partitions_defs[n])
                                for n in sorted(partitions_defs)]
        self.time_window_dimension = (PartitionDimensionDefinition(
            times[0], partitions_defs[times[0]]) if times else None)

    @property
    def partition_dimension_names(self) -> list[str]:
        return [d.name for d in self.partitions_defs]

    def get_partition_keys(self, current_time: datetime | float | None = None,
                           dynamic_partitions_store: Any = None) -> list[str]:
        names = self.partition_dimension_names
        per_dim = [d.partitions_def.get_partition_keys(current_time) for d in self.partitions_defs]
        return [MultiPartitionKey(dict(zip(names, combo))) for combo in itertools.product(*per_dim)]

    def get_partition_key_from_str(self, partition_key_str: str) -> MultiPartitionKey:
        parts = partition_key_str.split("|")
        names = self.partition_dimension_names
        if len(parts) != len(names):
            raise DefinitionError(
                f"multi-partition key {partition_key_str!r} must have {len(names)} parts "
                f"joined by '|' in dimension order {names}")
        return MultiPartitionKey(dict(zip(names, parts)))

    def has_partition_key(self, partition_key: str,
                          current_time: datetime | float | None = None) -> bool:
        parts = str(partition_key).split("|")
        if len(parts) != len(self.partitions_defs):
            return False
        return all(d.partitions_def.has_partition_key(p, current_time)
                   for d, p in zip(self.partitions_defs, parts))

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        if self.time_window_dimension is None:
            raise DefinitionError(f"{self!r} has no time-window dimension")
        k = self.get_partition_key_from_str(partition_key)
        pdef = self.time_window_dimension.partitions_def
        return pdef.time_window_for_partition_key(  # type: ignore[attr-defined]
            k.keys_by_dimension[self.time_window_dimension.name])

    time_window_for = time_window_for_partition_key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultiPartitionsDefinition) and \
            other.partitions_defs == self.partitions_defs

    def __hash__(self) -> int:
        return hash(tuple(self.partitions_defs))

    def __repr__(self) -> str:
        dims = ", ".join(f"{d.name!r}: {d.partitions_def!r}" for d in self.partitions_defs)
        return f"MultiPartitionsDefinition({{{dims}}})"


def time_window_of(pdef: Any, key: str | None = None,
                   key_range: PartitionKeyRange | None = None) -> TimeWindow | None:
    """The time window of a key or range under ``pdef`` (None if it is not time-based)."""
    if isinstance(pdef, TimeWindowPartitionsDefinition):
        if key_range is not None and key_range.start != key_range.end:
            return pdef.time_window_for_partition_key_range(key_range)
        return pdef.time_window_for_partition_key(key if key is not None else key_range.start)
    if isinstance(pdef, MultiPartitionsDefinition) and pdef.time_window_dimension is not None:
        return pdef.time_window_for_partition_key(key if key is not None else key_range.start)
    return None


_ = (time, timedelta)
