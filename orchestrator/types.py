"""Runtime types: custom type checks and gradual checking of annotations.

Inputs and outputs of assets and ops are checked against their annotations when a run
executes. Plain annotations are checked structurally; a :class:`DagsterType` adds a check
function of your own::

    from orchestrator.types import DagsterType, TypeCheck, type_checker_for

    NonEmptyList = DagsterType(
        type_check_fn=lambda _context, value: isinstance(value, list) and len(value) > 0,
        name="NonEmptyList",
    )

    check = type_checker_for(list[int])
    assert check([1, 2]).success
    print(check([1, "x"]).description)
    # expected list[int], got list with element 1 of type str ('x')
    assert not type_checker_for(NonEmptyList)([]).success

Rules of the gradual checker (see ``docs/concepts/types.md``):

* no annotation, ``Any``, ``object`` and type variables are not checked;
* classes are checked with ``isinstance`` following the typing conventions that static type
  checkers apply: ``bool`` passes as ``int``, ``int`` passes as ``float`` and ``complex``;
* ``Optional``/``Union``/``X | Y``, ``Literal``, ``Annotated`` (the underlying type),
  ``NewType`` (its base), ``type[X]``, ``Callable``, runtime-checkable protocols;
* ``list[T]``, ``set[T]``, ``frozenset[T]``, ``tuple[...]``, ``dict[K, V]`` and the
  ``collections.abc`` sequences, sets and mappings check the container and every element;
  other generics (``Iterator[T]``, ``MyGeneric[T]``...) check the container only;
* anything the checker does not understand (an unresolved forward reference string, a
  non-runtime protocol) is skipped rather than failing.

This module imports no third-party package.
"""

from __future__ import annotations

import collections.abc as cabc
import enum
import types as _pytypes
import typing
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.errors import TypeCheckError

__all__ = [
    "DagsterType",
    "Nothing",
    "TypeCheck",
    "TypeCheckContext",
    "TypeChecker",
    "TypeDefinition",
    "check_type",
    "enforce_type",
    "is_nothing",
    "type_checker_for",
    "type_name",
]


