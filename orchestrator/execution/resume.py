"""Resuming a run whose orchestrator process died (``orchestrator runs resume RUN_ID``).

When the process executing a run is killed (SIGKILL, OOM, a reboot of the orchestrator's
container) the run stays ``STARTED`` while the external work it launched may still be
running. :func:`resume_run` takes the run over in this process and finishes it in the same
run id::

    from orchestrator.execution.resume import orphaned_runs, resume_run

    for run in orphaned_runs(instance):          # STARTED runs whose process is gone
        result = resume_run(instance, run.run_id)  # job loaded from run.code_location
        print(run.run_id, result.success)

What it does, in order:

1. **Refuses** a run that is finished, not ``STARTED``, unknown, or whose process is still
   alive (the run's ``orchestrator/pid`` tag, and the process that made each uncollected
   pipes launch, e.g. a multiprocess step process, which would collect its own work). A run
   that records no process at all is refused unless ``force=True``.
2. **Takes over**: an ``ENGINE_EVENT`` (``data.resumed``) and this process's pid tags, so
   ``runs cancel`` now signals this process. A lock file in the instance home makes a
   second concurrent resume of the same run fail instead of collecting the work twice.
3. **Steps in progress** (``STEP_START`` without an end):

   - with an uncollected pipes launch (``EXTERNAL_LAUNCHED`` without ``pipes_exit``): the
     pipes session is rebuilt from the stored events
     (:func:`orchestrator.pipes.reattach_pipes_session`) and reads on from the stored cursor,
     so no message or log line is lost or stored twice; once the work ended the step is
     finished *as if its function had returned* ``session.get_results()``: the verdict of
     ``check_outcome()`` (exit code when the launcher knows it, remote exception, session
     opened and closed, every selected asset and check reported), materializations, check
     results and output values through the IO managers, ``STEP_SUCCESS`` or
     ``STEP_FAILURE``. Code of the asset after the ``run(...)`` call does not run again.
   - without one (the step was computing in the dead process, or between launches): the
     step fails with :class:`StepInterruptedError`; a step with a retry policy (its own or
     the job's ``op_retry_policy``) is retried instead, like any failure, and its next
     attempt runs here from the start.

   A step that was waiting for a retry is run (attempt numbering goes on).
4. **The rest of the plan** runs as usual with the job's executor; inputs from steps that
   succeeded before the crash are loaded through their IO managers (the same run id), and
   steps downstream of failures are skipped as they would have been.
5. The run's end event (``RUN_SUCCESS``, ``RUN_FAILURE``, ``RUN_CANCELED``).

Limits: a launcher that reattached to work that is not its child may not know its exit code
(the subprocess launcher does not), so a process that closed its session cleanly and then
exited non-zero counts as a success; of several uncollected launches of one step only the
last is collected; the lock only excludes resumes on this machine; the run config is the
one the run recorded (secrets redacted: pass ``run_config=`` when resources need them).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import DefinitionError, OrchestratorError, RunCanceledError
from ..events import Event, EventType, RunRecord, RunStatus
from .cancel import HOST_TAG, PID_START_TAG, PID_TAG, process_tags, run_process_alive

__all__ = ["StepInterruptedError", "orphaned_runs", "resume_run"]

_log = logging.getLogger("orchestrator")
#: Event types that say where a run's steps stand (read once when resuming).
_STATE_TYPES = [EventType.STEP_START, EventType.STEP_SUCCESS, EventType.STEP_FAILURE,
                EventType.STEP_SKIPPED, EventType.STEP_UP_FOR_RETRY, EventType.HANDLED_OUTPUT,
                EventType.STEP_OUTPUT, EventType.ASSET_MATERIALIZATION,
                EventType.ASSET_CHECK_EVALUATION, EventType.EXTERNAL_LAUNCHED,
                EventType.ENGINE_EVENT]
_END = {EventType.STEP_SUCCESS: "success", EventType.STEP_FAILURE: "failure",
        EventType.STEP_SKIPPED: "skipped"}


class StepInterruptedError(OrchestratorError):
    """A step was running in an orchestrator process that died, with no external work to
    collect; :func:`resume_run` fails the step with it (or retries it, with a retry policy)."""


# -- which runs are orphaned --------------------------------------------------------------------
def _open_launches(events: Sequence[Event]) -> list[Event]:
    from ..pipes.cancel import open_launches

    return open_launches(list(events))


def _launch_process_alive(ev: Event) -> bool | None:
    """Whether the orchestrator process that made a pipes launch is alive (None: unknown)."""
    pid = ev.data.get("orchestrator_pid")
    if pid is None:
        return None
    tags = {PID_TAG: str(pid), HOST_TAG: str(ev.data.get("orchestrator_host") or "")}
    if ev.data.get("orchestrator_start_time") is not None:
        tags[PID_START_TAG] = str(ev.data["orchestrator_start_time"])
    return run_process_alive(RunRecord(run_id=ev.run_id, job_name="", tags=tags))


def _owners(run: RunRecord, events: Sequence[Event]) -> tuple[list[str], list[str], bool]:
    """(live processes, dead processes, whether any process is recorded) of a run, as text."""
    live, dead = [], []
    known = False
    here = socket.gethostname()
    host = run.tags.get(HOST_TAG)
    if run.tags.get(PID_TAG) is not None:
        known = True
        if host not in (None, here):
            raise OrchestratorError(
                f"run {run.run_id} executes on host {host!r} (pid {run.tags[PID_TAG]}), not on "
                f"this one ({here!r}); resume it there (`orchestrator runs resume "
                f"{run.run_id}`)")
        alive = run_process_alive(run)
        (live if alive else dead).append(f"pid {run.tags[PID_TAG]}")
    for ev in _open_launches(events):
        lhost = ev.data.get("orchestrator_host")
        if lhost not in (None, here):
            raise OrchestratorError(
                f"run {run.run_id}: step '{ev.step_key}' launched external work from host "
                f"{lhost!r}, not this one ({here!r}); resume the run there")
        alive = _launch_process_alive(ev)
        if alive is None:
            continue
        known = True
        what = f"pid {ev.data['orchestrator_pid']} (step '{ev.step_key}')"
        if what.split(" (")[0] in live + dead:
            continue
        (live if alive else dead).append(what)
    return live, dead, known


def orphaned_runs(instance: Any, *, statuses: Sequence[RunStatus] = (RunStatus.STARTED,
                                                                     RunStatus.CANCELING),
                  ) -> list[RunRecord]:
    """Runs of this host that are not finished but whose every recorded process is gone
    (newest first). Resume a ``STARTED`` one with :func:`resume_run`; mark one CANCELED (and
    stop the external work it left) with
    :func:`~orchestrator.execution.cancel.cancel_run`. Runs that record no process (started
    from Python without pid tags) and runs of other hosts are not listed: nobody can tell
    here whether they still run. For the daemon::

        for run in orphaned_runs(instance, statuses=[RunStatus.STARTED]):
            resume_run(instance, run.run_id)
    """
    out = []
    storage = instance.run_storage
    for run in storage.get_runs(statuses=list(statuses)):
        host = run.tags.get(HOST_TAG)
        if host is not None and host != socket.gethostname():
            continue
        events = storage.get_events(run.run_id, event_types=[EventType.EXTERNAL_LAUNCHED,
                                                             EventType.ENGINE_EVENT])
        try:
            live, _dead, known = _owners(run, events)
        except OrchestratorError:  # work launched from another host
            continue
        if known and not live:
            out.append(run)
    return out


# -- taking a run over --------------------------------------------------------------------------
@contextmanager
def _takeover_lock(instance: Any, run_id: str) -> Iterator[None]:
    """An exclusive lock on the run in this instance (fails at once if held elsewhere)."""
    import fcntl

    lock_dir = os.path.join(str(instance.home), "locks")
    os.makedirs(lock_dir, exist_ok=True)
    path = os.path.join(lock_dir, f"resume-{run_id}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OrchestratorError(
                f"run {run_id} is being resumed by another process (lock {path} is held); "
                f"wait for it, or follow the run with `orchestrator runs show {run_id} "
                f"--follow`") from None
        yield
    finally:
        os.close(fd)


def _check_resumable(run: RunRecord | None, run_id: str, instance: Any) -> RunRecord:
    if run is None:
        raise OrchestratorError(f"no run {run_id!r} in the instance at {instance.home}; list "
                                f"runs with `orchestrator runs list --orphaned`")
    if run.status.is_finished:
        raise OrchestratorError(f"run {run.run_id} already finished ({run.status.value}); there "
                                f"is nothing to resume (re-execute it with `orchestrator runs "
                                f"reexecute {run.run_id} --from-failure`)")
    if run.status is RunStatus.CANCELING:
        raise OrchestratorError(f"run {run.run_id} was being canceled when its process died; "
                                f"finish the cancellation with `orchestrator runs cancel "
                                f"{run.run_id}` instead of resuming it")
    if run.status is not RunStatus.STARTED:
        raise OrchestratorError(f"run {run.run_id} is {run.status.value}, not STARTED: it has "
                                f"not started executing, so there is nothing to resume (the "
                                f"run queue starts it)")
    return run


def load_job_for_run(run: RunRecord) -> Any:
    """The run's job, from the code location the run recorded (``RunRecord.code_location``)."""
    from ..code_location import CodeLocationError, CodeLocationOrigin

    if not run.code_location:
        raise CodeLocationError(
            f"run {run.run_id} records no code location (it was not started from the command "
            f"line); pass the job: resume_run(instance, run_id, job) or `orchestrator runs "
            f"resume {run.run_id} -f path/to/definitions.py`")
    origin = CodeLocationOrigin.from_pointer(run.code_location)
    try:
        defs = origin.load()
    except CodeLocationError as exc:
        raise CodeLocationError(
            f"{exc}\n(the code location {run.code_location!r} is the one run {run.run_id} "
            f"recorded; if the code moved, pass -f or -m to load it from where it is now)",
            location=exc.location, user_traceback=exc.user_traceback) from None
    return job_from_definitions(defs, run)


