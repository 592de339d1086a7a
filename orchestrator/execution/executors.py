"""Executors: run a plan's steps in this process, or in parallel child processes.

Both drive the same :class:`ActiveExecution` state machine, which decides which steps are
ready, which must be skipped (only what depends on a failure, a missing output or a failed
blocking check), makes dynamic steps, and schedules retries.

::

    defs = Definitions(
        assets=[...],
        executor=multiprocess_executor.configured({"max_concurrent": 4}),
    )
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import DefinitionError, RunCanceledError
from ..events import Event, EventType
from .plan import ExecutionPlan, FromFanIn, FromOutput, Step, sources_of
from .step import StepOutcome, run_step

__all__ = ["ExecutorDefinition", "in_process_executor", "multiprocess_executor"]


@dataclass(frozen=True)
class ExecutorDefinition:
    """Which executor runs a job's steps, and its config (``max_concurrent``)."""

    name: str
    config: Mapping[str, Any]

    def configured(self, config: Mapping[str, Any]) -> ExecutorDefinition:
        unknown = set(config) - {"max_concurrent", "start_method", "retries"}
        if unknown:
            raise DefinitionError(
                f"executor '{self.name}' has no config {sorted(unknown)}; it takes "
                f"max_concurrent")
        mc = config.get("max_concurrent")
        if mc is not None and (not isinstance(mc, int) or mc < 0):
            raise DefinitionError(
                f"executor '{self.name}': max_concurrent must be a positive int (0 = number of "
                f"CPUs), got {mc!r}")
        return ExecutorDefinition(self.name, {**self.config, **config})


in_process_executor = ExecutorDefinition("in_process", {})
multiprocess_executor = ExecutorDefinition("multiprocess", {"max_concurrent": 0})


