"""Running jobs and assets: ``materialize``, ``execute_job`` and re-execution.

::

    result = materialize([raw, clean], resources={"db": TestDB()}, run_config={...})
    assert result.success
    result = reexecute_run(instance, result.run_id, job, from_failure=True)
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ..asset_key import AssetKey
from ..errors import (
    ConfigError,
    DefinitionError,
    OrchestratorError,
    RunCanceledError,
    StepFailedError,
)
from ..events import Event, EventType, RunRecord, RunStatus
from ..ops import NO_VALUE
from .log import ConsoleRenderer, RunLogger, coerce_level, python_logging_sink
from .plan import ExecutionPlan, FromOutput, Step, build_asset_plan, build_graph_plan
from .result import ExecutionResult

__all__ = ["execute_job", "materialize", "materialize_to_memory", "reexecute_run"]

EPHEMERAL_ASSET_JOB = "__ephemeral_asset_job__"
_EXECUTORS = ("in_process", "multiprocess")


class RunContext:
    """Run-wide state the steps share (resources, config, event sink)."""

    def __init__(self, *, run: RunRecord, instance: Any, job: Any, plan: ExecutionPlan,
                 resolved_config: Any, input_config: dict[str, dict[str, Any]],
                 sinks: list[Callable[[list[Event]], None]], asset_graph: Any,
                 partition_key: str | None, keep_values: bool,
                 full_plan: ExecutionPlan | None = None) -> None:
        self.run = run
        self.run_id = run.run_id
        self.job_name = run.job_name
        self.instance = instance
        self.job = job
        self.plan = plan
        self._full_plan = full_plan or plan
        self.resolved = resolved_config
        self._input_config = input_config
        self.sinks = sinks
        self.asset_graph = asset_graph
        self.partition_key = partition_key
        self.partition_key_range = None
        self.partitions_def = getattr(job, "partitions_def", None)
        self.partition_keys: list[str] = [partition_key] if partition_key is not None else []
        self.values: dict[Any, Any] | None = {} if keep_values else None
        self.value_passing = False
        self.resources: Any = None
        self.op_retry_policy = getattr(job, "op_retry_policy", None)
        self.active: Any = None
        self._storage = instance.run_storage
        self._lock = threading.Lock()
        self._loggers: dict[tuple[str | None, Any], RunLogger] = {}

    def emit_many(self, events: list[Event]) -> None:
        with self._lock:
            self._storage.store_events(events)
        for sink in self.sinks:
            try:
                sink(events)
            except Exception:  # a console/custom logger must never break a run
                logging.getLogger("orchestrator").exception("event sink failed")

    def emit(self, event: Event) -> None:
        self.emit_many([event])

    def logger_for(self, step_key: str | None, asset_key: Any = None) -> RunLogger:
        k = (step_key, asset_key)
        lg = self._loggers.get(k)
        if lg is None:
            lg = self._loggers[k] = RunLogger(self.emit, self.run_id, step_key, asset_key)
        return lg

    def op_config(self, handle: str) -> Any:
        return self.resolved.ops.get(handle) if self.resolved is not None else None

    def input_config(self, handle: str, name: str) -> Any:
        entry = self._input_config.get(handle, {}).get(name, NO_VALUE)
        if isinstance(entry, Mapping) and "value" in entry:
            return entry["value"]
        return entry

    def producer(self, step_key: str) -> Step | None:
        return self._full_plan.steps.get(step_key) or self.plan.steps.get(step_key)

    def is_available(self, src: FromOutput) -> bool:
        return self.active.is_available(src) if self.active is not None else True


def _flatten_ops_config(ops: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested graph config ``{"g": {"ops": {"inner": {...}}}}`` → ``{"g.inner": {...}}``."""
    out: dict[str, Any] = {}
    for name, entry in ops.items():
        if isinstance(entry, Mapping) and "ops" in entry and isinstance(entry["ops"], Mapping):
            out.update(_flatten_ops_config(entry["ops"], f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = entry
    return out


def _resolve_run_config(job: Any, plan: ExecutionPlan, run_config: Any,
                        resource_defs: Mapping[str, Any]) -> tuple[Any, dict[str, Any], dict]:
    from ..config import load_run_config, redact_config, validate_run_config
    from ..resources import resource_schemas_for

    raw = load_run_config(run_config)
    if job.config is not None and not raw:
        raw = load_run_config(job.config)
    raw = dict(raw)
    ops_raw = _flatten_ops_config(raw.get("ops") or {}) if isinstance(raw.get("ops"),
                                                                     Mapping) else raw.get("ops")
    input_config: dict[str, dict[str, Any]] = {}
    if isinstance(ops_raw, Mapping):
        cleaned = {}
        for name, entry in ops_raw.items():
            if isinstance(entry, Mapping) and "inputs" in entry:
                input_config[name] = dict(entry["inputs"] or {})
                entry = {k: v for k, v in entry.items() if k != "inputs"}
                if not entry:
                    continue
            cleaned[name] = entry
        raw["ops"] = cleaned
    op_schemas: dict[str, Any] = {}
    # a re-execution runs a subset of the parent's plan but takes the parent's whole config
    schema_plan = getattr(plan, "full_plan", None) or plan
    for s in list(schema_plan.steps.values()) + list(schema_plan.templates.values()):
        op_schemas[s.handle] = s.op.config_schema
    resource_schemas = resource_schemas_for(resource_defs)
    resolved = validate_run_config(raw, op_schemas, resource_schemas)
    return resolved, input_config, redact_config(raw)


def _default_resources(instance: Any) -> dict[str, Any]:
    from ..io_managers.fs import FilesystemIOManager

    return {"io_manager": FilesystemIOManager(instance.storage_dir)}


def _required_resource_keys(plan: ExecutionPlan, asset_graph: Any) -> set[str]:
    keys: set[str] = set()
    for s in list(plan.steps.values()) + list(plan.templates.values()):
        keys |= set(s.op.required_resource_keys)
        for name, out in s.op.outs.items():
            key = s.keys_by_output.get(name)
            if key is not None and s.assets_def is not None:
                keys.add(s.assets_def.io_manager_key_for(key))
            elif name in s.output_names:
                keys.add(out.io_manager_key or "io_manager")
        for src in s.inputs.values():
            from .plan import FromAsset, sources_of

            for x in sources_of(src):
                if isinstance(x, FromAsset) and asset_graph is not None and asset_graph.has(
                        x.asset_key):
                    keys.add(asset_graph.get(x.asset_key).io_manager_key_for(x.asset_key))
    return keys


def _with_dependencies(keys: set[str], resource_defs: Mapping[str, Any]) -> set[str]:
    from ..resources import required_keys_of

    out = set()
    stack = [k for k in keys if k in resource_defs]
    while stack:
        k = stack.pop()
        if k in out:
            continue
        out.add(k)
        for d in required_keys_of(resource_defs[k]):
            if d in resource_defs:
                stack.append(d)
    return out


@contextmanager
def _signals_cancel() -> Any:
    """SIGTERM raises RunCanceledError in the main thread (Ctrl-C raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        from .step import Interrupted

        # not RunCanceledError: user code catching Exception must not swallow it
        raise Interrupted(f"run received {signal.Signals(signum).name}")

    prev = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, prev)


def execute_job(job: Any, *, run_config: Any = None, resources: Mapping[str, Any] | None = None,
                instance: Any = None, raise_on_error: bool = True,
                tags: Mapping[str, str] | None = None, op_selection: Sequence[str] | None = None,
                partition_key: str | None = None, executor: str | None = None,
                run_id: str | None = None, asset_graph: Any = None,
                partition_key_range: Any = None,
                plan: ExecutionPlan | None = None, parent_run_id: str | None = None,
                root_run_id: str | None = None, log_level: int | str | None = None,
                console: bool | None = None, code_location: str | None = None,
                max_concurrent: int | None = None,
                extra_sinks: Sequence[Callable[[list[Event]], None]] = ()) -> ExecutionResult:
    """Run a job (a graph of ops or an asset job) and return its result.

    Config problems raise ConfigError before any run is created. A failing step makes the
    run fail (and raises StepFailedError when ``raise_on_error``); other steps that do not
    depend on it still run. SIGTERM or Ctrl-C cancel the run cleanly (status CANCELED).
    """
    from ..instance import Instance

    if executor is not None and executor not in _EXECUTORS:
        raise DefinitionError(f"unknown executor {executor!r} for job '{job.name}'; use one of "
                              f"{list(_EXECUTORS)}")
    if instance is None:
        instance = Instance.ephemeral()
    layer = getattr(job, "asset_layer", None)
    if asset_graph is None and layer is not None:
        asset_graph = layer.asset_graph
    if layer is not None and op_selection is not None:
        raise DefinitionError(
            f"job '{job.name}' is an asset job: op_selection= does not apply; select assets "
            f"with define_asset_job(selection=...) or materialize(..., selection=...)")
    if plan is None:
        if layer is not None:
            plan = build_asset_plan(asset_graph, layer.selected_keys, layer.selected_checks,
                                    job.name, job.tags)
        else:
            plan = build_graph_plan(job, op_selection=op_selection)
    resource_defs = {**_default_resources(instance), **job.resource_defs, **(resources or {})}
    needed = _with_dependencies(_required_resource_keys(plan, asset_graph), resource_defs)
    missing = sorted(k for k in _required_resource_keys(plan, asset_graph)
                     if k not in resource_defs)
    if missing:
        raise DefinitionError(
            f"job '{job.name}' needs resources {missing}, which are not provided; provided: "
            f"{sorted(resource_defs)}. Pass them in resources= (or Definitions(resources=...))")
    resolved, input_config, redacted = _resolve_run_config(
        job, plan, run_config, {k: resource_defs[k] for k in needed})
    pdef, partition_key, key_range, partition_keys = _resolve_partitions(
        job, plan, asset_graph, partition_key, partition_key_range)
    run = RunRecord(
        run_id=run_id or str(uuid.uuid4()), job_name=job.name,
        tags={**job.tags, **dict(tags or {})}, run_config=redacted,
        asset_selection=sorted(k.to_user_string() for k in layer.selected_keys)
        if layer is not None else None,
        step_keys_to_execute=list(plan.steps) if parent_run_id else None,
        parent_run_id=parent_run_id, root_run_id=root_run_id,
        partition=(f"{key_range.start}...{key_range.end}" if key_range is not None and
                   key_range.start != key_range.end else partition_key),
        code_location=code_location,
    )
    _add_or_claim_run(instance, run)
    sinks: list[Callable[[list[Event]], None]] = []
    if console is not False:
        sinks.append(ConsoleRenderer(coerce_level(log_level, logging.INFO)))
    handlers = [h for h in getattr(job, "logger_defs", {}).values()
                if isinstance(h, (logging.Handler, logging.Logger))]
    if handlers:
        sinks.append(python_logging_sink(handlers))
    sinks.extend(callable_sink for callable_sink in getattr(job, "logger_defs", {}).values()
                 if callable(callable_sink) and not isinstance(callable_sink, (logging.Handler,
                                                                               logging.Logger)))
    sinks.extend(extra_sinks)
    sinks.extend(_plugin_sinks())
    exec_name = executor or (job.executor_def.name if job.executor_def else "in_process")
    rc = RunContext(run=run, instance=instance, job=job, plan=plan, resolved_config=resolved,
                    input_config=input_config, sinks=sinks, asset_graph=asset_graph,
                    partition_key=partition_key, keep_values=exec_name == "in_process",
                    full_plan=getattr(plan, "full_plan", None))
    rc.partition_key_range = key_range
    rc.partitions_def = pdef if pdef is not None else rc.partitions_def
    rc.partition_keys = partition_keys
    rc.run_id = run.run_id
    _plugin_call("on_run_start", run=run, instance=instance)
    rc.emit_many([Event(EventType.RUN_START, run.run_id, message=f"started run of "
                        f"'{job.name}' ({len(plan.steps)} steps, {exec_name} executor)",
                        level=10, data={"step_keys": list(plan.steps)}),
                  *_planned_partition_events(plan, rc)])
    status = RunStatus.FAILURE
    error: BaseException | None = None
    active = None
    try:
        with _signals_cancel():
            from ..resources import build_resources

            with build_resources({k: resource_defs[k] for k in needed}, resolved.resources,
                                 instance=instance, log=rc.logger_for(None),
                                 run_id=run.run_id) as built:
                rc.resources = built
                _inject_io_base(built, instance)
                if exec_name == "multiprocess":
                    from .executors import execute_multiprocess

                    mc = max_concurrent if max_concurrent is not None else (
                        job.executor_def.config.get("max_concurrent", 0) if job.executor_def
                        else 0)
                    active = execute_multiprocess(plan, rc, mc or 0)
                else:
                    from .executors import execute_in_process

                    active = execute_in_process(plan, rc)
        failed = [k for k, st in active.done.items() if st == "failure"]
        status = RunStatus.FAILURE if failed or active.blocked else RunStatus.SUCCESS
    except (KeyboardInterrupt, RunCanceledError) as exc:
        status = RunStatus.CANCELED
        error = exc
    except BaseException as exc:  # noqa: BLE001 - resource set-up, engine errors
        status = RunStatus.FAILURE
        error = exc
    finally:
        _finish_run(rc, run, status, error, active)
    _plugin_call("on_run_end", run=run, instance=instance, status=status.value,
                 error=error)
    result = ExecutionResult(run=run, instance=instance, values=rc.values, job_name=job.name)
    result._asset_keys_by_output = {(s.key, n): k for s in plan.steps.values()
                                    for n, k in s.keys_by_output.items()}
    from .step import Interrupted

    if isinstance(error, Interrupted):  # SIGTERM
        error = RunCanceledError(f"run {run.run_id} of '{job.name}' was canceled: {error}")
    elif status is RunStatus.CANCELED and isinstance(error, KeyboardInterrupt):
        raise error
    if raise_on_error and status is not RunStatus.SUCCESS:
        if error is not None and isinstance(error, OrchestratorError):
            raise error
        if error is not None:
            raise StepFailedError(f"run {run.run_id} of '{job.name}' failed: "
                                  f"{type(error).__name__}: {error}") from error
        failures = result.get_step_failure_events()
        first = failures[0] if failures else None
        msg = f"run {run.run_id} of '{job.name}' failed"
        if first is None and active is not None and active.blocked:
            from ..errors import CheckFailedError

            checks = sorted(c for cs in active.failed_checks.values() for c in cs)
            raise CheckFailedError(f"{msg}: blocking checks failed: {', '.join(checks)}; "
                                   f"downstream assets were not materialized")
        if first is not None:
            err = first.data.get("error", {})
            msg += f": step '{first.step_key}' raised {err.get('type')}: {err.get('message')}"
            raise StepFailedError(msg + f"\n{err.get('stack_text', '')}")
        raise StepFailedError(msg)
    return result


def _partitions_def_of(job: Any, plan: ExecutionPlan, asset_graph: Any) -> Any:
    """The job's partitions definition, else the one shared by its partitioned assets."""
    pdef = getattr(job, "partitions_def", None)
    if pdef is not None:
        return pdef
    found: list[tuple[str, Any]] = []
    for s in plan.steps.values():
        ad = s.assets_def
        p = getattr(ad, "partitions_def", None) if ad is not None else None
        if p is not None and all(p != q for _, q in found):
            found.append((s.key, p))
    if len(found) > 1:
        raise DefinitionError(
            f"job '{job.name}' selects assets with different partitions definitions ("
            + "; ".join(f"'{k}': {p!r}" for k, p in found[:3])
            + "); run them in separate runs (one selection per partitions definition)")
    return found[0][1] if found else None


def _resolve_partitions(job: Any, plan: ExecutionPlan, asset_graph: Any,
                        partition_key: str | None, partition_key_range: Any
                        ) -> tuple[Any, str | None, Any, list[str]]:
    """(partitions def, key, range, keys) of a run, validated."""
    if partition_key is None and partition_key_range is None:
        pdef = getattr(job, "partitions_def", None)
        return pdef, None, None, []
    pdef = _partitions_def_of(job, plan, asset_graph)
    where = f"job '{job.name}': "
    if partition_key is not None and partition_key_range is not None:
        raise DefinitionError(f"{where}give partition_key= or partition_key_range=, not both")
    if partition_key_range is not None:
        from ..partitions import PartitionKeyRange

        if isinstance(partition_key_range, str) and "..." in partition_key_range:
            partition_key_range = partition_key_range.split("...", 1)
        try:
            rng = PartitionKeyRange(*partition_key_range)
        except TypeError:
            raise DefinitionError(f"{where}partition_key_range must be a PartitionKeyRange("
                                  f"start, end), got {partition_key_range!r}") from None
        if pdef is None:
            raise DefinitionError(f"{where}a partition range needs partitioned assets or a job "
                                  f"with partitions_def=; nothing in this run is partitioned")
        keys = pdef.get_partition_keys_in_range(rng)
        return pdef, (keys[0] if len(keys) == 1 else None), rng, keys
    if pdef is not None and hasattr(pdef, "validate_partition_key"):
        pdef.validate_partition_key(partition_key, where)
    if pdef is not None and hasattr(pdef, "get_partition_key_from_str"):
        partition_key = pdef.get_partition_key_from_str(partition_key)
    return pdef, partition_key, None, [partition_key]


def _planned_partition_events(plan: ExecutionPlan, rc: RunContext) -> list[Event]:
    """ASSET_MATERIALIZATION_PLANNED for each (partitioned asset, partition) of a partitioned
    run: the store shows them MATERIALIZING while the run goes, FAILED if it dies."""
    if not rc.partition_keys:
        return []
    out = []
    for s in plan.steps.values():
        ad = s.assets_def
        if ad is None or getattr(ad, "partitions_def", None) is None:
            continue
        for key in s.asset_keys:
            for pk in rc.partition_keys:
                out.append(Event(EventType.ASSET_MATERIALIZATION_PLANNED, rc.run_id,
                                 message=f"'{key.to_user_string()}' [{pk}] planned",
                                 step_key=s.key, asset_key=key, partition=pk, level=10))
    return out


def _add_or_claim_run(instance: Any, run: RunRecord) -> None:
    """Insert the run, or take over a QUEUED/STARTING run with this id (a daemon worker)."""
    storage = instance.run_storage
    existing = storage.get_run(run.run_id)
    if existing is None:
        storage.add_run(run)
        return
    if existing.status not in (RunStatus.QUEUED, RunStatus.NOT_STARTED, RunStatus.STARTING):
        raise DefinitionError(f"run {run.run_id} already exists and is "
                              f"{existing.status.value}; only a queued run can be started")
    run.created_at = existing.created_at
    run.tags = {**existing.tags, **run.tags}
    storage.update_run(run.run_id, tags=run.tags)


def _finish_run(rc: RunContext, run: RunRecord, status: RunStatus, error: BaseException | None,
                active: Any) -> None:
    from .step import serialize_error

    events: list[Event] = []
    if status is RunStatus.CANCELED:
        events.append(Event(EventType.RUN_CANCELING, run.run_id, message="canceling run",
                            level=30))
        ac = active or rc.active
        if ac is not None:
            for key in list(ac.pending):
                if key not in ac.done and key not in ac.running:
                    events.append(Event(EventType.STEP_SKIPPED, run.run_id,
                                        message=f"skipped '{key}': run canceled", step_key=key,
                                        level=30, data={"reason": "run canceled"}))
        events.append(Event(EventType.RUN_CANCELED, run.run_id,
                            message="run canceled (" + (
                                "interrupted: Ctrl-C / SIGINT" if type(
                                    error) is KeyboardInterrupt else str(error)) + ")",
                            level=30))
    elif status is RunStatus.SUCCESS:
        events.append(Event(EventType.RUN_SUCCESS, run.run_id,
                            message=f"run of '{run.job_name}' succeeded"))
    else:
        data: dict[str, Any] = {}
        msg = f"run of '{run.job_name}' failed"
        if error is not None:
            data["error"] = serialize_error(error)
            msg += f": {type(error).__name__}: {error}"
        else:
            failed = [k for k, st in (active.done.items() if active else []) if st == "failure"]
            blocked = sorted(c for cs in (active.failed_checks.values() if active else [])
                             for c in cs) if active is not None and active.blocked else []
            if failed:
                msg += f" (failed steps: {', '.join(failed)})"
            if blocked:
                msg += f" (failed blocking checks: {', '.join(blocked)})"
            data["failed_steps"] = failed
            data["failed_blocking_checks"] = blocked
        events.append(Event(EventType.RUN_FAILURE, run.run_id, message=msg, level=40,
                            data=data))
    try:
        rc.emit_many(events)
    except Exception:  # storage down: nothing more we can do; do not mask the run error
        logging.getLogger("orchestrator").exception("could not record the end of run %s",
                                                    run.run_id)


def _inject_io_base(resources: Any, instance: Any) -> None:
    from ..io_managers.fs import FilesystemIOManager

    for v in resources.values() if hasattr(resources, "values") else []:
        if isinstance(v, FilesystemIOManager) and v.base_dir is None:
            v.base_dir = instance.storage_dir


def _plugin_sinks() -> list[Callable[[list[Event]], None]]:
    try:
        from ..plugins import lifecycle
    except Exception:  # plugin system unavailable: no observability hooks
        return []
    sink = getattr(lifecycle, "event_sink", None)
    if sink is None:
        return []
    s = sink()
    return [s] if s is not None else []


def _plugin_call(name: str, **kwargs: Any) -> None:
    try:
        from ..plugins import lifecycle
    except Exception:
        return
    fn = getattr(lifecycle, name, None)
    if fn is not None:
        fn(**kwargs)


# -- assets ---------------------------------------------------------------------------------------
def materialize(assets: Sequence[Any], *, resources: Mapping[str, Any] | None = None,
                run_config: Any = None, instance: Any = None, partition_key: str | None = None,
                raise_on_error: bool = True, tags: Mapping[str, str] | None = None,
                selection: Any = None, executor: str | None = None,
                log_level: int | str | None = None, run_id: str | None = None,
                partition_key_range: Any = None) -> ExecutionResult:
    """Materialize assets in this process and return the result (Dagster's ``materialize``).

    ``assets`` may hold assets, external AssetSpecs (loaded, not computed) and asset checks.
    ``selection`` narrows what runs (default: every computable asset given).
    """
    from ..assets.graph import AssetGraph
    from ..assets.selection import AssetSelection
    from ..definitions import AssetJobLayer, split_asset_like
    from ..graphs import JobDefinition

    assets_defs, checks_defs = split_asset_like(assets, where="materialize()")
    graph = AssetGraph(assets_defs, checks_defs)
    problems = graph.check_problems()
    if problems:
        raise DefinitionError("; ".join(problems), problems)
    if selection is None:
        keys = set(graph.executable_keys)
    else:
        keys = AssetSelection.from_coercible(selection).resolve(graph)
        if not keys:
            raise DefinitionError(
                f"materialize(selection={selection!r}) matches no asset; the assets given are "
                f"{sorted(k.to_user_string() for k in graph.executable_keys)}")
        # external assets reached by the selection ('*a' above an AssetSpec) are loaded,
        # never materialized; a selection of external assets only is a mistake
        executable = {k for k in keys if not graph.is_external(k)}
        if not executable:
            names = sorted(k.to_user_string() for k in keys)
            raise DefinitionError(
                f"materialize(selection={selection!r}) selects only external assets {names} "
                f"(declared with AssetSpec, no compute), which cannot be materialized; select "
                f"assets that have a function")
        keys = executable
    layer = AssetJobLayer(graph, keys, None)
    job = JobDefinition(EPHEMERAL_ASSET_JOB, asset_layer=layer)
    return execute_job(job, run_config=run_config, resources=resources, instance=instance,
                       raise_on_error=raise_on_error, tags=tags, partition_key=partition_key,
                       executor=executor, log_level=log_level, run_id=run_id,
                       partition_key_range=partition_key_range)


def materialize_to_memory(assets: Sequence[Any], **kwargs: Any) -> ExecutionResult:
    """``materialize`` with every IO manager replaced by an in-memory one."""
    from ..io_managers.memory import InMemoryIOManager

    resources = dict(kwargs.pop("resources", None) or {})
    resources.setdefault("io_manager", InMemoryIOManager())
    return materialize(assets, resources=resources, **kwargs)


def reexecute_run(instance: Any, parent_run_id: str, job: Any, *, from_failure: bool = True,
                  run_config: Any = None, resources: Mapping[str, Any] | None = None,
                  raise_on_error: bool = False, **kwargs: Any) -> ExecutionResult:
    """Run a finished run again: from its failure (only failed, skipped and never-run
    steps; the outputs of steps that succeeded are loaded from the parent run), or all."""
    parent = instance.run_storage.get_run(parent_run_id)
    if parent is None:
        raise DefinitionError(f"no run {parent_run_id!r} in this instance")
    if not parent.status.is_finished:
        raise DefinitionError(f"run {parent_run_id} is {parent.status.value}; only finished runs "
                              f"can be re-executed")
    layer = getattr(job, "asset_layer", None)
    graph = layer.asset_graph if layer else None
    if layer is not None:
        if parent.asset_selection is not None:
            keys = {AssetKey.from_user_string(k) for k in parent.asset_selection}
            from ..definitions import AssetJobLayer

            layer = AssetJobLayer(graph, keys & set(graph.all_keys), layer.selected_checks)
        full = build_asset_plan(graph, layer.selected_keys, layer.selected_checks, job.name,
                                job.tags)
    else:
        full = build_graph_plan(job)
    run_conf = run_config if run_config is not None else parent.run_config
    # the parent's process tags (pid, host) do not describe this run; callers' tags win
    child_tags = {**{k: v for k, v in parent.tags.items()
                     if k not in ("orchestrator/pid", "orchestrator/host")},
                  **dict(kwargs.pop("tags", None) or {}),
                  "orchestrator/parent_run_id": parent_run_id}
    if not from_failure:
        return execute_job(job, run_config=run_conf, resources=resources, instance=instance,
                           raise_on_error=raise_on_error, plan=full, asset_graph=graph,
                           parent_run_id=parent_run_id,
                           root_run_id=parent.root_run_id or parent_run_id,
                           tags=child_tags,
                           **kwargs)
    if parent.status is RunStatus.SUCCESS:
        raise DefinitionError(f"run {parent_run_id} succeeded; there is no failure to "
                              f"re-execute from (use from_failure=False to run it again)")
    root = parent.root_run_id or parent_run_id
    # step key → the run that holds its outputs (the parent, or an earlier run for steps
    # the parent itself reused)
    origin = _reusable_steps(instance.run_storage, parent)
    succeeded = set(origin)
    _resolve_reused_fan_outs(instance.run_storage, full, origin)
    plan = ExecutionPlan(steps={}, job_name=full.job_name)
    for key in full.topo_order():
        s = full.steps[key]
        if key in succeeded:
            continue
        new_inputs = {}
        for n, src in s.inputs.items():
            new_inputs[n] = _rebind(src, succeeded, origin)
        s.inputs = new_inputs
        s.extra_deps = {d for d in s.extra_deps if d not in succeeded}
        plan.steps[key] = s
    plan.templates = full.templates
    plan.full_plan = full  # type: ignore[attr-defined]  # producers of reused outputs
    if not plan.steps:
        raise DefinitionError(f"run {parent_run_id}: every step succeeded; nothing to re-execute")
    return execute_job(job, run_config=run_conf, resources=resources, instance=instance,
                       raise_on_error=raise_on_error, plan=plan, asset_graph=graph,
                       parent_run_id=parent_run_id, root_run_id=root,
                       tags=child_tags,
                       **kwargs)


def _reusable_steps(storage: Any, run: RunRecord) -> dict[str, str]:
    """Steps whose outputs a re-execution of ``run`` can reuse, with the run holding them:
    the steps that succeeded in ``run``, plus those ``run`` did not execute because it
    reused them from its own parent (and so on up to the root run)."""
    events = storage.get_events(run.run_id, event_types=[
        EventType.STEP_START, EventType.STEP_SUCCESS, EventType.ASSET_CHECK_EVALUATION])
    started = {e.step_key for e in events if e.event_type is EventType.STEP_START}
    # a step whose blocking check failed is run again, so the check is evaluated again
    blocked = {e.step_key for e in events if e.event_type is EventType.ASSET_CHECK_EVALUATION
               and e.data.get("blocking") and not e.data.get("passed")
               and e.data.get("severity") == "ERROR"}
    origin: dict[str, str] = {}
    if run.parent_run_id and run.step_keys_to_execute is not None:
        grand = storage.get_run(run.parent_run_id)
        if grand is not None:
            executed = set(run.step_keys_to_execute) | started
            origin.update({k: r for k, r in _reusable_steps(storage, grand).items()
                           if k not in executed})
    for e in events:
        if e.event_type is EventType.STEP_SUCCESS and e.step_key and e.step_key not in blocked:
            origin[e.step_key] = run.run_id
    return origin


def _resolve_reused_fan_outs(storage: Any, full: ExecutionPlan,
                             origin: Mapping[str, str]) -> None:
    """Make the mapped steps of dynamic outputs whose step is reused (not run again), with
    the mapping keys it produced in the run that holds its outputs; otherwise they would
    stay templates for ever."""
    events_by_run: dict[str, list[Event]] = {}
    progressed = True
    while progressed:
        progressed = False
        for key, step in list(full.steps.items()):
            if key not in origin:
                continue
            for out_name, out_def in step.op.outs.items():
                if not out_def.is_dynamic or not any(
                        t.mapped_over == (key, out_name) for t in full.templates.values()):
                    continue
                run_id = origin[key]
                if run_id not in events_by_run:
                    events_by_run[run_id] = storage.get_events(
                        run_id, event_types=[EventType.HANDLED_OUTPUT])
                mks = [e.data["mapping_key"] for e in events_by_run[run_id]
                       if e.step_key == key and e.data.get("output_name") == out_name
                       and e.data.get("mapping_key") is not None]
                full.resolve_dynamic(key, out_name, list(dict.fromkeys(mks)))
                progressed = True


def _rebind(src: Any, succeeded: set[str], origin: Mapping[str, str]) -> Any:
    from .plan import FromFanIn

    if isinstance(src, FromOutput) and src.step_key in succeeded:
        return FromOutput(src.step_key, src.output_name, src.mapping_key,
                          run_id=origin.get(src.step_key))
    if isinstance(src, FromFanIn):
        return FromFanIn(tuple(_rebind(s, succeeded, origin) for s in src.sources))
    return src


_ = (time, Iterable, ConfigError)