def job_from_definitions(defs: Any, run: RunRecord) -> Any:
    """The job of *run* in *defs* (its named job, or its asset selection)."""
    from .api import EPHEMERAL_ASSET_JOB

    if run.job_name == EPHEMERAL_ASSET_JOB:
        from ..asset_key import AssetKey

        return defs.asset_job([AssetKey.from_user_string(k) for k in run.asset_selection or []])
    return defs.get_job_def(run.job_name)


# -- the plan and where its steps stand ----------------------------------------------------------
def _build_plan(job: Any, run: RunRecord, storage: Any) -> tuple[Any, Any]:
    """(plan, asset graph) of *run* as its process built it (re-executions included)."""
    from .api import _rebind, _resolve_reused_fan_outs, _reusable_steps
    from .plan import ExecutionPlan, build_asset_plan, build_graph_plan

    layer = getattr(job, "asset_layer", None)
    graph = layer.asset_graph if layer is not None else None
    if layer is not None:
        keys = set(layer.selected_keys)
        if run.asset_selection is not None:
            from ..asset_key import AssetKey

            wanted = {AssetKey.from_user_string(k) for k in run.asset_selection}
            keys = wanted & set(graph.all_keys)
            if keys != wanted:
                missing = sorted(k.to_user_string() for k in wanted - keys)
                raise DefinitionError(
                    f"run {run.run_id} materializes {missing}, which the job '{job.name}' loaded "
                    f"now does not define; resume it with the code it ran (pass -f/-m)")
        full = build_asset_plan(graph, keys, layer.selected_checks, job.name, job.tags)
    else:
        full = build_graph_plan(job)
    if run.step_keys_to_execute is None or not run.parent_run_id:
        return full, graph
    # a re-execution: the steps it did not run are read from the runs that produced them
    parent = storage.get_run(run.parent_run_id)
    if parent is None:
        raise OrchestratorError(f"run {run.run_id} re-executes run {run.parent_run_id}, which "
                                f"is no longer in the instance; it cannot be resumed")
    origin = _reusable_steps(storage, parent)
    to_run = set(run.step_keys_to_execute)
    origin = {k: v for k, v in origin.items() if k not in to_run}
    _resolve_reused_fan_outs(storage, full, origin)
    plan = ExecutionPlan(steps={}, job_name=full.job_name)
    for key in full.topo_order():
        s = full.steps[key]
        if key in origin:
            continue
        s.inputs = {n: _rebind(src, set(origin), origin) for n, src in s.inputs.items()}
        s.extra_deps = {d for d in s.extra_deps if d not in origin}
        plan.steps[key] = s
    plan.templates = full.templates
    plan.full_plan = full  # type: ignore[attr-defined]
    return plan, graph


