"""Running one step: load inputs, call the compute function, check types, store outputs
through IO managers, record materializations and check results.

Everything a step does is recorded as events. Bookkeeping events are batched and stored
with the step's end in one transaction; STEP_START and logs are stored at once (live).
"""

from __future__ import annotations

import inspect
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..asset_key import AssetKey
from ..errors import (
    DefinitionError,
    IOManagerError,
    OrchestratorError,
    RunCanceledError,
    TypeCheckError,
)
from ..events import Event, EventType
from ..io_managers.base import InputContext, IOManager, OutputContext
from ..metadata import metadata_to_wire
from ..ops import NO_VALUE
from ..results import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetMaterialization,
    DynamicOutput,
    Failure,
    MaterializeResult,
    Output,
    RetryRequested,
)
from ..types import type_checker_for
from .plan import FromAsset, FromConfig, FromDefault, FromFanIn, FromOutput, Step, Unconnected

__all__ = ["Interrupted", "StepOutcome", "run_step"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from .._compute import _NO_DEFAULT as _EMPTY  # noqa: E402


class Interrupted(KeyboardInterrupt):
    """SIGTERM turned into an interruption of the running code.

    A KeyboardInterrupt (a BaseException) rather than an Exception, so that user code that
    catches ``Exception`` (retry loops, error logging) cannot swallow a cancellation."""


@dataclass
class StepOutcome:
    step_key: str
    status: str  # "success" | "failure" | "retry" | "canceled"
    produced: set[tuple[str, str | None]] = field(default_factory=set)  # (output, mapping key)
    dynamic: dict[str, list[str]] = field(default_factory=dict)
    blocked_assets: set[AssetKey] = field(default_factory=set)
    failed_checks: list[str] = field(default_factory=list)
    values: dict[tuple[str, str | None], Any] = field(default_factory=dict)
    retry_delay: float = 0.0
    error: dict[str, Any] | None = None


def serialize_error(exc: BaseException, *, user_code: bool = True) -> dict[str, Any]:
    """``{"type", "message", "stack", "stack_text", "cause"}``; the user's frames first
    (frames of the orchestrator itself are dropped from the front)."""
    tb = traceback.extract_tb(exc.__traceback__)
    if user_code:
        i = 0
        while i < len(tb) - 1 and tb[i].filename.startswith(_PKG_DIR):
            i += 1
        tb = tb[i:]
    stack = traceback.format_list(tb)
    msg = str(exc)
    out: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": msg,
        "stack": stack,
        "stack_text": "".join(stack) + f"{type(exc).__name__}: {msg}",
    }
    cause = exc.__cause__ or (exc.__context__ if not exc.__suppress_context__ else None)
    if cause is not None and cause is not exc:
        out["cause"] = serialize_error(cause, user_code=user_code)
        out["stack_text"] += "\n\nThe above was caused by:\n" + out["cause"]["stack_text"]
    return out


