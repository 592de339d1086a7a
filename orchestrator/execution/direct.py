"""Calling assets and ops as plain functions, for unit tests.

::

    def test_orders():
        ctx = build_asset_context(resources={"db": FakeDB()})
        assert orders(ctx, raw_orders=[...]) == [...]
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from ..errors import DefinitionError
from ..events import Event
from .context import AssetExecutionContext, OpExecutionContext
from .log import RunLogger

__all__ = ["build_asset_context", "build_op_context", "invoke_directly"]


class _DirectLog(RunLogger):
    """A context.log for direct invocation: writes to Python logging."""

    def __init__(self) -> None:
        self._py = logging.getLogger("orchestrator.direct")
        super().__init__(self._to_logging, "direct", None, None)

    def _to_logging(self, ev: Event) -> None:
        self._py.log(ev.level, ev.message)


def _resources(resources: Mapping[str, Any] | None) -> Any:
    from ..resources import Resources

    return Resources(dict(resources or {}))


def _direct_run(run_id: str, run_tags: Mapping[str, str] | None) -> Any:
    from ..events import RunRecord

    return RunRecord(run_id=run_id, job_name="__direct__", tags=dict(run_tags or {}))


def build_op_context(resources: Mapping[str, Any] | None = None, op_config: Any = None,
                     partition_key: str | None = None, instance: Any = None,
                     run_tags: Mapping[str, str] | None = None,
                     mapping_key: str | None = None) -> OpExecutionContext:
    """A context for calling an op directly: ``my_op(build_op_context(op_config={...}), x)``.

    Resources given here are used as they are (no set-up/tear-down); use
    ``build_resources`` for context-manager resources."""
    run_id = str(uuid.uuid4())
    return OpExecutionContext(run_id=run_id, job_name=None, step_key="direct",
                              op_def=None, log=_DirectLog(), resources=_resources(resources),
                              op_config=op_config, instance=instance,
                              run=_direct_run(run_id, run_tags),
                              partition_key=partition_key, mapping_key=mapping_key)


def build_asset_context(resources: Mapping[str, Any] | None = None, asset_config: Any = None,
                        partition_key: str | None = None, instance: Any = None,
                        run_tags: Mapping[str, str] | None = None) -> AssetExecutionContext:
    """A context for calling an asset directly: ``orders(build_asset_context(), raw)``."""
    run_id = str(uuid.uuid4())
    return AssetExecutionContext(run_id=run_id, job_name=None, step_key="direct",
                                 op_def=None, log=_DirectLog(),
                                 resources=_resources(resources), op_config=asset_config,
                                 instance=instance, run=_direct_run(run_id, run_tags),
                                 partition_key=partition_key)


def invoke_directly(op_def: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                    assets_def: Any = None) -> Any:
    """Run the compute function with the given arguments, filling context and config."""
    sig = op_def.signature
    args = list(args)
    call_args: list[Any] = []
    if sig.context_param is not None:
        if args and isinstance(args[0], OpExecutionContext):
            ctx = args.pop(0)
        elif sig.context_param in kwargs:
            ctx = kwargs.pop(sig.context_param)
        else:
            ctx = build_asset_context() if assets_def is not None else build_op_context()
        if assets_def is not None and ctx._assets_def is None:
            ctx._assets_def = assets_def
        if ctx._op_def is None:
            ctx._op_def = op_def
        call_args.append(ctx)
    else:
        if args and isinstance(args[0], OpExecutionContext):
            ctx = args.pop(0)
        else:
            ctx = None
    call_kwargs: dict[str, Any] = {}
    if sig.config_param is not None:
        if sig.config_param in kwargs:
            call_kwargs[sig.config_param] = _as_config(op_def, kwargs.pop(sig.config_param))
        elif ctx is not None and ctx.op_config is not None:
            # build_op_context(op_config={...}): a dict becomes the Config class, validated
            call_kwargs[sig.config_param] = _as_config(op_def, ctx.op_config)
        else:
            try:
                call_kwargs[sig.config_param] = sig.config_schema()
            except Exception as exc:
                raise DefinitionError(
                    f"{op_def.kind} '{op_def.name}' needs config; pass "
                    f"{sig.config_param}={getattr(sig.config_schema, '__name__', 'Config')}(...)"
                ) from exc
    elif op_def.config_schema is not None and ctx is not None and ctx.op_config is not None:
        ctx._op_config = _as_config(op_def, ctx.op_config)  # validated, defaults filled in
    for pname in sig.resource_params:
        if pname in kwargs:
            call_kwargs[pname] = kwargs.pop(pname)
        elif ctx is not None and pname in ctx.resources:
            call_kwargs[pname] = ctx.resources[pname]
        else:
            raise DefinitionError(
                f"{op_def.kind} '{op_def.name}' needs resource '{pname}'; pass {pname}=... or "
                f"build_asset_context(resources={{'{pname}': ...}})")
    inputs = list(sig.input_params)
    if len(args) > len(inputs):
        raise DefinitionError(
            f"{op_def.kind} '{op_def.name}' takes inputs {inputs} but got {len(args)} "
            f"positional arguments")
    for name, value in zip(inputs, args):
        call_kwargs[name] = value
    for name, value in kwargs.items():
        if name not in inputs:
            raise DefinitionError(
                f"{op_def.kind} '{op_def.name}' has no parameter '{name}'; inputs are {inputs}")
        call_kwargs[name] = value
    return op_def.compute_fn(*call_args, **call_kwargs)


def _as_config(op_def: Any, value: Any) -> Any:
    """Config given to a direct call, validated against the op's schema like run config
    (a dict for a Config class becomes an instance of it)."""
    schema = op_def.config_schema
    if schema is None or (isinstance(schema, type) and isinstance(value, schema)):
        return value
    from ..config import resolve_config

    return resolve_config(schema, value, f"{op_def.kind} '{op_def.name}' config")