class _StepState:
    __slots__ = ("attempt", "checks", "exits", "launches", "mapping_keys", "outputs", "state")

    def __init__(self) -> None:
        self.state = "new"  # new | running | retry | success | failure | skipped
        self.attempt = 0
        self.outputs: set[tuple[str, str | None]] = set()
        self.mapping_keys: dict[str, list[str]] = {}
        self.checks: list[Event] = []
        self.launches: list[Event] = []
        self.exits: list[Event] = []  # ENGINE_EVENTs with pipes_exit: collected launches


def _step_states(events: Sequence[Event]) -> dict[str, _StepState]:
    states: dict[str, _StepState] = {}
    for ev in events:
        key = ev.step_key
        if key is None:
            continue
        st = states.get(key)
        if st is None:
            st = states[key] = _StepState()
        et = ev.event_type
        if et is EventType.STEP_START:
            st.state = "running"
            st.attempt = int(ev.data.get("retry_number") or 0)
        elif et in _END:
            st.state = _END[et]
        elif et is EventType.STEP_UP_FOR_RETRY:
            st.state = "retry"
            st.attempt = int(ev.data.get("retry_number") or 0) + 1
        elif et is EventType.HANDLED_OUTPUT or et is EventType.STEP_OUTPUT:
            name = ev.data.get("output_name")
            mk = ev.data.get("mapping_key")
            if name is not None:
                st.outputs.add((name, mk))
                if mk is not None:
                    st.mapping_keys.setdefault(name, []).append(mk)
        elif et is EventType.ASSET_MATERIALIZATION and ev.asset_key is not None:
            st.outputs.add(("@asset", ev.asset_key.to_user_string()))
        elif et is EventType.ASSET_CHECK_EVALUATION:
            st.checks.append(ev)
        elif et is EventType.EXTERNAL_LAUNCHED:
            st.launches.append(ev)
        elif et is EventType.ENGINE_EVENT and ev.data.get("pipes_exit"):
            st.exits.append(ev)
    return states