class StepRun:
    """Everything one attempt of one step needs; made by the executor."""

    def __init__(self, step: Step, run_ctx: Any, retry_number: int = 0) -> None:
        self.step = step
        self.rc = run_ctx
        self.retry_number = retry_number
        self.pending: list[Event] = []
        self.outcome = StepOutcome(step.key, "success")
        first_key = step.asset_keys[0] if len(step.asset_keys) == 1 else None
        self.asset_key_for_logs = first_key
        # an unpartitioned asset in a partitioned run is materialized without a partition
        ad = step.assets_def
        own_def = getattr(ad, "partitions_def", None) if ad is not None else None
        partitioned = not (ad is not None and own_def is None and
                           run_ctx.partitions_def is not None)
        self.pdef = own_def if own_def is not None else run_ctx.partitions_def
        self.partition_key = run_ctx.partition_key if partitioned else None
        self.partition_keys: list[str] = list(getattr(run_ctx, "partition_keys", None) or [])\
            if partitioned else []
        self.partition_key_range = run_ctx.partition_key_range if partitioned else None
        from .log import RunLogger

        # logs flush pending bookkeeping events first, so the stored order is what happened
        self.log = RunLogger(self.emit_now, run_ctx.run_id, step.key, first_key)

    # events -----------------------------------------------------------------------------
    def event(self, etype: EventType, message: str = "", *, asset_key: AssetKey | None = None,
              data: dict[str, Any] | None = None, level: int = 20) -> Event:
        if etype is EventType.STEP_FAILURE and len(self.partition_keys) > 1:
            data = {**(data or {}), "partitions": list(self.partition_keys)}
        return Event(etype, self.rc.run_id, message=message, step_key=self.step.key,
                     asset_key=asset_key, partition=self.partition_key, level=level,
                     data=data or {})

    def record(self, ev: Event) -> None:
        self.pending.append(ev)

    def flush(self) -> None:
        if self.pending:
            evs, self.pending = self.pending, []
            self.rc.emit_many(evs)

    def emit_now(self, ev: Event) -> None:
        self.flush()
        self.rc.emit_many([ev])

    # inputs -------------------------------------------------------------------------------
    def _io_manager(self, key: str, where: str) -> IOManager:
        try:
            iom = getattr(self.rc.resources, key)
        except (AttributeError, KeyError):
            raise DefinitionError(
                f"{where} uses IO manager '{key}', which is not provided; pass it in "
                f"resources={{'{key}': ...}}") from None
        if not isinstance(iom, IOManager) and not (
                hasattr(iom, "handle_output") and hasattr(iom, "load_input")):
            raise DefinitionError(
                f"{where}: resource '{key}' is used as an IO manager but is a "
                f"{type(iom).__name__}, not an IOManager")
        return iom

    def _upstream_output_context(self, src: FromOutput) -> tuple[OutputContext, str]:
        producer: Step = self.rc.producer(src.step_key)
        key = producer.keys_by_output.get(src.output_name) if producer else None
        iom_key = "io_manager"
        out_def = producer.op.outs.get(src.output_name) if producer else None
        if producer is not None and producer.assets_def is not None and key is not None:
            iom_key = producer.assets_def.io_manager_key_for(key)
        elif out_def is not None and out_def.io_manager_key:
            iom_key = out_def.io_manager_key
        ctx = OutputContext(step_key=src.step_key, name=src.output_name,
                            run_id=src.run_id or self.rc.run_id, asset_key=key,
                            partition_key=self.partition_key if key else None,
                            mapping_key=src.mapping_key,
                            metadata=out_def.metadata if out_def else None,
                            log=self.log, resources=self.rc.resources)
        return ctx, iom_key

    def load_source(self, in_name: str, src: Any) -> Any:
        step = self.step
        where = f"input '{in_name}' of {step.op.kind} '{step.key}'"
        if isinstance(src, FromDefault):
            return src.value
        if isinstance(src, FromFanIn):
            return [self.load_source(in_name, s) for s in src.sources
                    if not isinstance(s, FromOutput) or self.rc.is_available(s)]
        if isinstance(src, (FromConfig, Unconnected)):
            cfg = self.rc.input_config(step.handle, in_name)
            if cfg is NO_VALUE:
                raise DefinitionError(
                    f"{where} is not connected to any output and has no default; connect it "
                    f"in the graph, give it a default, or set run config "
                    f"ops.{step.handle}.inputs.{in_name}.value")
            return cfg
        if isinstance(src, FromOutput):
            if self.rc.values is not None and src.run_id is None:
                hit = self.rc.values.get((src.step_key, src.output_name, src.mapping_key), NO_VALUE)
                if hit is not NO_VALUE and self.rc.value_passing:
                    return hit
            up_ctx, iom_key = self._upstream_output_context(src)
            iom = self._io_manager(iom_key, where)
            up_pkey, up_pkeys = (self._upstream_partitions(up_ctx._asset_key, where)
                                 if up_ctx._asset_key is not None else (None, None))
            in_ctx = InputContext(name=in_name, step_key=step.key, run_id=self.rc.run_id,
                                  upstream_output=up_ctx, asset_key=up_ctx._asset_key,
                                  dagster_type=self._input_type(in_name),
                                  partition_key=up_pkey, partition_keys=up_pkeys,
                                  metadata=step.op.ins[in_name].metadata if in_name in
                                  step.op.ins else None,
                                  log=self.log, resources=self.rc.resources)
            value = self._call_io(iom.load_input, in_ctx, where, iom_key)
            self.record(self.event(EventType.LOADED_INPUT,
                                   f"loaded input '{in_name}' using '{iom_key}'",
                                   data={"input_name": in_name, "io_manager_key": iom_key,
                                         "upstream_step_key": src.step_key,
                                         "upstream_output_name": src.output_name}))
            return value
        if isinstance(src, FromAsset):
            key = src.asset_key
            graph = self.rc.asset_graph
            iom_key = "io_manager"
            if graph is not None and graph.has(key):
                iom_key = graph.get(key).io_manager_key_for(key)
            iom = self._io_manager(iom_key, where)
            up_pkey, up_pkeys = self._upstream_partitions(key, where)
            up = OutputContext(step_key=key.to_python_identifier(), name="result",
                               run_id=self.rc.run_id, asset_key=key,
                               partition_key=up_pkey, partition_keys=up_pkeys,
                               log=self.log, resources=self.rc.resources)
            in_ctx = InputContext(name=in_name, step_key=step.key, run_id=self.rc.run_id,
                                  upstream_output=up, asset_key=key,
                                  dagster_type=self._input_type(in_name),
                                  partition_key=up_pkey, partition_keys=up_pkeys,
                                  log=self.log, resources=self.rc.resources)
            value = self._call_io(iom.load_input, in_ctx, where, iom_key)
            self.record(self.event(EventType.LOADED_INPUT,
                                   f"loaded input '{in_name}' from asset "
                                   f"'{key.to_user_string()}' using '{iom_key}'",
                                   data={"input_name": in_name, "io_manager_key": iom_key,
                                         "asset_key": key.to_user_string()}))
            return value
        raise DefinitionError(f"{where}: cannot load from {src!r}")  # pragma: no cover

    def _upstream_partitions(self, up_key: AssetKey, where: str
                             ) -> tuple[str | None, list[str] | None]:
        """(key, keys) of the upstream asset's partitions this step reads, through the
        dependency's partition mapping (or the default one)."""
        graph = self.rc.asset_graph
        up_def = graph.get(up_key).partitions_def if graph is not None and graph.has(up_key) \
            else None
        if up_def is None:
            # no partitions definitions at all: the run's key applies to everything (legacy)
            return (self.partition_key if self.rc.partitions_def is None else None), None
        mapping = None
        ad = self.step.assets_def
        if ad is not None:
            for k in self.step.asset_keys:
                for dep in ad.spec(k).deps:
                    if dep.asset_key == up_key and dep.partition_mapping is not None:
                        mapping = dep.partition_mapping
        down_def = getattr(ad, "partitions_def", None) if ad is not None else self.pdef
        from ..partitions.mapping import upstream_partition_keys

        try:
            keys = upstream_partition_keys(mapping, self.partition_keys, down_def, up_def) or []
        except DefinitionError as exc:
            raise DefinitionError(f"{where}: {exc}") from None
        if len(keys) == 1:
            return keys[0], None
        return None, keys

    def _input_type(self, in_name: str) -> Any:
        in_def = self.step.op.ins.get(in_name)
        if in_def is not None and in_def.dagster_type is not None:
            return in_def.dagster_type
        return self.step.op.signature.annotations.get(in_name)

    @staticmethod
    def _call_io(fn: Any, ctx: Any, where: str, iom_key: str) -> Any:
        try:
            return fn(ctx)
        except OrchestratorError:
            raise
        except Exception as exc:
            raise IOManagerError(f"{where}: IO manager '{iom_key}' failed: "
                                 f"{type(exc).__name__}: {exc}") from exc

    def type_check(self, annotation: Any, value: Any, label: str, is_input: bool) -> None:
        checker = type_checker_for(annotation)
        if checker is None:
            return
        res = checker(value, None)
        where = f"{'input' if is_input else 'output'} '{label}' of {self.step.op.kind} " \
                f"'{self.step.key}'"
        self.record(self.event(
            EventType.TYPE_CHECK,
            f"type check of {where}: {'passed' if res.success else 'failed'}",
            data={"label": label, "type_name": getattr(annotation, "name", None)
                  or getattr(annotation, "__name__", str(annotation)),
                  "success": res.success, "description": res.description,
                  "metadata": metadata_to_wire(res.metadata)}))
        if not res.success:
            err = TypeCheckError(f"{where}: {res.description or 'type check failed'}")
            err.type_check = res  # type: ignore[attr-defined]
            raise err

    # compute ----------------------------------------------------------------------------------
    def _owned_resources(self) -> Any:
        """The run's resources, named after this step's op so that a missing one says which
        op asked for it and how to declare it."""
        res = self.rc.resources
        try:
            from ..resources import Resources

            if isinstance(res, Resources):
                return Resources(res, owner=f"{self.step.op.kind} '{self.step.op.name}'")
        except ImportError:  # pragma: no cover
            pass
        return res

    def build_context(self) -> Any:
        from .context import AssetCheckExecutionContext, AssetExecutionContext, OpExecutionContext

        step = self.step
        cls = (AssetExecutionContext if step.assets_def is not None else
               AssetCheckExecutionContext if step.checks_def is not None else OpExecutionContext)
        ctx = cls(
            run_id=self.rc.run_id, job_name=self.rc.job_name, step_key=step.key, op_def=step.op,
            log=self.log,
            resources=self._owned_resources(), op_config=self.rc.op_config(step.handle),
            instance=self.rc.instance, run=self.rc.run, partition_key=self.partition_key,
            partition_key_range=self.partition_key_range,
            retry_number=self.retry_number, assets_def=step.assets_def,
            selected_output_names=step.output_names if step.assets_def is not None else None,
            mapping_key=step.mapping_key, emit=None, partitions_def=self.pdef,
            check_keys=step.check_keys,
        )
        ctx._emit_events = self.emit_events  # batch sink for pipes readers (live events)
        return ctx

    def emit_events(self, events: list[Event]) -> None:
        """Store a batch of events now (after pending bookkeeping events); thread-safe."""
        self.flush()
        self.rc.emit_many(events)

    def invoke(self, context: Any, inputs: dict[str, Any]) -> Iterator[Any]:
        op_def = self.step.op
        sig = op_def.signature
        kwargs: dict[str, Any] = {}
        args: list[Any] = []
        if sig.context_param is not None:
            args.append(context)
        if sig.config_param is not None:
            kwargs[sig.config_param] = self.rc.op_config(self.step.handle)
        for pname, rkey in sig.resource_params.items():
            try:
                kwargs[pname] = getattr(self.rc.resources, rkey)
            except (AttributeError, KeyError):
                raise DefinitionError(
                    f"{op_def.kind} '{op_def.name}' needs resource '{rkey}', which is not "
                    f"provided; pass it in resources={{'{rkey}': ...}}") from None
        for pname in sig.input_params:
            if pname in inputs:
                kwargs[pname] = inputs[pname]
        result = op_def.compute_fn(*args, **kwargs)
        if inspect.isawaitable(result):
            import asyncio

            result = asyncio.run(_await(result))
        if sig.is_generator or inspect.isgenerator(result):
            yield from result
            return
        if inspect.isasyncgen(result):
            import asyncio

            yield from asyncio.run(_collect_async(result))
            return
        yield from self._normalize_return(result)

    def _normalize_return(self, result: Any) -> Iterator[Any]:
        op_def = self.step.op
        outs = list(op_def.outs)
        if isinstance(result, (Output, MaterializeResult, AssetCheckResult,
                               AssetMaterialization)):
            yield result
            return
        if self.step.checks_def is not None:
            if result is not None:
                yield result
            return
        if isinstance(result, (list, tuple)) and result and all(
                isinstance(r, (MaterializeResult, AssetCheckResult, Output)) for r in result):
            yield from result  # e.g. a pipes invocation's get_results()
            return
        if len(outs) == 1:
            yield Output(result, outs[0])
            return
        if result is None and not any(o.is_required for o in op_def.outs.values()):
            return
        selected = [n for n in outs if n in self.step.output_names] \
            if self.step.assets_def is not None else outs
        if not isinstance(result, tuple) or len(result) != len(selected):
            raise DefinitionError(
                f"{op_def.kind} '{op_def.name}' has outputs {selected} and must return a tuple "
                f"of {len(selected)} values in that order (or yield Output(value, name)), got "
                f"{type(result).__name__}")
        for name, value in zip(selected, result):
            yield value if isinstance(value, (Output, MaterializeResult)) else Output(value, name)

    # outputs ------------------------------------------------------------------------------------
    def handle_item(self, item: Any, context: Any) -> None:
        step = self.step
        if isinstance(item, DynamicOutput):
            self._store_output(item.output_name, item.value, context, item.mapping_key,
                               item.metadata, None)
            self.outcome.dynamic.setdefault(item.output_name, []).append(item.mapping_key)
            return
        if isinstance(item, Output):
            self._store_output(item.output_name, item.value, context, None, item.metadata,
                               item.data_version)
            return
        if isinstance(item, MaterializeResult):
            key = item.asset_key
            if key is None:
                if len(step.asset_keys) != 1:
                    raise DefinitionError(
                        f"{step.op.kind} '{step.op.name}' materializes "
                        f"{[k.to_user_string() for k in step.asset_keys]}; each "
                        f"MaterializeResult needs asset_key=")
                key = step.asset_keys[0]
            out_name = self._output_for_key(key)
            self._store_output(out_name, item.value, context, None, item.metadata,
                               item.data_version, store_value=item.has_value)
            for cr in item.check_results:
                self._check_result(cr if cr.asset_key is not None else _with_key(cr, key))
            return
        if isinstance(item, AssetCheckResult):
            self._check_result(item)
            return
        if isinstance(item, AssetMaterialization):
            self.record(self.event(EventType.ASSET_MATERIALIZATION,
                                   item.description or "materialized (reported by op)",
                                   asset_key=item.asset_key,
                                   data={"metadata": metadata_to_wire(item.metadata)}))
            return
        if step.checks_def is not None:
            names = ", ".join(f"'{cs.name}' on '{cs.asset_key.to_user_string()}'"
                              for cs in step.checks_def.specs)
            raise DefinitionError(
                f"asset check {names} must return an AssetCheckResult, got "
                f"{type(item).__name__}; return AssetCheckResult(passed=...)")
        raise DefinitionError(
            f"{step.op.kind} '{step.op.name}' yielded {type(item).__name__}; yield Output, "
            f"DynamicOutput, MaterializeResult, AssetCheckResult or AssetMaterialization")

    def _output_for_key(self, key: AssetKey) -> str:
        step = self.step
        for n, k in step.keys_by_output.items():
            if k == key:
                return n
        raise DefinitionError(
            f"{step.op.kind} '{step.op.name}' reported asset '{key.to_user_string()}', which "
            f"it was not asked to materialize; selected: "
            f"{[k.to_user_string() for k in step.asset_keys]}")

    def _store_output(self, name: str, value: Any, context: Any, mapping_key: str | None,
                      metadata: dict[str, Any] | None, data_version: str | None,
                      store_value: bool = True) -> None:
        step = self.step
        op_def = step.op
        out_def = op_def.outs.get(name)
        if out_def is None:
            raise DefinitionError(
                f"{op_def.kind} '{op_def.name}' yielded output '{name}', which it does not "
                f"declare; its outputs are {list(op_def.outs)}")
        if step.assets_def is not None and name not in step.keys_by_output:
            raise DefinitionError(
                f"{op_def.kind} '{op_def.name}' yielded output '{name}' (asset "
                f"'{step.assets_def.keys_by_output_name[name].to_user_string()}'), which is not "
                f"selected in this run; check context.selected_output_names")
        ident = (name, mapping_key)
        if ident in self.outcome.produced:
            raise DefinitionError(
                f"{op_def.kind} '{op_def.name}' yielded output '{name}'"
                f"{f' [{mapping_key}]' if mapping_key else ''} twice")
        if out_def.is_dynamic and mapping_key is None:
            raise DefinitionError(
                f"op '{op_def.name}': output '{name}' is a DynamicOut; yield "
                f"DynamicOutput(value, mapping_key=...) for it")
        key = step.keys_by_output.get(name)
        if store_value:
            annotation = out_def.dagster_type
            if annotation is None and len(op_def.outs) == 1:
                ret = op_def.signature.return_annotation
                if ret is not _EMPTY and ret is not MaterializeResult:
                    annotation = ret
            if annotation is not None and not out_def.is_dynamic:
                self.type_check(annotation, value, name, is_input=False)
        iom_key = (step.assets_def.io_manager_key_for(key) if key is not None and
                   step.assets_def is not None else out_def.io_manager_key or "io_manager")
        user_md = dict(metadata or {})
        user_md.update(context.output_metadata.pop((name, mapping_key), {}))
        io_md: dict[str, Any] = {}
        if store_value:
            iom = self._io_manager(iom_key, f"output '{name}' of {op_def.kind} '{step.key}'")
            out_ctx = OutputContext(step_key=step.key, name=name, run_id=self.rc.run_id,
                                    asset_key=key,
                                    partition_key=self.partition_key if key else None,
                                    partition_keys=self.partition_keys
                                    if key and len(self.partition_keys) > 1 else None,
                                    mapping_key=mapping_key, metadata=out_def.metadata,
                                    log=context.log, resources=self.rc.resources, op_def=op_def)
            self._call_io(lambda c: iom.handle_output(c, value), out_ctx,
                          f"output '{name}' of {op_def.kind} '{step.key}'", iom_key)
            io_md = out_ctx.consume_user_metadata()
            self.record(self.event(EventType.HANDLED_OUTPUT,
                                   f"stored output '{name}' using '{iom_key}'",
                                   data={"output_name": name, "io_manager_key": iom_key,
                                         "mapping_key": mapping_key}))
            if self.rc.values is not None:
                self.rc.values[(step.key, name, mapping_key)] = value
        self.outcome.produced.add(ident)
        if key is not None:
            spec = step.assets_def.spec(key)
            wire = metadata_to_wire({**io_md, **user_md})
            data: dict[str, Any] = {"metadata": wire}
            if data_version is not None:
                data["data_version"] = data_version
            if spec.code_version is not None:
                data["code_version"] = spec.code_version
            if len(self.partition_keys) > 1:  # a range run: one materialization per partition
                for pk in self.partition_keys:
                    ev = self.event(EventType.ASSET_MATERIALIZATION,
                                    f"materialized '{key.to_user_string()}' [{pk}]",
                                    asset_key=key, data=data)
                    ev.partition = pk
                    self.record(ev)
            else:
                self.record(self.event(EventType.ASSET_MATERIALIZATION,
                                       f"materialized '{key.to_user_string()}'", asset_key=key,
                                       data=data))
        elif user_md:
            self.record(self.event(EventType.STEP_OUTPUT, f"output '{name}' metadata",
                                   data={"output_name": name,
                                         "metadata": metadata_to_wire(user_md)}))

    def _check_result(self, cr: AssetCheckResult) -> None:
        step = self.step
        specs = {}
        if step.assets_def is not None:
            specs = {ck: cs for ck, cs in step.assets_def.check_specs_by_key.items()
                     if ck in step.check_keys}
        elif step.checks_def is not None:
            specs = {cs.key: cs for cs in step.checks_def.specs if cs.key in step.check_keys}
        key = cr.asset_key
        name = cr.check_name
        if key is None or name is None:
            cands = [ck for ck in specs if (key is None or ck.asset_key == key) and
                     (name is None or ck.name == name)]
            if len(cands) != 1:
                raise DefinitionError(
                    f"{step.op.kind} '{step.op.name}' returned an AssetCheckResult without "
                    f"check_name/asset_key, and it declares "
                    f"{[ck.to_user_string() for ck in specs] or 'no'} checks; set check_name=")
            key, name = cands[0].asset_key, cands[0].name
        match = [ck for ck in specs if ck.asset_key == key and ck.name == name]
        if not match:
            raise DefinitionError(
                f"{step.op.kind} '{step.op.name}' reported check '{name}' on "
                f"'{key.to_user_string()}', which it does not declare (or is not selected); "
                f"declared: {[ck.to_user_string() for ck in specs]}")
        ck = match[0]
        if ck in self._reported_checks:
            raise DefinitionError(f"check '{ck.to_user_string()}' was reported twice")
        self._reported_checks.add(ck)
        spec = specs[ck]
        sev = cr.severity
        blocking = bool(spec.blocking)
        self.record(self.event(
            EventType.ASSET_CHECK_EVALUATION,
            f"check '{name}' on '{key.to_user_string()}' "
            f"{'passed' if cr.passed else f'failed ({sev.value})'}",
            asset_key=key, level=20 if cr.passed else (40 if sev is AssetCheckSeverity.ERROR
                                                        else 30),
            data={"check_name": name, "passed": bool(cr.passed), "severity": sev.value,
                  "blocking": blocking, "description": cr.description,
                  "metadata": metadata_to_wire(cr.metadata)}))
        if not cr.passed:
            self.outcome.failed_checks.append(ck.to_user_string())
            if blocking and sev is AssetCheckSeverity.ERROR:
                self.outcome.blocked_assets.add(key)

    # the whole attempt ---------------------------------------------------------------------
    def run(self, resumed: Callable[[], Any] | None = None) -> StepOutcome:
        """Run the attempt. With *resumed* (``orchestrator.execution.resume``), the attempt
        already started in an orchestrator process that died: no STEP_START, no inputs, and
        ``resumed()`` stands in for the compute function's return value (or raises its
        failure); the rest (outputs, materializations, checks, success, failure, retry) is
        as for a normal attempt."""
        step = self.step
        self._reported_checks: set[Any] = set()
        started = time.perf_counter()
        if resumed is None:
            self.emit_now(self.event(
                EventType.STEP_START, f"started {step.op.kind} '{step.key}'"
                + (f" (attempt {self.retry_number + 1})" if self.retry_number else ""),
                asset_key=self.asset_key_for_logs,
                data={"asset_keys": [k.to_user_string() for k in step.asset_keys],
                      "retry_number": self.retry_number}, level=10))
        context = None
        try:
            inputs: dict[str, Any] = {}
            for in_name, src in step.inputs.items() if resumed is None else ():
                in_def = step.op.ins.get(in_name)
                if in_def is not None and in_def.is_nothing:
                    continue
                value = self.load_source(in_name, src)
                inputs[in_name] = value
                ann = in_def.dagster_type if in_def is not None and in_def.dagster_type \
                    is not None else step.op.signature.annotations.get(in_name)
                if ann is not None:
                    self.type_check(ann, value, in_name, is_input=True)
            context = self.build_context()
            items = self.invoke(context, inputs) if resumed is None else \
                self._normalize_return(resumed())
            # a generator yields results over time: store each as it comes (live), not with
            # the step's end; a plain return hands everything over at once
            live = resumed is None and step.op.signature.is_generator
            for item in items:
                self.handle_item(item, context)
                if live:
                    self.flush()
            for ev in context.logged_events:
                if isinstance(ev, AssetMaterialization):
                    self.handle_item(ev, context)
            self._check_completeness()
        except (KeyboardInterrupt, RunCanceledError) as exc:
            self.outcome.status = "canceled"
            self.outcome.error = serialize_error(exc)
            self.record(self.event(EventType.STEP_FAILURE, f"{step.op.kind} '{step.key}' was "
                                   f"canceled", asset_key=self.asset_key_for_logs, level=40,
                                   data={"error": self.outcome.error, "canceled": True,
                                         "asset_keys": [k.to_user_string() for k in
                                                        step.asset_keys]}))
            self.flush()
            raise
        except BaseException as exc:  # noqa: BLE001 - every user error is recorded
            if isinstance(exc, (SystemExit, GeneratorExit)) and not isinstance(exc, SystemExit):
                raise
            return self._failed(exc, started)
        elapsed = time.perf_counter() - started
        self.record(self.event(EventType.STEP_SUCCESS,
                               f"finished '{step.key}' in {elapsed * 1000:.1f} ms",
                               asset_key=self.asset_key_for_logs,
                               data={"duration_ms": round(elapsed * 1000, 3)}, level=10))
        self.flush()
        return self.outcome

    def _check_completeness(self) -> None:
        step = self.step
        missing = []
        for name in step.output_names:
            out = step.op.outs[name]
            if out.is_dynamic:
                continue
            key = step.keys_by_output.get(name)
            required = out.is_required
            if key is not None and step.assets_def is not None:
                required = not step.assets_def.spec(key).skippable
            if required and (name, None) not in self.outcome.produced:
                missing.append(name if key is None else f"asset '{key.to_user_string()}'")
        if missing:
            raise DefinitionError(
                f"{step.op.kind} '{step.op.name}' finished without producing {missing}; "
                f"return or yield a value (or MaterializeResult) for each")
        declared = set(step.check_keys)
        unreported = declared - self._reported_checks
        if unreported:
            raise DefinitionError(
                f"{step.op.kind} '{step.op.name}' declares checks "
                f"{sorted(ck.to_user_string() for ck in unreported)} but did not report them; "
                f"return AssetCheckResult(check_name=...) for each")

    def _failed(self, exc: BaseException, started: float) -> StepOutcome:
        step = self.step
        err = serialize_error(exc)
        policy = step.op.retry_policy or self.rc.op_retry_policy
        max_retries = 0
        delay = 0.0
        if isinstance(exc, RetryRequested):
            max_retries, delay = exc.max_retries, exc.seconds_to_wait
        elif policy is not None and not (isinstance(exc, Failure) and not exc.allow_retries) \
                and not isinstance(exc, (DefinitionError,)):
            max_retries = policy.max_retries
            delay = policy.calculate_delay(self.retry_number + 1)
        md = exc.metadata if isinstance(exc, Failure) else {}
        if isinstance(exc, Failure) and exc.description:
            err["message"] = exc.description
        if self.retry_number < max_retries:
            self.outcome.status = "retry"
            self.outcome.retry_delay = delay
            self.record(self.event(
                EventType.STEP_UP_FOR_RETRY,
                f"{step.op.kind} '{step.key}' failed ({err['type']}: {err['message']}); retry "
                f"{self.retry_number + 1} of {max_retries} in {delay:.2f}s",
                asset_key=self.asset_key_for_logs, level=30,
                data={"error": err, "retry_number": self.retry_number, "delay": delay}))
            self.flush()
            return self.outcome
        self.outcome.status = "failure"
        self.outcome.error = err
        self.record(self.event(
            EventType.STEP_FAILURE,
            f"{step.op.kind} '{step.key}' failed: {err['type']}: {err['message']}",
            asset_key=self.asset_key_for_logs, level=40,
            data={"error": err, "metadata": metadata_to_wire(md),
                  "asset_keys": [k.to_user_string() for k in step.asset_keys
                                 if (step.op.outs and (self._output_for_key(k), None)
                                     not in self.outcome.produced)],
                  "duration_ms": round((time.perf_counter() - started) * 1000, 3)}))
        self.flush()
        return self.outcome


