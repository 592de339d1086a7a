"""Clocks for the daemon: the real one, and one that tests move by hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["ManualClock", "system_clock"]


def system_clock() -> float:
    return time.time()


class ManualClock:
    """A clock that only moves when told to: ``clock = ManualClock("2024-01-01T00:00:00Z")``,
    ``clock.advance(seconds=90)``, ``clock.set("2024-01-02T03:00:00Z")``; pass it as
    ``Daemon(clock=clock)``. Calling it returns the time (epoch seconds)."""

    def __init__(self, start: float | str | datetime = 0.0) -> None:
        self.now = self._to_ts(start)

    @staticmethod
    def _to_ts(value: float | str | datetime) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0,
                days: float = 0.0) -> float:
        self.now += seconds + 60 * minutes + 3600 * hours + 86400 * days
        return self.now

    def set(self, value: float | str | datetime) -> float:
        self.now = self._to_ts(value)
        return self.now

    @property
    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)