def _outcome_from_events(step: Any, st: _StepState) -> Any:
    """The :class:`StepOutcome` a finished step had, rebuilt from its events."""
    from .step import StepOutcome

    produced: set[tuple[str, str | None]] = set()
    by_key = {k.to_user_string(): n for n, k in step.keys_by_output.items()}
    for name, extra in st.outputs:
        if name == "@asset":
            if extra in by_key:
                produced.add((by_key[extra], None))
        else:
            produced.add((name, extra))
    out = StepOutcome(step.key, st.state, produced=produced,
                      dynamic={n: list(dict.fromkeys(m)) for n, m in st.mapping_keys.items()})
    for ev in st.checks:
        if ev.data.get("passed"):
            continue
        out.failed_checks.append(f"{ev.asset_key.to_user_string()}:{ev.data.get('check_name')}")
        if ev.data.get("blocking") and ev.data.get("severity") == "ERROR":
            out.blocked_assets.add(ev.asset_key)
    return out


def _seed(active: Any, plan: Any, states: Mapping[str, _StepState]) -> list[str]:
    """Put the finished steps into *active* (as the dead process had them); the keys of the
    steps that were in progress, in plan order. Steps waiting for a retry keep their count."""
    in_progress: list[str] = []
    seen: set[str] = set()
    progressed = True
    while progressed:  # finishing a dynamic step makes its mapped steps
        progressed = False
        for key in list(active.pending):
            if key in seen:
                continue
            seen.add(key)
            st = states.get(key)
            if st is None or st.state == "new":
                continue
            progressed = True
            if st.state in ("success", "failure", "skipped"):
                active.finish(plan.steps[key], _outcome_from_events(plan.steps[key], st))
            elif st.state == "retry":
                active.attempts[key] = st.attempt
            else:
                in_progress.append(key)
    return in_progress


