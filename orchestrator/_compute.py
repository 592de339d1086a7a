"""How a compute function's parameters are read: context, config, resources, inputs.

Shared by ``@op``, ``@asset``, ``@multi_asset`` and ``@asset_check``, so the same rules
hold everywhere:

- the first parameter is the context when it is named ``context`` (or ``ctx``,
  ``_context``, ``_``) or annotated with an execution context class;
- a parameter annotated with a ``Config`` subclass receives the config;
- a parameter annotated with a ``ConfigurableResource`` subclass, or ``ResourceParam[T]``,
  receives the resource of the same name;
- every other parameter is an input.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from .errors import DefinitionError

__all__ = ["ComputeSignature", "ResourceParam", "analyze", "is_config_class",
           "is_resource_class", "require_function"]

_CONTEXT_NAMES = frozenset({"context", "ctx", "_context", "_"})
_RESOURCE_MARKER = "__orchestrator_resource_param__"

class _Empty:
    """No annotation / no default (like inspect.Parameter.empty, without importing inspect)."""

    def __repr__(self) -> str:
        return "<empty>"


_NO_DEFAULT: typing.Any = _Empty()


class _ReadOnlyEmpty(dict):  # type: ignore[type-arg]
    """The shared empty ``defaults``/``annotations``/``resource_params`` of a signature: a dict
    (json, ``isinstance`` and ``|`` work) that refuses changes and pickles/copies as itself."""

    def _refuse(self, *args: Any, **kwargs: Any) -> typing.NoReturn:
        raise TypeError("this empty mapping is shared by many signatures and cannot be changed;"
                        " assign a new dict instead")

    __setitem__ = __delitem__ = __ior__ = update = setdefault = pop = popitem = clear = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (_shared_empty, ())

    def __copy__(self) -> _ReadOnlyEmpty:
        return self

    def __deepcopy__(self, memo: Any) -> _ReadOnlyEmpty:
        return self


def _shared_empty() -> _ReadOnlyEmpty:
    return _NONE


_NONE: typing.Any = _ReadOnlyEmpty()
# code object flags (from the inspect module's CO_* constants)
_CO_VARKEYWORDS, _CO_GENERATOR, _CO_COROUTINE, _CO_ASYNC_GENERATOR = 0x08, 0x20, 0x80, 0x200

T = typing.TypeVar("T")


class _ResourceParamFactory:
    """``ResourceParam[MyClient]`` marks a parameter as a resource of any Python type."""

    def __getitem__(self, item: Any) -> Any:
        return Annotated[item, _RESOURCE_MARKER]


ResourceParam = _ResourceParamFactory()


def _mro_names(annotation: Any) -> set[tuple[str, str]]:
    if not isinstance(annotation, type):
        return set()
    try:
        return {(c.__module__, c.__name__) for c in annotation.__mro__}
    except Exception:  # pragma: no cover - exotic metaclasses
        return set()


def is_config_class(annotation: Any) -> bool:
    """True for subclasses of ``orchestrator.Config`` that are not resources (no import)."""
    names = _mro_names(annotation)
    return ("orchestrator.config", "Config") in names and not is_resource_class(annotation)


def is_resource_class(annotation: Any) -> bool:
    if isinstance(annotation, type) and getattr(annotation, "__orchestrator_resource__", False):
        return True  # plain resource classes (e.g. PipesSubprocessClient)
    return any(n == "ConfigurableResource" and m.startswith("orchestrator")
               for m, n in _mro_names(annotation))


def _is_context_annotation(annotation: Any) -> bool:
    return any(n.endswith("ExecutionContext") and m.startswith("orchestrator")
               for m, n in _mro_names(annotation))


@dataclass
class ComputeSignature:
    fn_name: str
    context_param: str | None = None
    config_param: str | None = None
    config_schema: Any = None
    resource_params: dict[str, str] = field(default_factory=dict)
    input_params: list[str] = field(default_factory=list)
    annotations: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    return_annotation: Any = _NO_DEFAULT
    is_generator: bool = False
    has_kwargs: bool = False


def _resolve_annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    raw = getattr(fn, "__annotations__", None)
    if not raw:
        return {}
    for v in raw.values():
        if isinstance(v, str):
            break
    else:
        return dict(raw)
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        # Unresolvable forward references: keep what resolved, skip the rest (no check).
        # Names defined where the decorator runs (a Config class inside a test function,
        # under ``from __future__ import annotations``) are looked up there, as pydantic does.
        out: dict[str, Any] = {}
        globalns = getattr(fn, "__globals__", {})
        localns = _decoration_site_locals()
        for k, v in raw.items():
            if isinstance(v, str):
                try:
                    out[k] = eval(v, globalns, localns)  # noqa: S307 - annotations are user code
                except Exception:
                    continue
            else:
                out[k] = v
        return out


def _decoration_site_locals() -> dict[str, Any]:
    """Local names of the nearest calling frame outside the orchestrator package."""
    import sys

    pkg = __name__.rpartition(".")[0] or __name__
    frame = sys._getframe(1)
    while frame is not None and (frame.f_globals.get("__name__", "") == pkg or
                                 frame.f_globals.get("__name__", "").startswith(pkg + ".")):
        frame = frame.f_back  # type: ignore[assignment]
    return dict(frame.f_locals) if frame is not None else {}


def require_function(fn: Any, kind: str) -> None:
    """Raise DefinitionError unless ``fn`` can be decorated by ``@kind``."""
    if not callable(fn) or isinstance(fn, type):
        raise DefinitionError(
            f"@{kind} must decorate a function, got {fn!r}; write @{kind} (or "
            f"@{kind}(...)) on a def")


def analyze(fn: Callable[..., Any], *, kind: str, name: str) -> ComputeSignature:
    """Read ``fn``'s parameters. ``kind`` and ``name`` ("asset", "orders") go in errors."""
    if not callable(fn):
        raise DefinitionError(f"@{kind} must decorate a function, got {fn!r}")
    code = getattr(fn, "__code__", None)
    # most functions have no defaults, resources or annotated inputs: those three stay one
    # shared read-only empty dict (thousands of assets: fewer objects for the GC to walk)
    sig = ComputeSignature(getattr(fn, "__name__", name), None, None, None, _NONE, [], _NONE,
                           _NONE)
    annotations = _resolve_annotations(fn)
    if code is not None:
        argcount = code.co_argcount
        varnames = code.co_varnames
        params = varnames[: argcount + code.co_kwonlyargcount]
        defaults = fn.__defaults__
        kwdefaults = fn.__kwdefaults__
        if defaults or kwdefaults:
            sig.defaults = {}
            if defaults:
                pos = varnames[:argcount]
                for pname, value in zip(pos[len(pos) - len(defaults):], defaults):
                    sig.defaults[pname] = value
            if kwdefaults:
                sig.defaults.update(kwdefaults)
        flags = code.co_flags
        sig.has_kwargs = bool(flags & _CO_VARKEYWORDS)
        sig.is_generator = bool(flags & _CO_GENERATOR) and not (
            flags & (_CO_COROUTINE | _CO_ASYNC_GENERATOR))
    else:  # a callable object
        import inspect

        s = inspect.signature(fn)
        params = [p.name for p in s.parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        sig.defaults = {p.name: p.default for p in s.parameters.values()
                        if p.default is not p.empty}
    sig.return_annotation = annotations.get("return", _NO_DEFAULT)
    input_params = sig.input_params
    for i, pname in enumerate(params):
        ann = annotations.get(pname, _NO_DEFAULT) if annotations else _NO_DEFAULT
        if ann is _NO_DEFAULT:  # the common case: a plain input (or the context)
            if pname in _CONTEXT_NAMES:
                if i > 0:
                    raise DefinitionError(
                        f"{kind} '{name}': the context parameter '{pname}' must come first")
                sig.context_param = pname
            else:
                input_params.append(pname)
            continue
        if i == 0 and (pname in _CONTEXT_NAMES or _is_context_annotation(ann)):
            sig.context_param = pname
            continue
        if ann is not _NO_DEFAULT and is_config_class(ann):
            if sig.config_param is not None:
                raise DefinitionError(
                    f"{kind} '{name}' has two config parameters ('{sig.config_param}' and "
                    f"'{pname}'); declare one Config class and put all fields in it"
                )
            sig.config_param, sig.config_schema = pname, ann
            continue
        if ann is not _NO_DEFAULT and (
            is_resource_class(ann)
            or (typing.get_origin(ann) is Annotated and _RESOURCE_MARKER in ann.__metadata__)
        ):
            if sig.resource_params is _NONE:
                sig.resource_params = {}
            sig.resource_params[pname] = pname
            continue
        if pname in _CONTEXT_NAMES and i > 0:
            raise DefinitionError(
                f"{kind} '{name}': the context parameter '{pname}' must come first"
            )
        sig.input_params.append(pname)
        if ann is not _NO_DEFAULT:
            if sig.annotations is _NONE:
                sig.annotations = {}
            sig.annotations[pname] = ann
    return sig
