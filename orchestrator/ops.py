"""Ops: the unit of computation of a job. ``@op`` with ``In``/``Out``/``DynamicOut``.

::

    @op(out={"even": Out(), "odd": Out()})
    def split(context, numbers: list[int]):
        context.log.info("splitting %d numbers", len(numbers))
        return [n for n in numbers if n % 2 == 0], [n for n in numbers if n % 2]

    @op(out=DynamicOut())
    def files(context):
        for name in ["a", "b"]:
            yield DynamicOutput(name, mapping_key=name)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._compute import ComputeSignature, analyze, require_function
from .errors import DefinitionError
from .retry import RetryPolicy

__all__ = ["DynamicOut", "In", "OpDefinition", "Out", "op", "NO_VALUE"]


class _NoValue:
    def __repr__(self) -> str:
        return "NO_VALUE"

    def __bool__(self) -> bool:
        return False


NO_VALUE: Any = _NoValue()
_NO_KEYS: frozenset[str] = frozenset()


class _LazyMetadata:
    """``metadata`` made on first use (most inputs and outputs have none)."""

    __slots__ = ()
    _metadata: dict[str, Any]

    @property
    def metadata(self) -> dict[str, Any]:
        try:
            return self._metadata
        except AttributeError:
            m = self._metadata = {}
            return m

    @metadata.setter
    def metadata(self, value: Any) -> None:
        self._metadata = value


class In(_LazyMetadata):
    """An op input: its type, description, default and (for assets) the upstream key."""

    __slots__ = ("dagster_type", "description", "default_value", "_metadata", "asset_key")

    def __init__(self, dagster_type: Any = None, description: str | None = None,
                 default_value: Any = NO_VALUE, metadata: Mapping[str, Any] | None = None,
                 asset_key: Any = None) -> None:
        self.dagster_type = dagster_type
        self.description = description
        self.default_value = default_value
        if metadata:  # (otherwise made on first use: most have none)
            self._metadata = dict(metadata)
        self.asset_key = asset_key

    @property
    def is_nothing(self) -> bool:
        from .types import Nothing

        return self.dagster_type is Nothing


class Out(_LazyMetadata):
    """An op output: type, description, whether it must be produced, its IO manager."""

    __slots__ = ("dagster_type", "description", "is_required", "io_manager_key", "_metadata",
                 "code_version")
    is_dynamic = False

    def __init__(self, dagster_type: Any = None, description: str | None = None,
                 is_required: bool = True, io_manager_key: str | None = None,
                 metadata: Mapping[str, Any] | None = None,
                 code_version: str | None = None) -> None:
        self.dagster_type = dagster_type
        self.description = description
        self.is_required = is_required
        self.io_manager_key = io_manager_key
        if metadata:  # (otherwise made on first use: most have none)
            self._metadata = dict(metadata)
        self.code_version = code_version


class DynamicOut(Out):
    """An output that fans out: the op yields ``DynamicOutput(value, mapping_key=...)`` any
    number of times and downstream ops run once per element (``.map``), or once over all of
    them (``.collect``)."""

    __slots__ = ()
    is_dynamic = True


class OpDefinition:
    """A compute function with typed inputs and outputs, config and resources.

    Made by ``@op``; assets and checks compile into one as well. Calling it inside a
    ``@graph`` wires it into the graph; calling it anywhere else runs the function
    (``my_op(build_op_context(), 1)``).
    """

    def __init__(
        self,
        compute_fn: Callable[..., Any],
        *,
        name: str,
        ins: Mapping[str, In] | None = None,
        outs: Mapping[str, Out] | None = None,
        config_schema: Any = None,
        required_resource_keys: Sequence[str] | None = None,
        retry_policy: RetryPolicy | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        signature: ComputeSignature | None = None,
        kind: str = "op",
        code_version: str | None = None,
        pool: str | None = None,
    ) -> None:
        _check_name(name, kind)
        self.compute_fn = compute_fn
        self.name = name
        self.kind = kind
        self.description = description or (compute_fn.__doc__ or "").strip() or None
        sig = self.signature = signature or analyze(compute_fn, kind=kind, name=name)
        self.ins: dict[str, In] = dict(ins) if ins else {}
        defaults = sig.defaults
        for pname in sig.input_params:
            a_in = self.ins.get(pname)
            if a_in is None:
                self.ins[pname] = In(default_value=defaults.get(pname, NO_VALUE))
            elif pname in defaults and a_in.default_value is NO_VALUE:
                a_in.default_value = defaults[pname]
        # every input parameter is in self.ins now, so more names means unknown ones
        unknown = set(self.ins).difference(sig.input_params) \
            if len(self.ins) > len(sig.input_params) else None
        if unknown:  # inputs that are only ordering (Nothing) need no parameter
            unknown = {n for n in unknown if not self.ins[n].is_nothing}
        if unknown and not self.signature.has_kwargs:
            raise DefinitionError(
                f"{kind} '{name}' declares inputs {sorted(unknown)} that are not parameters of "
                f"{self.signature.fn_name}(); add parameters with those names or remove them "
                f"from ins="
            )
        self.outs: dict[str, Out] = dict(outs) if outs else {"result": Out()}
        if self.signature.config_schema is not None and config_schema is not None:
            raise DefinitionError(
                f"{kind} '{name}' has both a config parameter "
                f"('{self.signature.config_param}') and config_schema=; use one"
            )
        self.config_schema = config_schema if config_schema is not None else (
            self.signature.config_schema)
        self.required_resource_keys = frozenset(required_resource_keys or ()) | frozenset(
            self.signature.resource_params.values()
        ) if required_resource_keys or self.signature.resource_params else _NO_KEYS
        self.retry_policy = retry_policy
        if tags:  # (otherwise made on first use: most ops have none)
            self._tags = dict(tags)
        self.code_version = code_version
        self.pool = pool

    @property
    def tags(self) -> dict[str, str]:
        """The op's tags (a dict)."""
        try:
            return self._tags
        except AttributeError:
            t = self._tags = {}
            return t

    @tags.setter
    def tags(self, value: Any) -> None:
        self._tags = value

    # composition / direct invocation ----------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .graphs import _current_composition

        comp = _current_composition()
        if comp is not None:
            return comp.invoke(self, self.name, args, kwargs)
        from .execution.direct import invoke_directly

        return invoke_directly(self, args, kwargs)

    def alias(self, name: str) -> _AliasedOp:
        """Use this op under another node name inside a graph: ``add.alias("add_two")(x)``."""
        return _AliasedOp(self, name)

    def with_retry_policy(self, retry_policy: RetryPolicy) -> OpDefinition:
        self.retry_policy = retry_policy
        return self

    @property
    def has_dynamic_output(self) -> bool:
        return any(o.is_dynamic for o in self.outs.values())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class _AliasedOp:
    def __init__(self, op_def: OpDefinition, name: str) -> None:
        _check_name(name, "op alias")
        self.op_def, self.name = op_def, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .graphs import _current_composition

        comp = _current_composition()
        if comp is None:
            raise DefinitionError(
                f"op alias '{self.name}' can only be called inside a @graph or @job body"
            )
        return comp.invoke(self.op_def, self.name, args, kwargs)