class TypeCheck:
    """The result of a type check: ``success``, an optional ``description`` and ``metadata``.

    A type check function may return a plain ``bool`` or a ``TypeCheck`` to explain itself::

        def check_rows(_context, rows):
            if not rows:
                return TypeCheck(False, description="no rows")
            return TypeCheck(True, metadata={"row_count": len(rows)})
    """

    __slots__ = ("description", "metadata", "success")

    def __init__(
        self,
        success: bool,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(success, bool):
            raise TypeCheckError(
                f"TypeCheck(success=...) must be a bool, got {type(success).__name__} "
                f"({_short_repr(success)})"
            )
        self.success = success
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata) if metadata else {}

    def __bool__(self) -> bool:
        return self.success

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypeCheck):
            return NotImplemented
        return (self.success, self.description, self.metadata) == (
            other.success,
            other.description,
            other.metadata,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [f"success={self.success!r}"]
        if self.description is not None:
            parts.append(f"description={self.description!r}")
        if self.metadata:
            parts.append(f"metadata={self.metadata!r}")
        return f"TypeCheck({', '.join(parts)})"


class TypeCheckContext:
    """What a :class:`DagsterType` check function receives as its first argument.

    ``run_id``, ``log`` (a ``logging.Logger``-like object) and ``resources`` are filled in by
    the executor; all three may be ``None`` when a check runs outside of a run.
    """

    __slots__ = ("log", "resources", "run_id")

    def __init__(self, run_id: str | None = None, log: Any = None, resources: Any = None) -> None:
        self.run_id = run_id
        self.log = log
        self.resources = resources

    def __repr__(self) -> str:
        return f"TypeCheckContext(run_id={self.run_id!r})"


class DagsterType:
    """A named type with a check function of your own (Dagster's ``DagsterType``).

    ``type_check_fn(context, value)`` returns ``True``/``False`` or a :class:`TypeCheck`.
    Use the instance as an annotation (``def clean(df: NonEmptyDataFrame)``) or pass it as
    ``In(dagster_type=...)`` / ``Out(dagster_type=...)``::

        NonEmptyDataFrame = DagsterType(
            type_check_fn=lambda _ctx, df: len(df) > 0,
            name="NonEmptyDataFrame",
            description="A data frame with at least one row.",
        )

    ``typing_type`` is the Python type the value has (documentation and static typing only).
    """

    __slots__ = ("description", "metadata", "name", "type_check_fn", "typing_type")

    def __init__(
        self,
        type_check_fn: Callable[[Any, Any], bool | TypeCheck],
        name: str,
        description: str | None = None,
        *,
        typing_type: Any = Any,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(type_check_fn):
            raise TypeCheckError(
                f"DagsterType {name!r}: type_check_fn must be a function "
                f"(context, value) -> bool | TypeCheck, got {type(type_check_fn).__name__}"
            )
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeCheckError(
                f"DagsterType name must be a Python identifier such as 'NonEmptyDataFrame', "
                f"got {name!r}"
            )
        self.type_check_fn = type_check_fn
        self.name = name
        self.description = description
        self.typing_type = typing_type
        self.metadata: dict[str, Any] = dict(metadata) if metadata else {}

    def type_check(self, context: Any, value: Any) -> TypeCheck:
        """Run the check function on ``value`` and normalise its answer to a TypeCheck."""
        result = self._evaluate(context, value)
        if result is None:
            return TypeCheck(
                False,
                description=f"value of type {type(value).__name__} ({_short_repr(value)}) "
                f"failed the {self.name!r} type check",
            )
        return result

    def _evaluate(self, context: Any, value: Any) -> TypeCheck | None:
        """The check's TypeCheck; None when the check function answered a bare False."""
        try:
            result = self.type_check_fn(context, value)
        except Exception as exc:
            raise TypeCheckError(
                f"the type check function of {self.name!r} raised {type(exc).__name__}: {exc}. "
                f"A type check function should return False or TypeCheck(False, ...) instead "
                f"of raising."
            ) from exc
        if result is True:
            return _SUCCESS
        if result is False:
            return None
        if isinstance(result, TypeCheck):
            return result
        raise TypeCheckError(
            f"the type check function of {self.name!r} returned {type(result).__name__} "
            f"({_short_repr(result)}); it must return a bool or a TypeCheck"
        )

    def __or__(self, other: Any) -> Any:
        return typing.Union[self, other]  # noqa: UP007 - instances are not types

    def __ror__(self, other: Any) -> Any:
        return typing.Union[other, self]  # noqa: UP007

    def __repr__(self) -> str:
        return f"DagsterType(name={self.name!r})"


#: Dagster's name is kept for portability; ``TypeDefinition`` is the neutral alias.
TypeDefinition = DagsterType


def _nothing_check(_context: Any, value: Any) -> bool | TypeCheck:
    if value is None:
        return True
    return TypeCheck(
        False,
        description=f"an input or output of type Nothing carries no data, got "
        f"{type(value).__name__} ({_short_repr(value)})",
    )


#: Marks an input that carries no data and only orders execution (Dagster's ``Nothing``).
Nothing = DagsterType(
    _nothing_check,
    name="Nothing",
    description="Carries no data; an input of this type only orders execution.",
    typing_type=type(None),
)


def is_nothing(annotation: Any) -> bool:
    """True when ``annotation`` is :data:`Nothing` (also inside ``Annotated``)."""
    if annotation is Nothing:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0] is Nothing
    return False


# --------------------------------------------------------------------------------------------
# Gradual checking of annotations
# --------------------------------------------------------------------------------------------

#: ``checker(value, context=None) -> TypeCheck``.
TypeChecker = Callable[..., TypeCheck]

# A matcher returns None when ``value`` matches and otherwise a description of what came,
# written to follow "got " (for example "str ('x')").
_Matcher = Callable[[Any, Any], "str | None"]

_SUCCESS = TypeCheck(True)
_UNCHECKED = object()  # cache marker for "no check needed"
_CACHE: dict[Any, Any] = {}
_CACHE_LIMIT = 4096

_NUMERIC_WIDENING: dict[type, tuple[type, ...]] = {
    float: (int, float),
    complex: (int, float, complex),
}
_SEQUENCE_ORIGINS = (list, cabc.Sequence, cabc.MutableSequence)
_SET_ORIGINS = (set, frozenset, cabc.Set, cabc.MutableSet)
_MAPPING_ORIGINS = (dict, cabc.Mapping, cabc.MutableMapping)


def _short_repr(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the type error
        text = f"<{type(value).__name__} object>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _got(value: Any) -> str:
    return f"{type(value).__name__} ({_short_repr(value)})"


def type_name(annotation: Any) -> str:
    """A short, readable name for an annotation: ``list[int]``, ``int | None``, ``Literal['a']``."""
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    if isinstance(annotation, DagsterType):
        return annotation.name
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, typing.ForwardRef):
        return annotation.__forward_arg__
    if isinstance(annotation, typing.TypeVar):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is _pytypes.UnionType:
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is not None:
        base = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        if not args:
            return "tuple[()]" if origin is tuple and annotation is not tuple else base
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{type_name(args[0])}, ...]"
        if origin in (cabc.Callable, typing.Callable):  # type: ignore[comparison-overlap]
            return "Callable"
        return f"{base}[{', '.join(type_name(a) for a in args)}]"
    if isinstance(annotation, type):
        if annotation.__module__ == "builtins":
            return annotation.__name__
        return annotation.__qualname__
    supertype = getattr(annotation, "__supertype__", None)  # NewType
    if supertype is not None:
        return getattr(annotation, "__name__", str(annotation))
    return str(annotation).replace("typing.", "")