def _with_key(cr: AssetCheckResult, key: AssetKey) -> AssetCheckResult:
    cr.asset_key = key
    return cr


async def _await(x: Any) -> Any:
    return await x


async def _collect_async(gen: Any) -> list[Any]:
    return [i async for i in gen]


def run_step(step: Step, run_ctx: Any, retry_number: int = 0,
             resumed: Callable[[], Any] | None = None) -> StepOutcome:
    """Run one attempt of a step, telling lifecycle plugins (if any listen). *resumed*:
    finish an attempt started by a dead orchestrator process (see :meth:`StepRun.run`)."""
    try:
        from ..plugins import lifecycle
    except Exception:  # pragma: no cover - plugin system broken: run without hooks
        lifecycle = None
    if lifecycle is None or not lifecycle.enabled:
        return StepRun(step, run_ctx, retry_number).run(resumed)
    keys = [k.to_user_string() for k in step.asset_keys]
    if resumed is None:
        lifecycle.on_step_start(run_ctx.run, step.key, keys)
    outcome: StepOutcome | None = None
    try:
        outcome = StepRun(step, run_ctx, retry_number).run(resumed)
        return outcome
    finally:
        status = outcome.status if outcome is not None else "canceled"
        lifecycle.on_step_end(run_ctx.run, step.key, keys, status,
                              outcome.error if outcome is not None else None)


def check_evaluations_from_events(events: list[Event]) -> list[AssetCheckEvaluation]:
    out = []
    for ev in events:
        if ev.event_type is EventType.ASSET_CHECK_EVALUATION and ev.asset_key is not None:
            out.append(AssetCheckEvaluation(
                asset_key=ev.asset_key, check_name=ev.data["check_name"],
                passed=ev.data["passed"], severity=AssetCheckSeverity(ev.data["severity"]),
                metadata=ev.metadata, blocking=ev.data.get("blocking", False)))
    return out


_ = sys
