"""The daemon: schedules, sensors, backfills and the run queue (``orchestrator daemon``).

Kept import-light; see :mod:`orchestrator.daemon.core`.
"""

from __future__ import annotations

from .clock import ManualClock
from .core import Daemon, DaemonTickSummary, LoadedLocation, run_id_for
from .queue import RunQueue, TagConcurrencyLimit, submit_run
from .state import InstigatorStore, instigator_id

__all__ = [
    "Daemon",
    "DaemonTickSummary",
    "InstigatorStore",
    "LoadedLocation",
    "ManualClock",
    "RunQueue",
    "TagConcurrencyLimit",
    "instigator_id",
    "run_id_for",
    "submit_run",
]