class ActiveExecution:
    """Which steps are done, running, ready, skipped; shared by both executors."""

    def __init__(self, plan: ExecutionPlan, rc: Any) -> None:
        self.plan = plan
        self.rc = rc
        self.done: dict[str, str] = {}  # step key → success|failure|skipped|canceled
        self.produced: set[tuple[str, str, str | None]] = set()
        self.blocked: dict[str, set[Any]] = {}  # step key → blocked asset keys
        self.failed_checks: dict[str, list[str]] = {}
        self.running: set[str] = set()
        self.retry_at: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.pending: list[str] = plan.topo_order()

    def is_available(self, src: FromOutput) -> bool:
        if src.run_id is not None:
            return True
        return (src.step_key, src.output_name, src.mapping_key) in self.produced

    def _skip_reason(self, step: Step) -> str | None:
        for in_name, src in step.inputs.items():
            in_def = step.op.ins.get(in_name)
            for s in sources_of(src):
                if not isinstance(s, FromOutput) or s.run_id is not None:
                    continue
                if isinstance(src, FromFanIn) and self.done.get(s.step_key) == "success":
                    continue  # fan-in takes what was produced
                if not self.is_available(s):
                    up = self.done.get(s.step_key)
                    if up is None and s.step_key not in self.plan.steps:
                        from ..errors import InvariantError

                        raise InvariantError(
                            f"step '{step.key}' input '{in_name}' comes from step "
                            f"'{s.step_key}', which is not in the plan of job "
                            f"'{self.plan.job_name}'; this is a bug in the orchestrator")
                    if up == "success":
                        if in_def is not None and in_def.is_nothing:
                            continue
                        return (f"upstream '{s.step_key}' did not produce output "
                                f"'{s.output_name}'")
                    what = "was skipped" if up == "skipped" else "failed"
                    return f"upstream '{s.step_key}' {what}"
                up_step = self.plan.steps.get(s.step_key)
                if up_step is not None:
                    key = up_step.keys_by_output.get(s.output_name)
                    if key is not None and key in self.blocked.get(s.step_key, ()):
                        return (f"blocking check on '{key.to_user_string()}' failed: "
                                f"{', '.join(self.failed_checks.get(s.step_key, []))}")
        for dep in step.extra_deps:
            st = self.done.get(dep)
            if st == "failure" and self._read_assets_produced(step, dep):
                continue  # the assets this step reads were materialized before the failure
            if st in ("failure", "skipped", "canceled"):
                return f"upstream '{dep}' {'was skipped' if st == 'skipped' else 'failed'}"
            if dep in step.blocking_check_deps and self.failed_blocking(dep):
                return (f"blocking check '{dep}' failed: "
                        f"{', '.join(self.failed_checks.get(dep, []))}")
        for dep_step, keys in ((d, self.blocked.get(d, set())) for d in step.extra_deps):
            outs = step.extra_dep_outputs.get(dep_step)
            if keys and outs is not None and dep_step not in step.blocking_check_deps:
                up = self.plan.steps.get(dep_step)
                read = {up.keys_by_output.get(o) for o in outs} if up is not None else None
                if read is not None and not (keys & read):
                    continue  # blocked assets of that step are not ones this step reads
            if keys:
                return (f"blocking check on {sorted(k.to_user_string() for k in keys)} failed in "
                        f"'{dep_step}'")
        return None

    def _read_assets_produced(self, step: Step, dep: str) -> bool:
        outs = step.extra_dep_outputs.get(dep)
        if not outs or dep in step.blocking_check_deps:
            return False
        return all((dep, out, None) in self.produced for out in outs)

    def failed_blocking(self, check_step: str) -> bool:
        return bool(self.blocked.get(check_step))

    def ready(self) -> tuple[list[Step], list[Step]]:
        """(steps to run now, steps to skip now)."""
        now = time.monotonic()
        run, skip = [], []
        for key in list(self.pending):
            step = self.plan.steps[key]
            if key in self.running:
                continue
            if key in self.retry_at and self.retry_at[key] > now:
                continue
            if not step.is_resolved:
                continue
            ups = step.upstream_step_keys()
            if any(u not in self.done for u in ups if u in self.plan.steps or
                   u in self.plan.templates):
                continue
            if any(u in self.plan.templates for u in ups):
                continue
            reason = self._skip_reason(step)
            if reason is not None:
                skip.append(step)
                step._skip_reason = reason  # type: ignore[attr-defined]
            else:
                run.append(step)
        return run, skip

    def start(self, step: Step) -> int:
        self.running.add(step.key)
        return self.attempts.get(step.key, 0)

    def finish(self, step: Step, outcome: StepOutcome) -> None:
        self.running.discard(step.key)
        if outcome.status == "retry":
            self.attempts[step.key] = self.attempts.get(step.key, 0) + 1
            self.retry_at[step.key] = time.monotonic() + outcome.retry_delay
            return
        self.retry_at.pop(step.key, None)
        self.pending.remove(step.key)
        self.done[step.key] = outcome.status
        for out, mk in outcome.produced:
            self.produced.add((step.key, out, mk))
        if outcome.blocked_assets:
            self.blocked[step.key] = set(outcome.blocked_assets)
        if outcome.failed_checks:
            self.failed_checks[step.key] = list(outcome.failed_checks)
        for out, mks in outcome.dynamic.items():
            created = self.plan.resolve_dynamic(step.key, out, sorted(set(mks), key=mks.index))
            self.pending.extend(s.key for s in created)
        # templates mapped over a failed/empty dynamic output: resolve with no keys
        for out_name, out_def in step.op.outs.items():
            if out_def.is_dynamic and out_name not in outcome.dynamic:
                created = self.plan.resolve_dynamic(step.key, out_name, [])
                self.pending.extend(s.key for s in created)

    def skip(self, step: Step) -> None:
        reason = getattr(step, "_skip_reason", "upstream failed")
        self.pending.remove(step.key)
        self.done[step.key] = "skipped"
        self.rc.emit_many([Event(
            EventType.STEP_SKIPPED, self.rc.run_id,
            message=f"skipped '{step.key}': {reason}", step_key=step.key,
            asset_key=step.asset_keys[0] if len(step.asset_keys) == 1 else None,
            partition=self.rc.partition_key, level=30,
            data={"reason": reason, "asset_keys": [k.to_user_string() for k in step.asset_keys]},
        )])
        for out_name, out_def in step.op.outs.items():
            if out_def.is_dynamic:
                created = self.plan.resolve_dynamic(step.key, out_name, [])
                self.pending.extend(s.key for s in created)

    @property
    def finished(self) -> bool:
        return not self.pending

    def next_retry_wait(self) -> float | None:
        waits = [t - time.monotonic() for k, t in self.retry_at.items() if k not in self.running]
        return max(0.0, min(waits)) if waits else None


def execute_in_process(plan: ExecutionPlan, rc: Any,
                       active: ActiveExecution | None = None) -> ActiveExecution:
    """Run the plan's steps one by one (*active*: go on from a state, e.g. a resumed run)."""
    active = active if active is not None else ActiveExecution(plan, rc)
    rc.active = active
    while not active.finished:
        run, skip = active.ready()
        for s in skip:
            active.skip(s)
        if not run and not skip:
            wait = active.next_retry_wait()
            if wait is None:
                stuck = ", ".join(active.pending)
                raise DefinitionError(f"no step can run; stuck steps: {stuck}")  # pragma: no cover
            time.sleep(wait)
            continue
        for s in run[:1] if run else []:
            attempt = active.start(s)
            outcome = run_step(s, rc, attempt)
            active.finish(s, outcome)
    return active


