"""Live progress of a run on a terminal: steps done, running, failed, skipped.

:class:`StepProgress` is an event sink (give it to ``execute_job(extra_sinks=[...])``) that
keeps the counts; :func:`run_progress` shows them with a rich progress bar under the log
lines when stderr is a terminal, and does nothing otherwise (the log lines are plain
then)::

    with run_progress("materialize") as sinks:
        execute_job(job, extra_sinks=sinks)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["StepProgress", "run_progress"]


class StepProgress:
    """Counts steps by state from a run's events; ``on_change`` is called after each batch
    that changed something."""

    def __init__(self, on_change: Any = None) -> None:
        self.total = 0
        self.state: dict[str, str] = {}  # step key → running|succeeded|failed|skipped|retry
        self.on_change = on_change

    def __call__(self, events: list[Any]) -> None:
        from orchestrator.events import EventType

        changed = False
        for ev in events:
            et = ev.event_type
            if et is EventType.RUN_START:
                self.total = max(self.total, len(ev.data.get("step_keys") or ()))
                changed = True
            elif ev.step_key is None:
                continue
            elif et is EventType.STEP_START or et is EventType.STEP_RESTARTED:
                self.state[ev.step_key] = "running"
                changed = True
            elif et is EventType.STEP_SUCCESS:
                self.state[ev.step_key] = "succeeded"
                changed = True
            elif et is EventType.STEP_FAILURE:
                self.state[ev.step_key] = "failed"
                changed = True
            elif et is EventType.STEP_SKIPPED:
                self.state[ev.step_key] = "skipped"
                changed = True
            elif et is EventType.STEP_UP_FOR_RETRY:
                self.state[ev.step_key] = "retry"
                changed = True
        if changed and self.on_change is not None:
            self.on_change(self)

    def count(self, state: str) -> int:
        return sum(1 for s in self.state.values() if s == state)

    @property
    def finished(self) -> int:
        return sum(1 for s in self.state.values() if s in ("succeeded", "failed", "skipped"))

    def describe(self) -> str:
        running = [k for k, s in self.state.items() if s in ("running", "retry")]
        text = (f"done {self.count('succeeded')}  running {len(running)}  "
                f"failed {self.count('failed')}  skipped {self.count('skipped')}")
        if running:
            shown = ", ".join(running[:3]) + (" …" if len(running) > 3 else "")
            text += f"  [{shown}]"
        return text


@contextmanager
def run_progress(what: str) -> Iterator[list[Any]]:
    """Yield the extra sinks for a run: a live progress display on a terminal, none
    otherwise."""
    from ._common import stderr_is_terminal

    if not stderr_is_terminal():
        yield []
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[what]}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=console, transient=True,
                        redirect_stdout=True, redirect_stderr=True)
    task = progress.add_task("starting", total=None, what=what)

    def update(state: StepProgress) -> None:
        total = max(state.total, len(state.state)) or None
        progress.update(task, total=total, completed=state.finished,
                        description=state.describe())

    sink = StepProgress(update)
    with progress:
        yield [sink]