# -- finishing steps that were in progress -----------------------------------------------------
def _collector(rc: Any, step: Any, st: _StepState, grace: float
               ) -> tuple[Callable[[], Any], Any]:
    """What stands in for the step's compute (collect its reattached launch, or fail it), and
    the reattached session (``None`` when there is none)."""
    from ..pipes.cancel import open_launches

    open_ = open_launches(st.launches + st.exits)
    if not open_:
        def interrupted() -> Any:
            where = "computing in the orchestrator process"
            if st.launches:
                where = "after its external work had been collected"
            raise StepInterruptedError(
                f"step '{step.key}' was interrupted: the orchestrator process running the run "
                f"died while the step was {where}, so there is nothing to collect. It is "
                f"retried when it has a retry policy (RetryPolicy on the asset/op or "
                f"op_retry_policy on the job); otherwise re-execute the run from failure")
        return interrupted, None
    launch = open_[-1]
    try:
        from ..pipes.session import reattach_pipes_session

        session = reattach_pipes_session(rc.instance, rc.run_id, step_key=step.key,
                                         sink=rc.emit_many, wait=False)
    except Exception as exc:  # noqa: BLE001 - the step fails with it
        error = exc

        def cannot() -> Any:
            raise OrchestratorError(
                f"step '{step.key}': could not reattach to its external work "
                f"{launch.data.get('handle')!r:.200}: {type(error).__name__}: {error}"
            ) from error
        return cannot, None
    rc.emit(Event(EventType.ENGINE_EVENT, rc.run_id, step_key=step.key, level=20,
                  message=f"[pipes] reattached to external work of step '{step.key}' "
                          f"({launch.data.get('launcher')} {_handle_text(launch)}); reading on "
                          f"from the stored cursor",
                  data={"reattached": True, "launch_id": launch.data.get("launch_id")}))

    def collect() -> Any:
        try:
            session.wait(grace)
        finally:
            session.close()
        session.check_outcome()
        return session.get_results()
    return collect, session


def _stop_sessions(sessions: Sequence[Any], grace: float, exc: BaseException) -> None:
    """Cancel and close reattached sessions whose steps were not finished (interrupted)."""
    for session in sessions:
        if session is None:
            continue
        try:
            session.cancel(grace, reason=f"resume interrupted: {type(exc).__name__}: {exc}")
        except Exception:  # noqa: BLE001 - stop the others anyway
            _log.exception("could not stop reattached external work %r", session.handle)
        finally:
            session.close()


def _handle_text(ev: Event) -> str:
    handle = ev.data.get("handle") or {}
    if "pid" in handle:
        return f"pid {handle['pid']}"
    return ", ".join(f"{k} {v}" for k, v in handle.items() if k != "launcher")[:120]


