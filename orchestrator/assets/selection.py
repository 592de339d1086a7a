"""AssetSelection: pick assets by key, group, prefix, tag, and their up/downstream.

::

    AssetSelection.groups("finance") - AssetSelection.assets(raw)
    AssetSelection.assets(continent_stats).upstream()
    AssetSelection.from_string("+continent_stats, group:finance, country_stats*")

String syntax (comma-separated terms, united): a key (``a/b`` for multi-part keys),
``group:NAME``, ``tag:KEY`` or ``tag:KEY=VALUE``, ``key_prefix:a/b``, ``kind:NAME``,
``owner:NAME``, ``*`` for everything. Before a term, ``*`` adds all upstream assets and
each ``+`` one level of them; after it, the same for downstream.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..asset_key import AssetKey
from ..errors import DefinitionError
from .graph import AssetGraph, _did_you_mean

__all__ = ["AssetSelection"]


class AssetSelection:
    """A lazy description of a set of assets, resolved against an asset graph."""

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        raise NotImplementedError

    # constructors ----------------------------------------------------------------------
    @staticmethod
    def all() -> AssetSelection:  # noqa: A003
        return _All()

    @staticmethod
    def assets(*defs_or_keys: Any) -> AssetSelection:
        keys: list[AssetKey] = []
        for d in defs_or_keys:
            if hasattr(d, "specs_by_key"):
                keys.extend(d.keys)
            elif hasattr(d, "key") and isinstance(d.key, AssetKey):
                keys.append(d.key)
            else:
                from .spec import coerce_key

                keys.append(coerce_key(d, "AssetSelection.assets()"))
        return _Keys(tuple(keys))

    keys = assets

    @staticmethod
    def groups(*names: str) -> AssetSelection:
        return _Groups(tuple(names))

    @staticmethod
    def key_prefixes(*prefixes: str | list[str]) -> AssetSelection:
        return _Prefixes(tuple(tuple(p.split("/")) if isinstance(p, str) else tuple(p)
                               for p in prefixes))

    @staticmethod
    def tag(key: str, value: str | None = None) -> AssetSelection:
        return _Tag(key, value)

    @staticmethod
    def kind(name: str) -> AssetSelection:
        return _Attr("kinds", name)

    @staticmethod
    def owner(name: str) -> AssetSelection:
        return _Attr("owners", name)

    @staticmethod
    def from_string(text: str) -> AssetSelection:
        return _parse(text)

    @staticmethod
    def from_coercible(value: Any) -> AssetSelection:
        """A selection from a selection, a string, or a list of assets/keys/strings."""
        if isinstance(value, AssetSelection):
            return value
        if isinstance(value, str):
            return _parse(value)
        if isinstance(value, Iterable):
            parts: list[AssetSelection] = []
            for v in value:
                parts.append(_parse(v) if isinstance(v, str) else AssetSelection.assets(v))
            if not parts:
                return _Keys(())
            sel = parts[0]
            for p in parts[1:]:
                sel = sel | p
            return sel
        return AssetSelection.assets(value)

    # combinators ----------------------------------------------------------------------
    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return _Up(self, depth, include_self)

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return _Down(self, depth, include_self)

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return _Op("|", self, other)

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return _Op("&", self, other)

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return _Op("-", self, other)


class _All(AssetSelection):
    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return set(graph.executable_keys)

    def __repr__(self) -> str:
        return "AssetSelection.all()"


class _Keys(AssetSelection):
    def __init__(self, keys: tuple[AssetKey, ...]) -> None:
        self.keys_ = keys

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        problems = [
            f"selection names asset '{k.to_user_string()}', which is not defined"
            + _did_you_mean(k.to_user_string(), (x.to_user_string() for x in graph.all_keys))
            for k in self.keys_ if not graph.has(k)
        ]
        if problems:
            raise DefinitionError("; ".join(problems), problems)
        return set(self.keys_)

    def __repr__(self) -> str:
        return f"AssetSelection.assets({', '.join(repr(k.to_user_string()) for k in self.keys_)})"


class _Groups(AssetSelection):
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        found = {k for k in graph.all_keys if graph.group_of(k) in self.names}
        groups = {graph.group_of(k) for k in graph.all_keys}
        unknown = [n for n in self.names if n not in groups]
        if unknown:
            msg = (f"selection names group(s) {unknown}, which no asset belongs to; groups are "
                   f"{sorted(groups)}")
            raise DefinitionError(msg, [msg])
        return found


class _Prefixes(AssetSelection):
    def __init__(self, prefixes: tuple[tuple[str, ...], ...]) -> None:
        self.prefixes = prefixes

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return {k for k in graph.all_keys if any(k.has_prefix(p) for p in self.prefixes)}


class _Tag(AssetSelection):
    def __init__(self, key: str, value: str | None) -> None:
        self.key, self.value = key, value

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        out = set()
        for k, spec in graph.spec_by_key.items():
            if self.key in spec.tags and (self.value is None or spec.tags[self.key] == self.value):
                out.add(k)
        return out


class _Attr(AssetSelection):
    def __init__(self, attr: str, value: str) -> None:
        self.attr, self.value = attr, value

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return {k for k, s in graph.spec_by_key.items() if self.value in getattr(s, self.attr)}


class _Up(AssetSelection):
    def __init__(self, child: AssetSelection, depth: int | None, include_self: bool) -> None:
        self.child, self.depth, self.include_self = child, depth, include_self

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return graph.upstream(self.child.resolve(graph), self.depth, self.include_self)


class _Down(AssetSelection):
    def __init__(self, child: AssetSelection, depth: int | None, include_self: bool) -> None:
        self.child, self.depth, self.include_self = child, depth, include_self

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return graph.downstream(self.child.resolve(graph), self.depth, self.include_self)


class _Op(AssetSelection):
    def __init__(self, op: str, left: AssetSelection, right: AssetSelection) -> None:
        self.op, self.left, self.right = op, left, right

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        a, b = self.left.resolve(graph), self.right.resolve(graph)
        if self.op == "|":
            return a | b
        if self.op == "&":
            return a & b
        return a - b


def _parse_term(term: str) -> AssetSelection:
    raw = term
    term = term.strip()
    if not term:
        raise DefinitionError(f"empty term in asset selection {raw!r}")
    if term == "*":
        return _All()
    up: int | None = 0
    while term.startswith(("+", "*")):
        if term[0] == "*":
            up = None
        elif up is not None:
            up += 1
        term = term[1:]
    down: int | None = 0
    while term.endswith(("+", "*")) and not term.endswith(":*"):
        if term[-1] == "*":
            down = None
        elif down is not None:
            down += 1
        term = term[:-1]
    if not term:
        raise DefinitionError(f"asset selection term {raw!r} names no asset")
    base: AssetSelection
    if ":" in term:
        kind, _, value = term.partition(":")
        kind = kind.strip()
        value = value.strip()
        if kind == "group":
            base = _Groups((value,))
        elif kind == "tag":
            k, _, v = value.partition("=")
            base = _Tag(k, v if _ else None)
        elif kind == "key_prefix":
            base = _Prefixes((tuple(value.split("/")),))
        elif kind == "key":
            base = _Keys((AssetKey.from_user_string(value),))
        elif kind == "kind":
            base = _Attr("kinds", value)
        elif kind == "owner":
            base = _Attr("owners", value)
        else:
            raise DefinitionError(
                f"unknown selection attribute '{kind}:' in {raw!r}; use group:, tag:, "
                f"key_prefix:, key:, kind: or owner:"
            )
    else:
        base = _Keys((AssetKey.from_user_string(term),))
    if up != 0:
        base = _Up(base, up, True)
    if down != 0:
        base = _Down(base, down, True) if up == 0 else _Op("|", base, _Down(
            _Keys(()) if False else _strip(base), down, True))
    return base


def _strip(sel: AssetSelection) -> AssetSelection:
    return sel.child if isinstance(sel, _Up) else sel


def _parse(text: str) -> AssetSelection:
    if not isinstance(text, str):
        raise DefinitionError(f"asset selection must be a string, got {text!r}")
    terms = [t for t in text.replace(" or ", ",").split(",")]
    sels = [_parse_term(t) for t in terms]
    sel = sels[0]
    for s in sels[1:]:
        sel = sel | s
    return sel
