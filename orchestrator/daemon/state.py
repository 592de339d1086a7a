"""What the daemon keeps in the run store's key-value table.

- ``("instigator_status", "all")``: ``{instigator id: "RUNNING" | "STOPPED"}``, set by
  ``orchestrator schedule/sensor start|stop``; an instigator absent from it follows its
  definition's ``default_status``.
- ``("instigator", id)``: one schedule's or sensor's state: ``last_tick_ts`` (schedules:
  the last scheduled time handled), ``last_eval`` (sensors), ``cursor``, ``last_run_key``,
  ``pending_tick`` (a sensor tick that started but did not finish), ``tick_seq`` (ticks
  recorded so far) and ``last_tick_id``.
- ``("instigator_tick", "<id>#<slot>")``: the newest :data:`MAX_TICKS` tick records, in a
  ring (slot = sequence number % MAX_TICKS), so that recording a tick stays a small write
  however long the history.
- ``("daemon", "heartbeat")``: ``{"pid", "host", "ts"}`` of the running daemon.

An instigator id is ``"<code location>:<name>"``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_TICKS", "InstigatorStore", "instigator_id"]

MAX_TICKS = 100
STATUS_NS, STATUS_KEY = "instigator_status", "all"
STATE_NS = "instigator"
TICK_NS = "instigator_tick"


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
        self.storage.kv_set(STATE_NS, iid, state)

    def record_tick(self, iid: str, state: dict[str, Any], tick: dict[str, Any]) -> None:
        """Write a tick record now; the same tick id again (re-evaluated after a crash)
        replaces the previous record. ``state`` is updated in memory (save it with put)."""
        seq = int(state.get("tick_seq") or 0)
        if seq and state.get("last_tick_id") == tick.get("id"):
            seq -= 1  # overwrite the slot of the same tick
        self.storage.kv_set(TICK_NS, f"{iid}#{seq % MAX_TICKS}", tick)
        state["tick_seq"] = seq + 1
        state["last_tick_id"] = tick.get("id")

    def ticks(self, iid: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Tick records, newest first."""
        seq = int(self.get(iid).get("tick_seq") or 0)
        n = min(seq, MAX_TICKS, limit or MAX_TICKS)
        out = []
        for i in range(seq - 1, seq - 1 - n, -1):
            tick = self.storage.kv_get(TICK_NS, f"{iid}#{i % MAX_TICKS}")
            if tick is not None:
                out.append(tick)
        return out