_NAME_RE = re.compile(r"[A-Za-z0-9_\-]+")


def _check_name(name: str, kind: str) -> None:
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        raise DefinitionError(
            f"{kind} name {name!r} is not valid: use letters, digits, '_' and '-' only"
        )


def op(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    config_schema: Any = None,
    required_resource_keys: Sequence[str] | None = None,
    retry_policy: RetryPolicy | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    code_version: str | None = None,
    pool: str | None = None,
) -> Any:
    """Declare an op. Used bare (``@op``) or with arguments (``@op(out=...)``)."""

    def deco(f: Callable[..., Any]) -> OpDefinition:
        require_function(f, "op")
        outs: Mapping[str, Out] | None
        if out is None:
            outs = None
        elif isinstance(out, Out):
            outs = {"result": out}
        elif isinstance(out, Mapping):
            outs = dict(out)
            for k, v in outs.items():
                if not isinstance(v, Out):
                    raise DefinitionError(
                        f"op '{name or f.__name__}': out['{k}'] must be an Out(), got {v!r}"
                    )
        else:
            raise DefinitionError(
                f"op '{name or f.__name__}': out= must be an Out() or a dict of name → Out(), "
                f"got {out!r}"
            )
        return OpDefinition(
            f, name=name or f.__name__, ins=ins, outs=outs, config_schema=config_schema,
            required_resource_keys=required_resource_keys, retry_policy=retry_policy,
            tags=tags, description=description, code_version=code_version, pool=pool,
        )

    if fn is not None:
        return deco(fn)
    return deco