# -- the whole run -----------------------------------------------------------------------------
def resume_run(instance: Any, run_id: str, job: Any = None, *,
               resources: Mapping[str, Any] | None = None, run_config: Any = None,
               force: bool = False, termination_grace_period: float = 10.0,
               raise_on_error: bool = False, log_level: int | str | None = None,
               console: bool | None = None,
               extra_sinks: Sequence[Callable[[list[Event]], None]] = ()) -> Any:
    """Finish run *run_id* in this process after the process executing it died (see the
    module docstring) and return its :class:`~orchestrator.execution.result.ExecutionResult`.

    *job* defaults to the run's job loaded from its recorded code location; *resources* and
    *run_config* default to the job's and the run's (give them for runs started from Python
    with resources passed to ``materialize``). Raises
    :class:`~orchestrator.errors.OrchestratorError` when the run cannot be resumed (unknown,
    finished, not started, its process alive, being resumed elsewhere), saying why and what
    to do instead::

        result = resume_run(instance, run_id)
        assert result.success
    """
    from .api import (
        RunContext,
        _default_resources,
        _finish_run,
        _inject_io_base,
        _plugin_call,
        _plugin_sinks,
        _required_resource_keys,
        _resolve_partitions,
        _resolve_run_config,
        _signals_cancel,
        _with_dependencies,
    )
    from .executors import ActiveExecution, execute_in_process, execute_multiprocess
    from .log import ConsoleRenderer, coerce_level, python_logging_sink
    from .result import ExecutionResult

    storage = instance.run_storage
    _check_resumable(storage.get_run(run_id), run_id, instance)
    with _takeover_lock(instance, run_id):
        run = _check_resumable(storage.get_run(run_id), run_id, instance)
        events = storage.get_events(run_id, event_types=_STATE_TYPES)
        live, dead, known = _owners(run, events)
        if live:
            raise OrchestratorError(
                f"run {run_id} is still executing: its process ({', '.join(live)}) is alive. "
                f"Only a run whose process died can be resumed; follow it with `orchestrator "
                f"runs show {run_id} --follow`, or stop it with `orchestrator runs cancel "
                f"{run_id}`")
        if not known and not force:
            raise OrchestratorError(
                f"run {run_id} is STARTED but records no process (no {PID_TAG} tag and no "
                f"pipes launch; runs started from Python without process_tags() have none), "
                f"so whether it still runs cannot be told. Make sure nothing executes it, then "
                f"resume it with force=True (`--force`)")
        if job is None:
            job = load_job_for_run(run)
        plan, asset_graph = _build_plan(job, run, storage)
        resource_defs = {**_default_resources(instance), **job.resource_defs,
                         **dict(resources or {})}
        required = _required_resource_keys(plan, asset_graph)
        missing = sorted(k for k in required if k not in resource_defs)
        if missing:
            raise DefinitionError(
                f"resuming run {run_id} of job '{job.name}' needs resources {missing}, which "
                f"are not provided; provided: {sorted(resource_defs)}. Pass them in "
                f"resources= (or Definitions(resources=...) in the run's code location)")
        needed = _with_dependencies(required, resource_defs)
        resolved, input_config, _ = _resolve_run_config(
            job, plan, run_config if run_config is not None else run.run_config,
            {k: resource_defs[k] for k in needed})
        ranged = bool(run.partition and "..." in run.partition)
        pdef, partition_key, key_range, partition_keys = _resolve_partitions(
            job, plan, asset_graph, None if ranged else run.partition,
            run.partition if ranged else None)

        sinks: list[Callable[[list[Event]], None]] = []
        if console is not False:
            sinks.append(ConsoleRenderer(coerce_level(log_level, logging.INFO)))
        loggers = getattr(job, "logger_defs", {}).values()
        handlers = [h for h in loggers if isinstance(h, (logging.Handler, logging.Logger))]
        if handlers:
            sinks.append(python_logging_sink(handlers))
        sinks.extend(f for f in loggers
                     if callable(f) and not isinstance(f, (logging.Handler, logging.Logger)))
        sinks.extend(extra_sinks)
        sinks.extend(_plugin_sinks())
        exec_name = job.executor_def.name if job.executor_def else "in_process"
        rc = RunContext(run=run, instance=instance, job=job, plan=plan,
                        resolved_config=resolved, input_config=input_config, sinks=sinks,
                        asset_graph=asset_graph, partition_key=partition_key,
                        keep_values=exec_name == "in_process",
                        full_plan=getattr(plan, "full_plan", None))
        rc.partition_key_range = key_range
        rc.partitions_def = pdef if pdef is not None else rc.partitions_def
        rc.partition_keys = partition_keys

        states = _step_states(events)
        active = ActiveExecution(plan, rc)
        rc.active = active
        in_progress = _seed(active, plan, states)
        known_keys = set(active.done) | set(active.attempts) | set(in_progress)
        unknown = sorted(k for k, st in states.items()
                         if st.state != "new" and k not in known_keys)
        if unknown:
            raise DefinitionError(
                f"run {run_id} has steps {unknown} that job '{job.name}' as loaded now does "
                f"not have (did the code change since the run started?); resume it with the "
                f"code it ran (-f/-m), or stop it with `orchestrator runs cancel {run_id}`")

        tags = process_tags()
        storage.update_run(run_id, tags=tags)
        run.tags.update(tags)
        previous = ", ".join(dead) or "not recorded"
        rc.emit(Event(EventType.ENGINE_EVENT, run_id, level=30,
                      message=f"resuming run in process {tags[PID_TAG]} on "
                              f"{tags[HOST_TAG]}: the process that executed it ({previous}) is "
                              f"gone",
                      data={"resumed": True, "pid": int(tags[PID_TAG]),
                            "previous": dead}))

        status, error = RunStatus.FAILURE, None
        try:
            with _signals_cancel():
                from ..resources import build_resources

                with build_resources({k: resource_defs[k] for k in needed},
                                     resolved.resources, instance=instance,
                                     log=rc.logger_for(None), run_id=run_id) as built:
                    rc.resources = built
                    _inject_io_base(built, instance)
                    from .step import run_step

                    # reattach every launch first, so all are read while we wait for each
                    collectors = [(plan.steps[k], *_collector(rc, plan.steps[k], states[k],
                                                              termination_grace_period))
                                  for k in in_progress]
                    next_index = 0  # collectors[next_index:] are not waited for yet
                    try:
                        for step, collect, _session in collectors:
                            next_index += 1
                            active.attempts[step.key] = states[step.key].attempt
                            attempt = active.start(step)
                            outcome = run_step(step, rc, attempt, resumed=collect)
                            active.finish(step, outcome)
                    except BaseException as exc:
                        # interrupted: stop the reattached work not waited for yet
                        _stop_sessions([c[2] for c in collectors[next_index:]],
                                       termination_grace_period, exc)
                        raise
                    if exec_name == "multiprocess":
                        mc = job.executor_def.config.get("max_concurrent", 0)
                        execute_multiprocess(plan, rc, mc or 0, active=active)
                    else:
                        execute_in_process(plan, rc, active=active)
            failed = [k for k, s in active.done.items() if s == "failure"]
            status = RunStatus.FAILURE if failed or active.blocked else RunStatus.SUCCESS
        except (KeyboardInterrupt, RunCanceledError) as exc:
            status, error = RunStatus.CANCELED, exc
        except BaseException as exc:  # noqa: BLE001 - resources, engine errors
            status, error = RunStatus.FAILURE, exc
        finally:
            _finish_run(rc, run, status, error, active)
    _plugin_call("on_run_end", run=run, instance=instance, status=status.value, error=error)
    result = ExecutionResult(run=run, instance=instance, values=rc.values, job_name=job.name)
    result._asset_keys_by_output = {(s.key, n): k for s in plan.steps.values()
                                    for n, k in s.keys_by_output.items()}
    if isinstance(error, KeyboardInterrupt) and type(error) is KeyboardInterrupt:
        raise error
    if raise_on_error and status is not RunStatus.SUCCESS:
        from ..errors import StepFailedError

        if isinstance(error, OrchestratorError):
            raise error
        raise StepFailedError(f"resumed run {run_id} of '{job.name}' ended {status.value}"
                              + (f": {type(error).__name__}: {error}" if error else "")
                              ) from error
    return result