def _class_matcher(cls: type) -> _Matcher:
    accepted = _NUMERIC_WIDENING.get(cls, cls)

    def match(value: Any, _ctx: Any) -> str | None:
        if isinstance(value, accepted):
            return None
        return _got(value)

    return match


def _is_inspect_empty(annotation: Any) -> bool:
    """``inspect.Parameter.empty`` means "no annotation" (recognised without importing inspect)."""
    return (isinstance(annotation, type) and annotation.__name__ == "_empty"
            and annotation.__module__ == "inspect")


def _compile(annotation: Any) -> _Matcher | None:
    """Build a matcher for ``annotation``; None means no check is needed (or possible)."""
    if annotation is None or annotation is type(None):
        return lambda v, _c: None if v is None else _got(v)
    if annotation is Any or annotation is object or _is_inspect_empty(annotation):
        return None
    if isinstance(annotation, (str, typing.ForwardRef, typing.TypeVar)):
        return None
    if isinstance(annotation, (typing.ParamSpec, typing.ParamSpecArgs, typing.ParamSpecKwargs)):
        return None
    if isinstance(annotation, DagsterType):
        return _dagster_type_matcher(annotation)

    origin = typing.get_origin(annotation)
    if origin is not None:
        return _compile_generic(annotation, origin, typing.get_args(annotation))

    if isinstance(annotation, type):
        if typing.is_typeddict(annotation):
            return _class_matcher(dict)
        if getattr(annotation, "_is_protocol", False) and not getattr(
            annotation, "_is_runtime_protocol", False
        ):
            return None  # isinstance() is not allowed on non-runtime protocols
        return _class_matcher(annotation)

    supertype = getattr(annotation, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _compile(supertype)
    return None  # something we do not understand: skip it rather than fail


def _dagster_type_matcher(dagster_type: DagsterType) -> _Matcher:
    def match(value: Any, ctx: Any) -> str | None:
        result = dagster_type._evaluate(ctx, value)
        if result is not None and result.success:
            return None
        detail = f" ({result.description})" if result is not None and result.description else ""
        return f"{_got(value)} that fails {dagster_type.name}{detail}"

    return match


def _compile_generic(annotation: Any, origin: Any, args: tuple[Any, ...]) -> _Matcher | None:
    if origin is typing.Annotated:
        return _compile(args[0])
    if origin is typing.Union or origin is _pytypes.UnionType:
        return _union_matcher(args)
    if origin is typing.Literal:
        return _literal_matcher(args)
    if origin is typing.ClassVar or origin is typing.Final:
        return _compile(args[0]) if args else None
    if origin is type:
        return _type_matcher(args[0] if args else Any)
    if origin is cabc.Callable:
        return lambda v, _c: None if callable(v) else _got(v)
    if not isinstance(origin, type):
        return None
    if origin is tuple:
        if annotation is typing.Tuple:  # noqa: UP006 - bare typing.Tuple: any tuple
            return _class_matcher(tuple)
        return _tuple_matcher(args)
    if args and (origin in _SEQUENCE_ORIGINS or origin in _SET_ORIGINS):
        return _iterable_matcher(origin, args[0])
    if origin in _MAPPING_ORIGINS and len(args) == 2:
        return _mapping_matcher(origin, args[0], args[1])
    # Any other generic (Iterator[int], MyGeneric[int], ...): check the container only.
    try:
        isinstance(None, origin)
    except TypeError:
        return None
    return _class_matcher(origin)


def _union_matcher(args: tuple[Any, ...]) -> _Matcher | None:
    members = [_compile(a) for a in args]
    if any(m is None for m in members):
        return None  # Union with Any (or something unchecked) accepts everything
    plain = [a for a in args if isinstance(a, type) and typing.get_origin(a) is None]
    if len(plain) == len(args):  # only classes: one isinstance call
        accepted: tuple[type, ...] = ()
        for cls in plain:
            accepted += _NUMERIC_WIDENING.get(cls, (cls,))

        def match_classes(value: Any, _ctx: Any) -> str | None:
            return None if isinstance(value, accepted) else _got(value)

        return match_classes
    # Cheap structural members first, so ``NonEmpty | None`` never calls the user's check
    # function with None.
    order = sorted(range(len(args)), key=lambda i: isinstance(args[i], DagsterType))
    matchers = [members[i] for i in order if members[i] is not None]

    def match(value: Any, ctx: Any) -> str | None:
        problems = []
        for m in matchers:
            problem = m(value, ctx)
            if problem is None:
                return None
            problems.append(problem)
        plain = _got(value)
        for problem in problems:
            if problem != plain:
                # this member took the value's outer type: its detail says the most
                return problem
        return plain

    return match


def _literal_matcher(args: tuple[Any, ...]) -> _Matcher:
    allowed = tuple((type(a), a) for a in args)

    def match(value: Any, _ctx: Any) -> str | None:
        for kind, item in allowed:
            # Literal[1] does not accept True, Literal[Color.RED] accepts only that member.
            if type(value) is kind and value == item:
                return None
            if isinstance(item, enum.Enum) and value is item:
                return None
        return _got(value)

    return match


def _type_matcher(target: Any) -> _Matcher:
    if not isinstance(target, type):
        return lambda v, _c: None if isinstance(v, type) else _got(v)

    def match(value: Any, _ctx: Any) -> str | None:
        if isinstance(value, type) and issubclass(value, target):
            return None
        return _got(value)

    return match


def _tuple_matcher(args: tuple[Any, ...]) -> _Matcher:
    if len(args) == 2 and args[1] is Ellipsis:
        return _iterable_matcher(tuple, args[0])
    if args == ((),):  # older spelling of the empty tuple type
        args = ()
    items = [_compile(a) for a in args]
    size = len(items)

    def match(value: Any, ctx: Any) -> str | None:
        if not isinstance(value, tuple):
            return _got(value)
        if len(value) != size:
            return f"tuple of length {len(value)} (expected {size})"
        for index, (m, item) in enumerate(zip(items, value)):
            if m is not None:
                problem = m(item, ctx)
                if problem is not None:
                    return f"tuple with element {index} of type {problem}"
        return None

    return match


def _iterable_matcher(container: type, item_annotation: Any) -> _Matcher:
    item = _compile(item_annotation)
    indexed = not issubclass(container, cabc.Set)

    if item is None:
        return _class_matcher(container)

    accepted = _plain_classes(item_annotation)
    if accepted is not None:
        # Fast path for the common list[int] / set[str]: one isinstance call per element,
        # no function call; the slow loop below runs only to describe a failure.
        def match_plain(value: Any, ctx: Any) -> str | None:
            if not isinstance(value, container):
                return _got(value)
            for element in value:
                if not isinstance(element, accepted):
                    return match(value, ctx)
            return None

    def match(value: Any, ctx: Any) -> str | None:
        if not isinstance(value, container):
            return _got(value)
        for index, element in enumerate(value):
            problem = item(element, ctx)
            if problem is not None:
                where = f"element {index}" if indexed else "element"
                return f"{type(value).__name__} with {where} of type {problem}"
        return None

    return match if accepted is None else match_plain


def _plain_classes(annotation: Any) -> tuple[type, ...] | None:
    """The isinstance() tuple for a plain class or a union of plain classes, else None."""
    if annotation is None or annotation is type(None):
        return (type(None),)
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        if typing.is_typeddict(annotation) or getattr(annotation, "_is_protocol", False):
            return None
        return _NUMERIC_WIDENING.get(annotation, (annotation,))
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is _pytypes.UnionType:
        accepted: tuple[type, ...] = ()
        for member in typing.get_args(annotation):
            part = _plain_classes(member)
            if part is None:
                return None
            accepted += part
        return accepted
    return None


def _mapping_matcher(container: type, key_annotation: Any, value_annotation: Any) -> _Matcher:
    key_m = _compile(key_annotation)
    val_m = _compile(value_annotation)
    if key_m is None and val_m is None:
        return _class_matcher(container)

    key_plain = _plain_classes(key_annotation) if key_m is not None else (object,)
    val_plain = _plain_classes(value_annotation) if val_m is not None else (object,)
    if key_plain is not None and val_plain is not None:
        def match_plain(value: Any, ctx: Any) -> str | None:
            if not isinstance(value, container):
                return _got(value)
            for k, v in value.items():
                if not isinstance(k, key_plain) or not isinstance(v, val_plain):
                    return match(value, ctx)
            return None
    else:
        match_plain = None  # type: ignore[assignment]

    def match(value: Any, ctx: Any) -> str | None:
        if not isinstance(value, container):
            return _got(value)
        for k, v in value.items():
            if key_m is not None:
                problem = key_m(k, ctx)
                if problem is not None:
                    return f"{type(value).__name__} with key of type {problem}"
            if val_m is not None:
                problem = val_m(v, ctx)
                if problem is not None:
                    return (f"{type(value).__name__} with value at key {_short_repr(k)} "
                            f"of type {problem}")
        return None

    return match_plain or match


def _make_checker(annotation: Any, matcher: _Matcher) -> TypeChecker:
    if isinstance(annotation, DagsterType):
        dagster_type = annotation

        def check_dagster_type(value: Any, context: Any = None) -> TypeCheck:
            return dagster_type.type_check(context, value)

        return check_dagster_type

    expected = type_name(annotation)

    def check(value: Any, context: Any = None) -> TypeCheck:
        problem = matcher(value, context)
        if problem is None:
            return _SUCCESS
        return TypeCheck(False, description=f"expected {expected}, got {problem}")

    check.__qualname__ = f"type_checker_for({expected})"
    return check


def type_checker_for(annotation: Any) -> TypeChecker | None:
    """Return a checker ``check(value, context=None) -> TypeCheck`` for ``annotation``.

    Returns ``None`` when nothing needs checking (no annotation, ``Any``, ``object``, a type
    variable, or an annotation the checker cannot interpret). Checkers are compiled once per
    annotation and cached, so calling this on every step is cheap::

        check = type_checker_for(dict[str, int])
        check({"a": 1}).success          # True
        check({"a": "1"}).description    # "expected dict[str, int], got dict with value at ..."
    """
    try:
        cached = _CACHE.get(annotation)
    except TypeError:  # unhashable annotation (e.g. Annotated with a dict): compile each time
        matcher = _compile(annotation)
        return None if matcher is None else _make_checker(annotation, matcher)
    if cached is not None:
        return None if cached is _UNCHECKED else cached
    matcher = _compile(annotation)
    checker = None if matcher is None else _make_checker(annotation, matcher)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[annotation] = _UNCHECKED if checker is None else checker
    return checker


def check_type(annotation: Any, value: Any, context: Any = None) -> TypeCheck:
    """Check ``value`` against ``annotation`` once: ``check_type(list[int], [1, 2]).success``."""
    checker = type_checker_for(annotation)
    return _SUCCESS if checker is None else checker(value, context)


def enforce_type(annotation: Any, value: Any, where: str, context: Any = None) -> TypeCheck:
    """Check ``value`` and raise :class:`TypeCheckError` naming ``where`` when it fails.

    ``where`` names the place, e.g. ``"input 'rows' of asset 'clean'"``. The failed
    :class:`TypeCheck` is attached to the error as ``.type_check``::

        enforce_type(int, "ten", "output of asset 'count'")
        # TypeCheckError: output of asset 'count': expected int, got str ('ten'). ...
    """
    result = check_type(annotation, value, context)
    if result.success:
        return result
    error = TypeCheckError(
        f"{where}: {result.description or 'type check failed'}. "
        f"Return a value of the declared type or change the annotation."
    )
    error.type_check = result  # type: ignore[attr-defined]
    raise error
