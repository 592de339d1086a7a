"""Declarative pieces of asset definitions: AssetSpec, AssetIn, AssetOut, AssetDep,
AssetCheckSpec."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..asset_key import AssetKey, CoercibleToAssetKey
from ..errors import DefinitionError

__all__ = ["AssetCheckKey", "AssetCheckSpec", "AssetDep", "AssetIn", "AssetOut", "AssetSpec",
           "coerce_dep", "coerce_key"]


def coerce_key(value: Any, where: str) -> AssetKey:
    """``AssetKey.from_coercible`` with a DefinitionError that says where the bad key was."""
    try:
        return AssetKey.from_coercible(value)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(f"{where}: {exc}") from None


def _prefixed(key: CoercibleToAssetKey | None, name: str | None,
              key_prefix: str | Sequence[str] | None) -> AssetKey | None:
    if type(key) is str and key:
        k = AssetKey.from_user_string(key)  # (the common case, without the checks' detour)
    elif key is not None:
        k = coerce_key(key, "AssetIn/AssetOut(key=...)")
    elif name is not None:
        k = AssetKey([name])
    else:
        return None
    if key_prefix:
        k = k.with_prefix(key_prefix)
    return k


@dataclass(frozen=True)
class AssetDep:
    """A dependency on an upstream asset that is not loaded as an input (ordering and
    lineage only): ``@asset(deps=[AssetDep("raw_orders")])`` or simply ``deps=["raw_orders"]``."""

    asset: Any
    partition_mapping: Any = None

    @property
    def asset_key(self) -> AssetKey:
        a = self.asset
        return a if type(a) is AssetKey else _key_of(a)


def _key_of(value: Any) -> AssetKey:
    if isinstance(value, AssetDep):
        return value.asset_key
    if isinstance(value, AssetSpec):
        return value.key
    keys = getattr(value, "keys", None)
    if keys is not None and not isinstance(value, (Mapping, str)) and callable(
            getattr(value, "to_source_keys", None)):
        ks = list(value.keys)
        if len(ks) != 1:
            raise DefinitionError(
                f"cannot depend on multi-asset '{value.node_def.name}' as a whole; name one of "
                f"its keys: {sorted(k.to_user_string() for k in ks)}"
            )
        return ks[0]
    try:
        return AssetKey.from_coercible(value)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(
            f"a dependency must be an asset, an AssetSpec, an AssetKey or a 'a/b' string, "
            f"got {value!r}"
        ) from exc


_PLAIN_DEPS: dict[AssetKey, AssetDep] = {}


def plain_dep(key: AssetKey) -> AssetDep:
    """``AssetDep(key)``, shared by every asset that depends on ``key`` without a partition
    mapping (AssetDep is immutable, so sharing is invisible; the table is bounded)."""
    dep = _PLAIN_DEPS.get(key)
    if dep is None:
        if len(_PLAIN_DEPS) >= 200_000:
            _PLAIN_DEPS.clear()
        dep = _PLAIN_DEPS[key] = AssetDep(key)
    return dep


def coerce_dep(value: Any) -> AssetDep:
    if isinstance(value, AssetDep):
        return value
    return AssetDep(value if type(value) is AssetKey else _key_of(value))


_NO_KINDS: frozenset[str] = frozenset()


@dataclass(frozen=True, init=False, eq=False)
class AssetSpec:
    """Everything about an asset except how it is computed.

    Used in ``@multi_asset(specs=[...])``, and on its own in ``Definitions(assets=[...])`` to
    declare an external (source) asset that something outside the orchestrator produces::

        raw_events = AssetSpec("raw_events", description="Written by the collector",
                               group_name="ingest")
    """

    key: AssetKey
    deps: tuple[AssetDep, ...] = ()
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    group_name: str | None = None
    code_version: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()
    skippable: bool = False
    partitions_def: Any = None
    io_manager_key: str | None = None

    def __init__(self, key: CoercibleToAssetKey, *, deps: Iterable[Any] | None = None,
                 description: str | None = None, metadata: Mapping[str, Any] | None = None,
                 group_name: str | None = None, code_version: str | None = None,
                 tags: Mapping[str, str] | None = None, owners: Sequence[str] | None = None,
                 kinds: Iterable[str] | None = None, skippable: bool = False,
                 partitions_def: Any = None, io_manager_key: str | None = None) -> None:
        # (hot: dbt builds thousands of specs; already-built keys and deps are kept as they are)
        set_ = object.__setattr__
        if type(key) is not AssetKey:
            key = coerce_key(key, "AssetSpec(key)")
        set_(self, "key", key)
        set_(self, "deps", tuple([d if type(d) is AssetDep else coerce_dep(d) for d in deps])
             if deps else ())
        set_(self, "description", description)
        set_(self, "metadata", dict(metadata) if metadata else {})
        if group_name is not None and not group_name.replace("_", "").replace("-", "").isalnum():
            raise DefinitionError(
                f"asset '{key.to_user_string()}': group_name {group_name!r} must use "
                f"letters, digits, '_' and '-' only"
            )
        set_(self, "group_name", group_name)
        set_(self, "code_version", code_version)
        set_(self, "tags", dict(tags) if tags else {})
        set_(self, "owners", tuple(owners) if owners else ())
        set_(self, "kinds", frozenset(kinds) if kinds else _NO_KINDS)
        set_(self, "skippable", skippable)
        set_(self, "partitions_def", partitions_def)
        set_(self, "io_manager_key", io_manager_key)
        set_(self, "_dep_keys", None)  # computed on first use (see dep_keys)

    def replace_attributes(self, **kwargs: Any) -> AssetSpec:
        """A copy with some attributes changed (``spec.replace_attributes(group_name="x")``)."""
        base = {
            "deps": self.deps, "description": self.description, "metadata": self.metadata,
            "group_name": self.group_name, "code_version": self.code_version,
            "tags": self.tags, "owners": self.owners, "kinds": self.kinds,
            "skippable": self.skippable, "partitions_def": self.partitions_def,
            "io_manager_key": self.io_manager_key,
        }
        base.update(kwargs)
        return AssetSpec(kwargs.get("key", self.key), **{k: v for k, v in base.items()
                                                         if k != "key"})

    def with_io_manager_key(self, io_manager_key: str) -> AssetSpec:
        return self.replace_attributes(io_manager_key=io_manager_key)

    @property
    def dep_keys(self) -> list[AssetKey]:
        return list(self._dep_key_list())

    def _dep_key_list(self) -> list[AssetKey]:
        """``dep_keys`` without the copy (internal: callers must not change the list)."""
        keys = self._dep_keys  # type: ignore[has-type]
        if keys is None:
            keys = [d.asset_key for d in self.deps]
            object.__setattr__(self, "_dep_keys", keys)
        return keys


@dataclass
class AssetIn:
    """How an asset input maps to an upstream asset: ``ins={"orders": AssetIn("raw/orders")}``."""

    key: CoercibleToAssetKey | None = None
    metadata: Mapping[str, Any] | None = None
    key_prefix: str | Sequence[str] | None = None
    dagster_type: Any = None
    partition_mapping: Any = None

    def resolve_key(self, param_name: str) -> AssetKey:
        k = _prefixed(self.key, None if self.key is not None else param_name, self.key_prefix)
        assert k is not None
        return k


@dataclass
class AssetOut:
    """One output of a ``@multi_asset(outs={...})``."""

    key: CoercibleToAssetKey | None = None
    key_prefix: str | Sequence[str] | None = None
    dagster_type: Any = None
    description: str | None = None
    is_required: bool = True
    io_manager_key: str | None = None
    metadata: Mapping[str, Any] | None = None
    group_name: str | None = None
    code_version: str | None = None
    tags: Mapping[str, str] | None = None
    owners: Sequence[str] | None = None
    kinds: Iterable[str] | None = None

    def to_spec(self, output_name: str, deps: Iterable[Any]) -> AssetSpec:
        key = _prefixed(self.key, output_name, self.key_prefix)
        assert key is not None
        return AssetSpec(key, deps=deps, description=self.description, metadata=self.metadata,
                         group_name=self.group_name, code_version=self.code_version,
                         tags=self.tags, owners=self.owners, kinds=self.kinds,
                         skippable=not self.is_required, io_manager_key=self.io_manager_key)


@dataclass(frozen=True)
class AssetCheckKey:
    asset_key: AssetKey
    name: str

    def to_user_string(self) -> str:
        return f"{self.asset_key.to_user_string()}:{self.name}"


@dataclass(frozen=True)
class AssetCheckSpec:
    """A check declared on an asset: ``@asset(check_specs=[AssetCheckSpec("positive",
    asset="orders", blocking=True)])`` — the asset's function reports its result."""

    name: str
    asset: Any
    description: str | None = None
    blocking: bool = False
    metadata: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # resolve the target once (it is read on every plan and result)
        a = self.asset
        key = None if a is None else a if type(a) is AssetKey else _key_of(a)
        object.__setattr__(self, "_asset_key", key)
        object.__setattr__(self, "_key", AssetCheckKey(key, self.name) if key else None)

    @property
    def asset_key(self) -> AssetKey:
        key = self._asset_key  # type: ignore[attr-defined]
        return key if key is not None else _key_of(self.asset)

    @property
    def key(self) -> AssetCheckKey:
        return self._key or AssetCheckKey(self.asset_key, self.name)  # type: ignore[attr-defined]

    def with_asset(self, asset_key: AssetKey) -> AssetCheckSpec:
        return replace(self, asset=asset_key)
