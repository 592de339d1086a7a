"""``@asset``, ``@multi_asset`` and ``@asset_check``.

::

    @asset(group_name="sales", code_version="2")
    def orders(context, raw_orders: pd.DataFrame) -> pd.DataFrame:
        context.log.info("cleaning %d rows", len(raw_orders))
        return raw_orders.dropna()

    @multi_asset(specs=[AssetSpec("a"), AssetSpec("b", deps=["a"])], can_subset=True)
    def a_and_b(context):
        for key in context.selected_asset_keys:
            yield MaterializeResult(asset_key=key)

    @asset_check(asset=orders, blocking=True)
    def orders_have_ids(orders) -> AssetCheckResult:
        return AssetCheckResult(passed=bool(orders["id"].notna().all()))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._compute import analyze, require_function
from ..asset_key import AssetKey, CoercibleToAssetKey, key_of_parts
from ..errors import DefinitionError
from ..ops import NO_VALUE, In, OpDefinition, Out
from ..retry import RetryPolicy
from .definition import AssetChecksDefinition, AssetsDefinition
from .spec import AssetCheckSpec, AssetDep, AssetIn, AssetOut, AssetSpec, coerce_dep, plain_dep

__all__ = ["asset", "asset_check", "multi_asset"]


def _input_keys(sig_inputs: Sequence[str], ins: Mapping[str, AssetIn] | None,
                key_prefix: Sequence[str] | None, where: str) -> dict[str, AssetKey]:
    ins = ins or {}
    unknown = set(ins).difference(sig_inputs)
    if unknown:
        raise DefinitionError(
            f"{where}: ins= names {sorted(unknown)}, which are not parameters of the function; "
            f"its input parameters are {list(sig_inputs)}"
        )
    prefix = tuple(key_prefix or ())
    out: dict[str, AssetKey] = {}
    for pname in sig_inputs:
        if pname in ins:
            a_in = ins[pname]
            if not isinstance(a_in, AssetIn):
                raise DefinitionError(f"{where}: ins['{pname}'] must be an AssetIn, got {a_in!r}")
            if a_in.key is None and a_in.key_prefix is None:
                # AssetIn(metadata=...) only: the key is inferred as for a plain parameter
                out[pname] = key_of_parts((*prefix, pname))
            else:
                out[pname] = a_in.resolve_key(pname)
        else:
            out[pname] = key_of_parts((*prefix, pname))
    return out


def _mapping_of(ins: Mapping[str, AssetIn] | None, pname: str) -> Any:
    if not ins:
        return None
    a_in = ins.get(pname)
    return a_in.partition_mapping if a_in is not None else None


def _op_ins(sig: Any, keys_by_input: Mapping[str, AssetKey],
            ins: Mapping[str, AssetIn] | None) -> dict[str, In]:
    result: dict[str, In] = {}
    ins = ins or {}
    defaults = sig.defaults
    for pname, key in keys_by_input.items():
        a_in = ins.get(pname)
        result[pname] = In(
            dagster_type=a_in.dagster_type if a_in else None,
            metadata=(a_in.metadata if a_in else None),
            asset_key=key,
            default_value=defaults.get(pname, NO_VALUE) if defaults else NO_VALUE,
        )
    return result


def _norm_prefix(key_prefix: str | Sequence[str] | None) -> list[str]:
    if key_prefix is None:
        return []
    return [key_prefix] if isinstance(key_prefix, str) else list(key_prefix)


def asset(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    config_schema: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    io_manager_key: str | None = None,
    group_name: str | None = None,
    code_version: str | None = None,
    dagster_type: Any = None,
    retry_policy: RetryPolicy | None = None,
    tags: Mapping[str, str] | None = None,
    op_tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    partitions_def: Any = None,
    backfill_policy: Any = None,
    pool: str | None = None,
) -> Any:
    """Declare an asset computed by the decorated function.

    Parameters are read by name: ``context`` first (optional), then upstream assets (the
    parameter name is the upstream asset's name, or map it with ``ins=``), a parameter
    annotated with a ``Config`` subclass for config, and parameters annotated with
    ``ConfigurableResource`` subclasses for resources.
    """

    def deco(f: Callable[..., Any]) -> AssetsDefinition:
        require_function(f, "asset")
        if name is not None and (not isinstance(name, str) or "/" in name or not name):
            raise DefinitionError(
                f"@asset on {f.__name__}(): name={name!r} must be one non-empty key part "
                f"without '/'; give the parts before it with key_prefix=, or the whole key "
                f"with key=")
        if key is not None and (name is not None or key_prefix is not None):
            raise DefinitionError(
                f"@asset on {f.__name__}(): give either key= or name=/key_prefix=, not both"
            )
        prefix = _norm_prefix(key_prefix)
        asset_key = AssetKey.from_coercible(key) if key is not None else key_of_parts(
            (*prefix, name or f.__name__))
        user_key = asset_key.to_user_string()
        where = f"asset '{user_key}'"
        op_name = asset_key.to_python_identifier()
        sig = analyze(f, kind="asset", name=user_key)
        keys_by_input = _input_keys(sig.input_params, ins, asset_key.parts[:-1], where)
        all_deps = [plain_dep(k) if (pm := _mapping_of(ins, p)) is None else AssetDep(k, pm)
                    for p, k in keys_by_input.items()]
        if deps:
            all_deps += [coerce_dep(d) for d in deps]
        for d in all_deps:
            if d.asset_key == asset_key:
                raise DefinitionError(
                    f"{where} depends on itself; remove it from its inputs/deps")
        spec = AssetSpec(
            asset_key, deps=all_deps, description=description or (f.__doc__ or "").strip()
            or None, metadata=metadata, group_name=group_name, code_version=code_version,
            tags=tags, owners=owners, kinds=kinds, partitions_def=partitions_def,
            io_manager_key=io_manager_key,
        )
        out_type = dagster_type
        op_def = OpDefinition(
            f, name=op_name, ins=_op_ins(sig, keys_by_input, ins),
            outs={"result": Out(dagster_type=out_type, io_manager_key=io_manager_key,
                                code_version=code_version, metadata=metadata)},
            config_schema=config_schema, required_resource_keys=list(required_resource_keys)
            if required_resource_keys else None,
            retry_policy=retry_policy, tags=op_tags, description=spec.description,
            signature=sig, kind="asset", code_version=code_version, pool=pool,
        )
        checks = [cs.with_asset(asset_key) if cs.asset is None else cs
                  for cs in check_specs] if check_specs else []
        return AssetsDefinition(specs=[spec], node_def=op_def,
                                keys_by_output_name={"result": asset_key},
                                keys_by_input_name=keys_by_input, check_specs=checks,
                                backfill_policy=backfill_policy)

    return deco(fn) if fn is not None else deco


def multi_asset(
    fn: Callable[..., Any] | None = None,
    *,
    specs: Sequence[AssetSpec] | None = None,
    outs: Mapping[str, AssetOut] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    description: str | None = None,
    config_schema: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    group_name: str | None = None,
    can_subset: bool = False,
    retry_policy: RetryPolicy | None = None,
    op_tags: Mapping[str, str] | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    partitions_def: Any = None,
    backfill_policy: Any = None,
    pool: str | None = None,
) -> Any:
    """Declare several assets computed by one function, from ``specs=[AssetSpec(...)]`` or
    ``outs={"name": AssetOut(...)}``. With ``can_subset=True`` a run may select some of them
    (``context.selected_asset_keys`` says which)."""

    def deco(f: Callable[..., Any]) -> AssetsDefinition:
        require_function(f, "multi_asset")
        op_name = name or f.__name__
        where = f"multi_asset '{op_name}'"
        if (specs is None) == (outs is None):
            raise DefinitionError(f"{where}: give exactly one of specs= or outs=")
        sig = analyze(f, kind="multi_asset", name=op_name)
        keys_by_input = _input_keys(sig.input_params, ins, None, where)
        extra_deps = [coerce_dep(d) for d in (deps or ())]
        input_deps = [AssetDep(k, partition_mapping=_mapping_of(ins, p))
                      for p, k in keys_by_input.items()]
        resolved: list[AssetSpec] = []
        op_outs: dict[str, Out] = {}
        keys_by_output: dict[str, AssetKey] = {}
        if specs is not None:
            for s in specs:
                if not isinstance(s, AssetSpec):
                    raise DefinitionError(f"{where}: specs must be AssetSpec objects, got {s!r}")
                if (s.deps or not (input_deps or extra_deps)) and \
                        (s.group_name or not group_name) and \
                        (s.partitions_def is not None or partitions_def is None):
                    s2 = s  # nothing to fill in (the common case for generated specs)
                else:
                    s2 = s.replace_attributes(
                        deps=list(s.deps) if s.deps else input_deps + extra_deps,
                        group_name=s.group_name or group_name,
                        partitions_def=s.partitions_def or partitions_def)
                resolved.append(s2)
                out_name = s.key.to_python_identifier()
                keys_by_output[out_name] = s.key
                op_outs[out_name] = Out(is_required=not (can_subset or s.skippable),
                                        io_manager_key=s.io_manager_key,
                                        code_version=s.code_version, metadata=s.metadata)
        else:
            assert outs is not None
            for out_name, ao in outs.items():
                if not isinstance(ao, AssetOut):
                    raise DefinitionError(f"{where}: outs['{out_name}'] must be an AssetOut")
                s = ao.to_spec(out_name, input_deps + extra_deps)
                s = s.replace_attributes(group_name=s.group_name or group_name,
                                         partitions_def=partitions_def)
                resolved.append(s)
                keys_by_output[out_name] = s.key
                op_outs[out_name] = Out(dagster_type=ao.dagster_type,
                                        is_required=ao.is_required and not can_subset,
                                        io_manager_key=ao.io_manager_key,
                                        code_version=ao.code_version, metadata=ao.metadata)
        if not resolved:
            raise DefinitionError(f"{where} declares no assets")
        keyset = {s.key for s in resolved}
        for s in resolved:
            for d in s.dep_keys:
                if d == s.key:
                    raise DefinitionError(
                        f"{where}: asset '{s.key.to_user_string()}' depends on itself")
        op_def = OpDefinition(
            f, name=op_name, ins=_op_ins(sig, keys_by_input, ins), outs=op_outs,
            config_schema=config_schema,
            required_resource_keys=list(required_resource_keys or ()),
            retry_policy=retry_policy, tags=op_tags, description=description, signature=sig,
            kind="multi_asset", pool=pool,
        )
        del keyset
        return AssetsDefinition(specs=resolved, node_def=op_def,
                                keys_by_output_name=keys_by_output,
                                keys_by_input_name=keys_by_input, can_subset=can_subset,
                                check_specs=list(check_specs or ()),
                                backfill_policy=backfill_policy)

    return deco(fn) if fn is not None else deco


def asset_check(
    fn: Callable[..., Any] | None = None,
    *,
    asset: Any,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    additional_ins: Mapping[str, AssetIn] | None = None,
    required_resource_keys: Iterable[str] | None = None,
    config_schema: Any = None,
    metadata: Mapping[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
) -> Any:
    """Declare a check of ``asset`` computed by the decorated function, which returns an
    ``AssetCheckResult``. A parameter named like the asset (or its only input parameter)
    receives the asset's value. ``blocking=True``: when the check fails with ERROR severity,
    assets downstream of ``asset`` are not materialized in the same run."""

    def deco(f: Callable[..., Any]) -> AssetChecksDefinition:
        require_function(f, "asset_check")
        spec_key = coerce_dep(asset).asset_key
        check_name = name or f.__name__
        where = f"asset_check '{check_name}' on '{spec_key.to_user_string()}'"
        sig = analyze(f, kind="asset_check", name=check_name)
        extra = dict(additional_ins or {})
        keys_by_input: dict[str, AssetKey] = {}
        for pname in sig.input_params:
            if pname in extra:
                keys_by_input[pname] = extra[pname].resolve_key(pname)
        rest = [p for p in sig.input_params if p not in keys_by_input]
        if len(rest) > 1:
            raise DefinitionError(
                f"{where}: parameters {rest} are not mapped; the checked asset is one parameter, "
                f"others need additional_ins={{name: AssetIn(...)}}"
            )
        if rest:
            keys_by_input[rest[0]] = spec_key
        op_def = OpDefinition(
            f, name=f"{spec_key.to_python_identifier()}_{check_name}",
            ins={p: In(asset_key=k) for p, k in keys_by_input.items()},
            outs={"result": Out(is_required=False)}, config_schema=config_schema,
            required_resource_keys=list(required_resource_keys or ()),
            retry_policy=retry_policy, description=description, signature=sig,
            kind="asset_check",
        )
        cs = AssetCheckSpec(check_name, asset=spec_key, description=description,
                            blocking=blocking, metadata=metadata)
        return AssetChecksDefinition(specs=[cs], node_def=op_def,
                                     keys_by_input_name=keys_by_input)

    return deco(fn) if fn is not None else deco


def external_assets_from_specs(specs: Iterable[AssetSpec]) -> list[AssetsDefinition]:
    """External (source) assets: produced outside the orchestrator, loadable by inputs."""
    return [AssetsDefinition(specs=[s], node_def=None) for s in specs]
