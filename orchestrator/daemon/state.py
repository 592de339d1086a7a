"""What the daemon keeps in the run store's key-value table.

- ``("instigator_status", "all")``: ``{instigator id: "RUNNING" | "STOPPED"}``, set by
  ``orchestrator schedule/sensor start|stop``; an instigator absent from it follows its
  definition's ``default_status``.
- ``("instigator", id)``: one schedule's or sensor's state: ``last_tick_ts`` (schedules:
  the last scheduled time handled), ``last_eval`` (sensors), ``cursor``, ``last_run_key``,
  ``pending_tick`` (a sensor tick that started but did not finish) and ``ticks`` (the
  newest :data:`MAX_TICKS` tick records, newest last).
- ``("daemon", "heartbeat")``: ``{"pid", "host", "ts"}`` of the running daemon.

An instigator id is ``"<code location>:<name>"``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_TICKS", "InstigatorStore", "instigator_id"]

MAX_TICKS = 100
STATUS_NS, STATUS_KEY = "instigator_status", "all"
STATE_NS = "instigator"


def instigator_id(location: str, name: str) -> str:
    return f"{location}:{name}"


class InstigatorStore:
    """Read and write schedule/sensor status and state through a RunStorage."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def statuses(self) -> dict[str, str]:
        return dict(self.storage.kv_get(STATUS_NS, STATUS_KEY) or {})

    def set_status(self, iid: str, status: str, *, reset_from: float | None = None) -> None:
        """Start or stop an instigator. Starting one (``reset_from`` = now) makes its next
        tick the first after now: ticks of the stopped period are not caught up."""
        statuses = self.statuses()
        statuses[iid] = status
        self.storage.kv_set(STATUS_NS, STATUS_KEY, statuses)
        if reset_from is not None:
            state = self.get(iid)
            state["last_tick_ts"] = reset_from
            state["started_at"] = reset_from
            state.pop("pending_tick", None)
            self.put(iid, state)

    def get(self, iid: str) -> dict[str, Any]:
        return dict(self.storage.kv_get(STATE_NS, iid) or {})

    def put(self, iid: str, state: dict[str, Any]) -> None:
        ticks = state.get("ticks")
        if ticks and len(ticks) > MAX_TICKS:
            state["ticks"] = ticks[-MAX_TICKS:]
        self.storage.kv_set(STATE_NS, iid, state)

    def ticks(self, iid: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Tick records, newest first."""
        ticks = list(reversed(self.get(iid).get("ticks") or []))
        return ticks[:limit] if limit else ticks
