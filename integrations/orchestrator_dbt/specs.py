"""From a manifest index to the core's asset and check specs.

::

    from orchestrator_dbt import DbtProject, build_dbt_specs

    specs = build_dbt_specs(DbtProject("analytics").load_manifest())
    specs.assets        # AssetSpec per model, seed and snapshot, with deps from the manifest
    specs.checks        # AssetCheckSpec per dbt test attached to one asset (blocking on error)
    specs.sources       # AssetSpec per dbt source: external assets produced outside dbt
    specs.key_for("model.analytics.orders")   # AssetKey(['orders'])

Keys, groups, descriptions, metadata, code versions, owners and tags come from the translator
(:class:`~orchestrator_dbt.DbtTranslator` by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestrator.asset_key import AssetKey
from orchestrator.errors import DefinitionError

from .manifest import DbtManifest, DbtNode, DbtTest
from .translator import DbtTranslator

if TYPE_CHECKING:  # the core's spec classes are imported when specs are built
    from orchestrator.assets.spec import AssetCheckSpec, AssetSpec

__all__ = ["DbtSpecs", "build_dbt_specs"]


@dataclass
class DbtSpecs:
    """The specs of a dbt project, and the maps between dbt unique ids and asset keys.

    ``unattached_tests`` are tests that check no single asset (a singular test reading two
    models): they run with the project but are not asset checks.
    """

    assets: list[AssetSpec]
    checks: list[AssetCheckSpec]
    sources: list[AssetSpec]
    keys_by_unique_id: dict[str, AssetKey]
    unique_ids_by_key: dict[AssetKey, str]
    check_unique_ids: dict[tuple[AssetKey, str], str] = field(default_factory=dict)
    """(asset key, check name) → unique id of the dbt test, in the order of ``checks``."""
    unattached_tests: list[DbtTest] = field(default_factory=list)

    def key_for(self, unique_id: str) -> AssetKey:
        """The asset key of a dbt node or source, by unique id."""
        try:
            return self.keys_by_unique_id[unique_id]
        except KeyError:
            raise KeyError(f"no asset for dbt unique id {unique_id!r}") from None


def build_dbt_specs(
    manifest: DbtManifest,
    translator: DbtTranslator | None = None,
    *,
    unique_ids: Iterable[str] | None = None,
    include_sources: bool = True,
) -> DbtSpecs:
    """Build asset specs (models, seeds, snapshots), check specs (tests) and source specs.

    Ephemeral models are not assets (dbt inlines them into the models that use them): a model
    reading one depends on the ephemeral model's own upstream assets, as in dagster-dbt.
    ``unique_ids`` limits the assets to those nodes (their upstream nodes stay as deps).
    ``include_sources=False`` leaves out the external source specs, for when the translator maps
    sources onto assets defined elsewhere (Python assets upstream of dbt).

    Raises :class:`~orchestrator.errors.DefinitionError` when the translator gives two nodes the
    same asset key, naming both unique ids.
    """
    from .manifest import _gc_paused

    with _gc_paused():  # tens of thousands of small acyclic objects: see _gc_paused
        return _build(manifest, translator, unique_ids, include_sources)


def _build(
    manifest: DbtManifest,
    translator: DbtTranslator | None,
    unique_ids: Iterable[str] | None,
    include_sources: bool,
) -> DbtSpecs:
    from orchestrator.assets.spec import AssetCheckSpec, AssetDep

    t = translator if translator is not None else DbtTranslator()
    keys: dict[str, AssetKey] = {}
    by_key: dict[AssetKey, str] = {}
    ephemeral: dict[str, DbtNode] = {}
    for uid, node in _iter_all(manifest):
        if node.materialized == "ephemeral":
            ephemeral[uid] = node
            continue
        key = t.get_asset_key(node)
        if not isinstance(key, AssetKey):
            key = AssetKey.from_coercible(key)
        other = by_key.get(key)
        if other is not None:
            raise DefinitionError(
                f"dbt nodes {other!r} and {uid!r} both map to asset key "
                f"{key.to_user_string()!r}. Give one of them another key: override "
                "DbtTranslator.get_asset_key, or set meta.orchestrator.asset_key on the node."
            )
        keys[uid] = key
        by_key[key] = uid

    through: dict[str, list[str]] = {}  # ephemeral id -> the asset ids it reads, transitively

    def upstream(dep_ids: Iterable[str]) -> list[str]:
        out: list[str] = []
        for d in dep_ids:
            if d in keys:
                out.append(d)
            elif d in ephemeral:
                if d not in through:
                    through[d] = []  # guards against a cycle; dbt forbids them anyway
                    through[d] = upstream(ephemeral[d].depends_on)
                out.extend(through[d])
        return out

    if unique_ids is None:
        wanted = {uid: n for uid, n in manifest.nodes.items() if uid in keys}
    else:
        wanted = _wanted(manifest, unique_ids, keys)
    kinds = frozenset(k for k in ("dbt", manifest.adapter_type) if k)
    assets: list[AssetSpec] = []
    for uid, node in wanted.items():
        dep_ids = upstream(node.depends_on)
        if len(dep_ids) > 1:
            dep_ids = list(dict.fromkeys(dep_ids))
        deps = [AssetDep(keys[d]) for d in dep_ids]
        assets.append(t.get_asset_spec(node, keys[uid], deps, kinds))

    sources: list[AssetSpec] = []
    if include_sources:
        for uid, src in manifest.sources.items():
            sources.append(t.get_asset_spec(src, keys[uid], [], kinds))

    checks: list[AssetCheckSpec] = []
    check_ids: dict[tuple[AssetKey, str], str] = {}
    unattached: list[DbtTest] = []
    source_ids = manifest.sources if include_sources else {}
    for test in manifest.tests.values():
        target = test.attached_node
        if target is None or target not in keys:
            unattached.append(test)
            continue
        if target not in wanted and target not in source_ids:
            continue
        spec = t.get_check_spec(test, keys[target])
        if not isinstance(spec, AssetCheckSpec):
            raise DefinitionError(
                f"DbtTranslator.get_check_spec returned {spec!r} for dbt test "
                f"{test.unique_id!r}: expected an AssetCheckSpec"
            )
        # keyed by the key we know: AssetCheckSpec.asset_key recomputes it on every access
        ident = (keys[target], spec.name)
        if ident in check_ids:
            raise DefinitionError(
                f"dbt tests {check_ids[ident]!r} and {test.unique_id!r} both become check "
                f"{spec.name!r} on asset {ident[0].to_user_string()!r}. Give one of them "
                "another name (override DbtTranslator.get_check_spec)."
            )
        checks.append(spec)
        check_ids[ident] = test.unique_id
    return DbtSpecs(assets, checks, sources, keys, by_key, check_ids, unattached)


def _iter_all(manifest: DbtManifest) -> Iterable[tuple[str, DbtNode]]:
    yield from manifest.nodes.items()
    yield from manifest.sources.items()


def _wanted(
    manifest: DbtManifest, unique_ids: Iterable[str], keys: Mapping[str, AssetKey]
) -> Mapping[str, DbtNode]:
    out: dict[str, DbtNode] = {}
    for uid in unique_ids:
        node = manifest.nodes.get(uid)
        if node is None:
            raise DefinitionError(
                f"dbt unique id {uid!r} is not a model, seed or snapshot of manifest "
                f"{manifest.path}. Use ids like 'model.<project>.<name>' "
                "(see DbtManifest.nodes)."
            )
        if uid not in keys:
            raise DefinitionError(
                f"dbt model {uid!r} is ephemeral (a CTE inlined into the models that use it), "
                "so it is not an asset: select the models that read it instead."
            )
        out[uid] = node
    return out
