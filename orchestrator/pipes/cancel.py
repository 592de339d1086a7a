"""Stopping external work of a run from another process.

``orchestrator runs cancel RUN_ID`` (:func:`orchestrator.execution.cancel.cancel_run`) marks
the run CANCELING and sends SIGTERM to the process executing it (found through the run's
``orchestrator/pid`` tag, which every pipes launch records when the run lacks it); that
process's step then terminates its external process group (SIGTERM, then SIGKILL after the
grace period) and records the run CANCELED.

When that process is gone (crashed, SIGKILLed), the external work it launched may still be
running. :func:`terminate_orphaned_launches` finds every ``EXTERNAL_LAUNCHED`` handle of the
run that was never collected and cancels it through its launcher::

    from orchestrator.pipes import terminate_orphaned_launches

    stopped = terminate_orphaned_launches(instance, run_id, grace_period=5)
    print([h["pid"] for h in stopped])
"""

from __future__ import annotations

from typing import Any

from ..events import Event, EventType

__all__ = ["open_launches", "terminate_orphaned_launches"]


def open_launches(events: list[Event]) -> list[Event]:
    """``EXTERNAL_LAUNCHED`` events of *events* whose work was never collected (no
    ``pipes_exit`` engine event with the same ``launch_id``)."""
    ended = {ev.data.get("launch_id") for ev in events
             if ev.event_type is EventType.ENGINE_EVENT and ev.data.get("pipes_exit")}
    return [ev for ev in events if ev.event_type is EventType.EXTERNAL_LAUNCHED
            and ev.data.get("launch_id") not in ended]


def terminate_orphaned_launches(instance: Any, run_id: str, *,
                                grace_period: float = 10.0) -> list[dict[str, Any]]:
    """Cancel (SIGTERM, then SIGKILL after *grace_period*) and clean up every uncollected
    launch of *run_id*, recording an ``ENGINE_EVENT`` for each. Call it only when the
    orchestrator process that ran the run is gone: a live one collects its own work.
    Returns the handles of the work that was stopped or found already ended."""
    from ..plugins import get_launcher

    storage = instance.run_storage
    done: list[dict[str, Any]] = []
    for ev in open_launches(storage.get_events(run_id)):
        handle = ev.data.get("handle") or {}
        try:
            launcher = get_launcher(ev.data["launcher"])()
            status = launcher.reattach(handle)
            if status.state == "running":
                status = launcher.cancel(handle, grace_period)
            launcher.cleanup(handle)
        except Exception as exc:  # noqa: BLE001 - report it, go on with the others
            storage.store_events([Event(
                EventType.ENGINE_EVENT, run_id, step_key=ev.step_key, level=40,
                message=f"[pipes] could not stop external work {handle!r:.200}: "
                        f"{type(exc).__name__}: {exc}")])
            continue
        done.append(handle)
        storage.store_events([Event(
            EventType.ENGINE_EVENT, run_id, step_key=ev.step_key, level=30,
            message=f"[pipes] stopped external work {handle.get('pid', handle)!r} left by an "
                    f"orchestrator process that is gone ({status.stop_reason or status.state})",
            data={"pipes_exit": True, "launch_id": ev.data.get("launch_id"), "canceled": True,
                  "exit_code": status.exit_code})])
    return done
