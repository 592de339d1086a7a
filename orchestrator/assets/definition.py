"""AssetsDefinition: one or more assets computed by one function (compiled into an op)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..asset_key import AssetKey
from ..errors import DefinitionError
from ..ops import OpDefinition
from .spec import AssetCheckKey, AssetCheckSpec, AssetSpec

__all__ = ["AssetChecksDefinition", "AssetsDefinition"]

_NO_CHECKS: frozenset[AssetCheckKey] = frozenset()


class AssetsDefinition:
    """Assets and the op that computes them.

    ``@asset`` and ``@multi_asset`` make these; ``Definitions(assets=[...])`` takes them.
    An external asset (an ``AssetSpec`` with no compute) is an AssetsDefinition whose
    ``node_def`` is None.
    """

    def __init__(
        self,
        *,
        specs: Sequence[AssetSpec],
        node_def: OpDefinition | None,
        keys_by_output_name: Mapping[str, AssetKey] | None = None,
        keys_by_input_name: Mapping[str, AssetKey] | None = None,
        can_subset: bool = False,
        selected_keys: Iterable[AssetKey] | None = None,
        check_specs: Sequence[AssetCheckSpec] = (),
        selected_check_keys: Iterable[AssetCheckKey] | None = None,
        backfill_policy: Any = None,
    ) -> None:
        self.specs_by_key: dict[AssetKey, AssetSpec] = {}
        specs_by_key = self.specs_by_key
        for spec in specs:
            if spec.key in specs_by_key:
                raise DefinitionError(
                    f"asset key '{spec.key.to_user_string()}' appears twice in one definition"
                )
            specs_by_key[spec.key] = spec
        self.node_def = node_def
        self.keys_by_output_name = dict(keys_by_output_name) if keys_by_output_name else {}
        self.output_names_by_key = {k: n for n, k in self.keys_by_output_name.items()}
        self.keys_by_input_name = dict(keys_by_input_name) if keys_by_input_name else {}
        self.can_subset = can_subset
        self._selected = frozenset(selected_keys) if selected_keys is not None else frozenset(
            specs_by_key)
        self.check_specs_by_key: dict[AssetCheckKey, AssetCheckSpec] = {}
        dep_keys: set[AssetKey] = {d for spec in specs_by_key.values()
                                   for d in spec._dep_key_list()} if check_specs else set()
        for cs in check_specs:
            # a check may target an asset this definition produces, or one it depends on
            # (e.g. dbt's source tests, which run in the same dbt invocation)
            if cs.asset_key not in specs_by_key and cs.asset_key not in dep_keys:
                raise DefinitionError(
                    f"check '{cs.name}' is declared on asset '{cs.asset_key.to_user_string()}', "
                    f"which '{self.name}' neither produces nor depends on; it produces "
                    f"{[k.to_user_string() for k in self.specs_by_key]}"
                )
            self.check_specs_by_key[cs.key] = cs
        self._selected_checks = frozenset(selected_check_keys) if selected_check_keys is not None \
            else frozenset(self.check_specs_by_key) if self.check_specs_by_key else _NO_CHECKS
        self.backfill_policy = backfill_policy

    # identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        if self.node_def is not None:
            return self.node_def.name
        return next(iter(self.specs_by_key)).to_python_identifier()

    @property
    def is_external(self) -> bool:
        return self.node_def is None

    @property
    def is_executable(self) -> bool:
        return self.node_def is not None

    @property
    def keys(self) -> frozenset[AssetKey]:
        """The selected keys (all keys unless this is a subset)."""
        return self._selected

    @property
    def all_keys(self) -> list[AssetKey]:
        return list(self.specs_by_key)

    @property
    def key(self) -> AssetKey:
        if len(self.specs_by_key) != 1:
            raise DefinitionError(
                f"'{self.name}' defines {len(self.specs_by_key)} assets, so it has no single "
                f".key; use .keys"
            )
        return next(iter(self.specs_by_key))

    @property
    def check_keys(self) -> frozenset[AssetCheckKey]:
        return self._selected_checks

    @property
    def is_subset(self) -> bool:
        return self._selected != frozenset(self.specs_by_key)

    def to_source_keys(self) -> list[AssetKey]:  # marker used by spec._key_of
        return list(self.specs_by_key)

    # per-key attributes ------------------------------------------------------------------
    def spec(self, key: AssetKey) -> AssetSpec:
        return self.specs_by_key[key]

    @property
    def specs(self) -> list[AssetSpec]:
        return list(self.specs_by_key.values())

    def deps_of(self, key: AssetKey) -> list[AssetKey]:
        return self.specs_by_key[key].dep_keys

    @property
    def group_names_by_key(self) -> dict[AssetKey, str]:
        return {k: s.group_name or "default" for k, s in self.specs_by_key.items()}

    @property
    def group_name(self) -> str:
        return self.group_names_by_key[self.key]

    @property
    def metadata_by_key(self) -> dict[AssetKey, Mapping[str, Any]]:
        return {k: s.metadata for k, s in self.specs_by_key.items()}

    @property
    def descriptions_by_key(self) -> dict[AssetKey, str | None]:
        return {k: s.description for k, s in self.specs_by_key.items()}

    @property
    def code_versions_by_key(self) -> dict[AssetKey, str | None]:
        return {k: s.code_version for k, s in self.specs_by_key.items()}

    def io_manager_key_for(self, key: AssetKey) -> str:
        spec = self.specs_by_key[key]
        if spec.io_manager_key:
            return spec.io_manager_key
        if self.node_def is not None:
            out = self.node_def.outs.get(self.output_names_by_key.get(key, ""))
            if out is not None and out.io_manager_key:
                return out.io_manager_key
        return "io_manager"

    @property
    def required_resource_keys(self) -> frozenset[str]:
        if self.node_def is None:
            return frozenset(s.io_manager_key for s in self.specs if s.io_manager_key)
        io_manager_key_for = self.io_manager_key_for
        if len(self._selected) == 1 and not self.node_def.required_resource_keys:
            for k in self._selected:  # (the common case: one asset, its IO manager only)
                return frozenset((io_manager_key_for(k),))
        keys = set(self.node_def.required_resource_keys)
        for k in self._selected:
            keys.add(io_manager_key_for(k))
        return frozenset(keys)

    @property
    def partitions_def(self) -> Any:
        for s in self.specs_by_key.values():
            if s.partitions_def is not None:
                return s.partitions_def
        return None

    # subsetting -------------------------------------------------------------------------
    def check_keys_for(self, keys: Iterable[AssetKey]) -> list[AssetCheckKey]:
        """Checks that go with selected *keys*: those on the keys, and those on assets the keys
        depend on (e.g. dbt's source tests run with the models that read the source)."""
        keys = frozenset(keys)
        deps: set[AssetKey] | None = None
        out = []
        for ck in self.check_specs_by_key:
            if ck.asset_key in keys:
                out.append(ck)
            elif ck.asset_key not in self.specs_by_key:
                if deps is None:
                    deps = {d for k in keys if k in self.specs_by_key
                            for d in self.specs_by_key[k].dep_keys}
                if ck.asset_key in deps:
                    out.append(ck)
        return out

    def subset_for(self, keys: Iterable[AssetKey],
                   check_keys: Iterable[AssetCheckKey] | None = None) -> AssetsDefinition:
        keys = frozenset(keys) & frozenset(self.specs_by_key)
        if keys == self._selected and check_keys is None:
            return self
        if not self.can_subset and keys != frozenset(self.specs_by_key):
            missing = sorted(k.to_user_string() for k in set(self.specs_by_key) - keys)
            raise DefinitionError(
                f"multi-asset '{self.name}' cannot be subset (can_subset=False) but the "
                f"selection leaves out {missing}; select all of its assets or declare it with "
                f"can_subset=True"
            )
        if check_keys is None:
            check_keys = self.check_keys_for(keys)
        return AssetsDefinition(
            specs=self.specs, node_def=self.node_def,
            keys_by_output_name=self.keys_by_output_name,
            keys_by_input_name=self.keys_by_input_name, can_subset=self.can_subset,
            selected_keys=keys, check_specs=list(self.check_specs_by_key.values()),
            selected_check_keys=check_keys, backfill_policy=self.backfill_policy,
        )

    # direct invocation -------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.node_def is None:
            raise DefinitionError(
                f"external asset '{self.name}' has no compute function to call"
            )
        from ..execution.direct import invoke_directly

        return invoke_directly(self.node_def, args, kwargs, assets_def=self)

    @property
    def op(self) -> OpDefinition:
        if self.node_def is None:
            raise DefinitionError(f"external asset '{self.name}' has no op")
        return self.node_def

    def __repr__(self) -> str:
        keys = ", ".join(k.to_user_string() for k in self.specs_by_key)
        return f"<AssetsDefinition {self.name!r} keys=[{keys}]>"


class AssetChecksDefinition:
    """One or more asset checks computed by a function that runs as its own step
    (``@asset_check``)."""

    def __init__(self, *, specs: Sequence[AssetCheckSpec], node_def: OpDefinition,
                 keys_by_input_name: Mapping[str, AssetKey]) -> None:
        self.specs = list(specs)
        self.node_def = node_def
        self.keys_by_input_name = dict(keys_by_input_name)

    @property
    def name(self) -> str:
        return self.node_def.name

    @property
    def check_keys(self) -> list[AssetCheckKey]:
        return [s.key for s in self.specs]

    @property
    def asset_keys(self) -> list[AssetKey]:
        return [s.asset_key for s in self.specs]

    @property
    def blocking(self) -> bool:
        return any(s.blocking for s in self.specs)

    @property
    def required_resource_keys(self) -> frozenset[str]:
        return frozenset(self.node_def.required_resource_keys)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ..execution.direct import invoke_directly

        return invoke_directly(self.node_def, args, kwargs)

    def __repr__(self) -> str:
        return f"<AssetChecksDefinition {self.name!r}>"