# -- multiprocess ---------------------------------------------------------------------------
_PRCTL: list[Any] = []


def _prepare_die_with_parent() -> None:
    """Load ``prctl`` once in the run's process (Linux), so forked step processes can use it
    for ~50 us instead of importing ctypes each."""
    if _PRCTL or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        _PRCTL.append(ctypes.CDLL(None, use_errno=True).prctl)
    except Exception:  # noqa: BLE001 - no libc prctl: step processes outlive a killed parent
        _PRCTL.append(None)


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL this step process when the run's process dies (PR_SET_PDEATHSIG): its events
    go through the parent, so an orphaned step would collect its external work into a dead
    queue and clean it up; killed, it leaves the work to ``orchestrator runs resume``."""
    prctl = _PRCTL[0] if _PRCTL else None
    if prctl is not None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


def _child_main(step: Step, rc: Any, attempt: int, queue: Any, parent_pid: int = 0) -> None:
    """In a forked child: run one step, sending events and the outcome to the parent."""
    if parent_pid:
        _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _term(_s: int, _f: Any) -> None:
        from .step import Interrupted

        raise Interrupted("step process received SIGTERM")

    signal.signal(signal.SIGTERM, _term)
    rc.emit_many = lambda evs: queue.put(("events", list(evs)))
    rc.values = None
    try:
        outcome = run_step(step, rc, attempt)
        outcome.values = {}
        queue.put(("outcome", step.key, outcome))
    except BaseException as exc:  # noqa: BLE001
        from .step import serialize_error

        queue.put(("outcome", step.key, StepOutcome(step.key, "canceled" if isinstance(
            exc, (RunCanceledError, KeyboardInterrupt)) else "failure",
            error=serialize_error(exc))))
    finally:
        queue.close()
        queue.join_thread()


def execute_multiprocess(plan: ExecutionPlan, rc: Any, max_concurrent: int = 0,
                         active: ActiveExecution | None = None) -> ActiveExecution:
    import multiprocessing as mp
    import queue as _queue

    ctx = mp.get_context("fork")
    limit = max_concurrent or os.cpu_count() or 2
    active = active if active is not None else ActiveExecution(plan, rc)
    rc.active = active
    _prepare_die_with_parent()
    queue = ctx.Queue()
    procs: dict[str, Any] = {}
    rc.child_processes = procs
    try:
        while not active.finished:
            run, skip = active.ready()
            for s in skip:
                active.skip(s)
            for s in run:
                if len(procs) >= limit:
                    break
                attempt = active.start(s)
                p = ctx.Process(target=_child_main, args=(s, rc, attempt, queue, os.getpid()),
                                name=f"step:{s.key}", daemon=False)
                p.start()
                procs[s.key] = p
            if not procs:
                if not run and not skip:
                    wait = active.next_retry_wait()
                    if wait is None:
                        raise DefinitionError("no step can run; stuck steps: "
                                              + ", ".join(active.pending))
                    time.sleep(min(wait, 0.5))
                continue
            try:
                msg = queue.get(timeout=0.5)
            except _queue.Empty:  # not Exception: SIGTERM's RunCanceledError must get out
                for key, p in list(procs.items()):
                    if not p.is_alive():
                        p.join()
                        # a child that died without reporting (killed, segfault)
                        if key in active.running:
                            err = {"type": "ProcessDied", "message":
                                   f"step process exited with code {p.exitcode} without "
                                   f"reporting", "stack": [], "stack_text": ""}
                            rc.emit_many([Event(EventType.STEP_FAILURE, rc.run_id,
                                                message=f"step '{key}' process died (exit code "
                                                f"{p.exitcode})", step_key=key, level=40,
                                                data={"error": err})])
                            active.finish(plan.steps[key], StepOutcome(key, "failure",
                                                                       error=err))
                        del procs[key]
                continue
            if msg[0] == "events":
                rc.emit_many(msg[1])
            elif msg[0] == "outcome":
                _, key, outcome = msg
                active.finish(plan.steps[key], outcome)
                p = procs.pop(key, None)
                if p is not None:
                    p.join(timeout=5)
                if outcome.status == "canceled":
                    raise RunCanceledError(f"step '{key}' was canceled")
        return active
    finally:
        _terminate_all(procs)
        # drain remaining events
        while True:
            try:
                msg = queue.get_nowait()
            except Exception:
                break
            if msg[0] == "events":
                rc.emit_many(msg[1])


def _terminate_all(procs: dict[str, Any], grace: float = 5.0) -> None:
    for p in procs.values():
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs.values():
        p.join(timeout=max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(timeout=1)
