"""``@dbt_assets``: a dbt project (or part of it) as one multi-asset, run by one dbt invocation.

::

    @dbt_assets(manifest=DbtProject("analytics").load_manifest(), select="tag:nightly")
    def nightly(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

The models, seeds and snapshots chosen by ``select``/``exclude`` (a subset of dbt's selection
syntax, evaluated on the manifest without dbt) become the multi-asset's specs; their tests its
checks. The multi-asset can be subset: a run that selects some of the assets runs dbt on exactly
those nodes and their selected tests.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.asset_key import AssetKey
from orchestrator.errors import DefinitionError

from .manifest import DbtManifest, DbtNode, DbtTest, load_manifest
from .project import DbtProject
from .specs import DbtSpecs, build_dbt_specs
from .translator import DbtTranslator

if TYPE_CHECKING:
    from .resource import DbtCliInvocation, DbtNodeResult

__all__ = ["DbtAssetsInfo", "dbt_assets", "dbt_source_specs", "get_dbt_assets_info",
           "select_unique_ids"]

_INFO_ATTR = "_orchestrator_dbt_info"
_SUPPORTED_METHODS = ("fqn", "tag", "path", "resource_type", "package", "group",
                      "config.materialized")


@dataclass
class DbtAssetsInfo:
    """What a ``@dbt_assets`` definition knows about its dbt project."""

    manifest: DbtManifest
    specs: DbtSpecs
    select: str
    exclude: str | None
    unique_ids: list[str]
    checks_by_unique_id: dict[str, tuple[AssetKey, str]] = field(default_factory=dict)
    source_specs: list[Any] = field(default_factory=list)


def dbt_assets(
    *,
    manifest: DbtManifest | DbtProject | str | os.PathLike[str],
    select: str = "fqn:*",
    exclude: str | None = None,
    translator: DbtTranslator | None = None,
    name: str | None = None,
    partitions_def: Any = None,
    backfill_policy: Any = None,
    op_tags: Mapping[str, str] | None = None,
    pool: str | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Define the dbt nodes of a manifest as one multi-asset (Dagster's ``@dbt_assets``).

    ``manifest`` is a loaded :class:`DbtManifest`, a :class:`DbtProject` or a path to
    ``manifest.json``. ``select`` and ``exclude`` use dbt's selection syntax, limited to the
    methods ``fqn:``, ``tag:``, ``path:``, ``resource_type:``, ``package:``, ``group:`` and
    ``config.materialized:``, plain names (``customers``, ``staging.*``), unions (space),
    intersections (comma) and the graph operators ``+name`` / ``name+`` (``2+name``).
    The function receives the asset context and resources; it normally is
    ``yield from dbt.cli(["build"], context=context).stream()``.
    """
    from orchestrator.assets.decorators import multi_asset

    if isinstance(manifest, DbtManifest):
        loaded = manifest
    elif isinstance(manifest, DbtProject):
        loaded = manifest.load_manifest()
    else:
        loaded = load_manifest(manifest)
    uids = select_unique_ids(loaded, select, exclude)
    specs = build_dbt_specs(loaded, translator, unique_ids=uids, include_sources=True)
    asset_keys = {s.key for s in specs.assets}
    # the sources these assets read, as external assets (for Definitions / materialize)
    read = {d for uid in uids for d in _upstream_sources(loaded, uid)}
    sources = [s for s in specs.sources if specs.unique_ids_by_key[s.key] in read]
    # checks on the definition's own assets, and the tests of the sources they read (checks
    # on assets it depends on: they run in the same dbt invocation, before the models)
    # (check_unique_ids follows the order of specs.checks, with the keys already known)
    read_keys = {specs.keys_by_unique_id[uid] for uid in read}
    checks = []
    checks_by_uid: dict[str, tuple[AssetKey, str]] = {}
    for spec, (ck, uid) in zip(specs.checks, specs.check_unique_ids.items()):
        if ck[0] in asset_keys or ck[0] in read_keys:
            checks.append(spec)
            checks_by_uid[uid] = ck
    info = DbtAssetsInfo(loaded, specs, select, exclude, uids, checks_by_uid, sources)

    def deco(fn: Callable[..., Any]) -> Any:
        if not specs.assets:
            raise DefinitionError(
                f"@dbt_assets '{name or fn.__name__}': select={select!r}"
                f"{f' exclude={exclude!r}' if exclude else ''} matches no model, seed or "
                f"snapshot of dbt manifest {loaded.path}. Check the selection (dbt ls "
                f"--select '{select}' shows what dbt selects)."
            )
        kwargs: dict[str, Any] = {
            "specs": specs.assets,
            "check_specs": checks,
            "can_subset": True,
            "name": name or fn.__name__,
        }
        if partitions_def is not None:
            kwargs["partitions_def"] = partitions_def
        if backfill_policy is not None:
            kwargs["backfill_policy"] = backfill_policy
        if op_tags is not None:
            kwargs["op_tags"] = op_tags
        if pool is not None:
            kwargs["pool"] = pool
        from .manifest import _gc_paused

        with _gc_paused():  # thousands of specs, outputs and checks: see _gc_paused
            assets_def = multi_asset(**kwargs)(fn)
        setattr(assets_def, _INFO_ATTR, info)
        node_def = getattr(assets_def, "node_def", None)
        if node_def is not None:
            setattr(node_def, _INFO_ATTR, info)
        return assets_def

    return deco


def dbt_source_specs(assets_def: Any) -> list[Any]:
    """External ``AssetSpec`` objects for the dbt sources a ``@dbt_assets`` definition reads.

    Pass them beside it (``Definitions(assets=[my_dbt, *dbt_source_specs(my_dbt)])``) unless
    the translator maps those sources onto assets defined elsewhere.
    """
    return list(get_dbt_assets_info(assets_def).source_specs)


def _upstream_sources(manifest: DbtManifest, uid: str) -> Iterator[str]:
    """Sources a node reads, looking through ephemeral models."""
    seen: set[str] = set()
    stack = list(manifest.nodes[uid].depends_on)
    while stack:
        d = stack.pop()
        if d in seen:
            continue
        seen.add(d)
        if d in manifest.sources:
            yield d
        elif d in manifest.nodes and manifest.nodes[d].materialized == "ephemeral":
            stack.extend(manifest.nodes[d].depends_on)


def get_dbt_assets_info(obj: Any) -> DbtAssetsInfo:
    """The :class:`DbtAssetsInfo` of a ``@dbt_assets`` definition, its op, or its context."""
    for candidate in (obj, getattr(obj, "node_def", None), getattr(obj, "op_def", None),
                      getattr(obj, "assets_def", None)):
        info = getattr(candidate, _INFO_ATTR, None) if candidate is not None else None
        if info is None and candidate is not None:
            info = getattr(getattr(candidate, "node_def", None), _INFO_ATTR, None)
        if isinstance(info, DbtAssetsInfo):
            return info
    raise DefinitionError(
        "dbt.cli(..., context=context) was called from an asset that is not a @dbt_assets "
        "definition: define the asset with @orchestrator_dbt.dbt_assets(manifest=...)"
    )


# -- selection on the manifest ----------------------------------------------------------------
def select_unique_ids(manifest: DbtManifest, select: str = "fqn:*",
                      exclude: str | None = None) -> list[str]:
    """Unique ids of the models, seeds and snapshots matched by ``select`` minus ``exclude``
    (ephemeral models left out: they are not assets).

    Manifest order is kept. Raises :class:`DefinitionError` for a method this evaluator does
    not support, naming the ones it does.
    """
    chosen = _evaluate(manifest, select)
    if exclude:
        chosen -= _evaluate(manifest, exclude)
    # ephemeral models are not assets (dbt inlines them): never part of a selection
    return [uid for uid, n in manifest.nodes.items()
            if uid in chosen and n.materialized != "ephemeral"]


def _evaluate(manifest: DbtManifest, expression: str) -> set[str]:
    if not isinstance(expression, str) or not expression.strip():
        raise DefinitionError(
            f"dbt selection {expression!r} is empty: use e.g. 'fqn:*', 'tag:nightly', "
            "'staging.*' or 'customers+'"
        )
    out: set[str] = set()
    for term in expression.split():
        parts = [_atom(manifest, a, expression) for a in term.split(",") if a]
        found = set.intersection(*parts) if parts else set()
        out |= found
    return out


def _atom(manifest: DbtManifest, atom: str, expression: str) -> set[str]:
    up = down = 0
    core = atom
    if core.startswith("@"):
        raise DefinitionError(
            f"dbt selection {expression!r}: the '@' operator is not supported here; use "
            "'+name+' (or select in dbt and pass the node names)"
        )
    head = 0
    while head < len(core) and (core[head].isdigit() or core[head] == "+"):
        head += 1
    prefix, core = core[:head], core[head:]
    if prefix:
        up = int(prefix[:-1]) if prefix[:-1].isdigit() else -1
    tail = len(core)
    while tail > 0 and (core[tail - 1].isdigit() or core[tail - 1] == "+"):
        tail -= 1
    suffix, core = core[tail:], core[:tail]
    if suffix:
        down = int(suffix[1:]) if suffix[1:].isdigit() else -1
    if (prefix and not prefix.endswith("+")) or (suffix and not suffix.startswith("+")):
        raise DefinitionError(f"dbt selection {expression!r}: cannot read {atom!r}")
    base = _method(manifest, core, expression)
    result = set(base)
    if up:
        result |= _walk(base, lambda uid: manifest.nodes[uid].depends_on
                        if uid in manifest.nodes else (), up)
    if down:
        children: dict[str, list[str]] = {}
        for n in manifest.nodes.values():
            for d in n.depends_on:
                children.setdefault(d, []).append(n.unique_id)
        result |= _walk(base, lambda uid: children.get(uid, ()), down)
    return {uid for uid in result if uid in manifest.nodes}


def _walk(start: Iterable[str], step: Callable[[str], Iterable[str]], depth: int) -> set[str]:
    seen: set[str] = set()
    frontier = list(start)
    level = 0
    while frontier and (depth < 0 or level < depth):
        nxt = []
        for uid in frontier:
            for other in step(uid):
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
        frontier = nxt
        level += 1
    return seen


def _method(manifest: DbtManifest, core: str, expression: str) -> set[str]:
    if ":" in core:
        method, value = core.split(":", 1)
    elif "/" in core or core.endswith((".sql", ".csv", ".py")):
        method, value = "path", core
    else:
        method, value = "fqn", core
    nodes = list(manifest.nodes.values()) + list(manifest.sources.values())
    if method == "fqn":
        return {n.unique_id for n in nodes if _fqn_match(n, value)}
    if method == "tag":
        return {n.unique_id for n in nodes if any(fnmatch.fnmatchcase(t, value) for t in n.tags)}
    if method == "path":
        want = value.rstrip("/")
        return {n.unique_id for n in nodes
                if fnmatch.fnmatchcase(n.original_file_path, want)
                or n.original_file_path.startswith(want + "/")
                or n.original_file_path == want}
    if method == "resource_type":
        return {n.unique_id for n in nodes if n.resource_type == value}
    if method == "package":
        return {n.unique_id for n in nodes if fnmatch.fnmatchcase(n.package_name, value)}
    if method == "group":
        return {n.unique_id for n in nodes if n.group and fnmatch.fnmatchcase(n.group, value)}
    if method == "config.materialized":
        return {n.unique_id for n in nodes if n.materialized == value}
    raise DefinitionError(
        f"dbt selection {expression!r}: method {method!r} is not supported when selecting "
        f"from the manifest; supported: {', '.join(m + ':' for m in _SUPPORTED_METHODS)} and "
        "plain names. Select a broader set here and narrow it with exclude=, or use tags."
    )


def _fqn_match(node: DbtNode, value: str) -> bool:
    """dbt's fqn method: the parts match the start of the fqn (with or without the package),
    so 'staging' selects a folder and 'customers' a model; '*' wildcards within parts."""
    if value in ("*", ""):
        return True
    parts = value.split(".")
    if len(parts) == 1 and fnmatch.fnmatchcase(node.name, parts[0]):
        return True
    fqn = node.fqn
    for candidate in (fqn, fqn[1:]):
        if len(parts) <= len(candidate) and all(
            fnmatch.fnmatchcase(c, p) for c, p in zip(candidate, parts)
        ):
            return True
    return False


# -- one run ----------------------------------------------------------------------------------
@dataclass
class _Plan:
    info: DbtAssetsInfo
    asset_by_uid: dict[str, AssetKey]
    check_by_uid: dict[str, tuple[AssetKey, str]]
    full: bool
    vars: dict[str, Any]
    target_dir: Path | None = None
    context: Any = None
    checks_complete: bool = True  # every check of the selected assets is selected

    def selection_args(self, invocation: DbtCliInvocation) -> list[str]:
        """dbt flags for exactly this run's selection.

        dbt matches every selection term against every node, so its cost grows with
        terms x nodes (about 5 s for 1,000 terms on 1,500 models). The selection is therefore
        written the short way: everything (``fqn:*``), everything but the few left out
        (``--exclude``), or the nodes one by one with their selected tests (nothing indirect).
        The definition's own ``select`` string is never handed to dbt: this module's reading of
        it and dbt's could differ, and the run must build exactly the selected assets.
        """
        info = self.info
        nodes = info.manifest.nodes
        tests = info.manifest.tests
        everything = [uid for uid, n in nodes.items() if n.materialized != "ephemeral"]
        if self.checks_complete:
            left_out = [uid for uid in everything if uid not in self.asset_by_uid]
            # source tests run with fqn:*, wanted or not: leave out those not in this run
            sources = info.manifest.sources
            left_out += [uid for uid, t in tests.items() if t.attached_node in sources
                         and uid not in self.check_by_uid and t.fqn]
            if not left_out:
                return ["--select", "fqn:*"]
            if len(left_out) < len(self.asset_by_uid):
                return ["--select", "fqn:*", "--exclude",
                        *("fqn:" + ".".join(nodes[uid].fqn if uid in nodes else tests[uid].fqn)
                          for uid in left_out)]
        terms = ["fqn:" + ".".join(nodes[uid].fqn) for uid in self.asset_by_uid]
        terms += ["fqn:" + ".".join(tests[uid].fqn) for uid in self.check_by_uid
                  if tests[uid].fqn]
        return ["--select", *terms, "--indirect-selection", "empty"]

    def node_facts(self, uid: str) -> dict[str, Any]:
        node = self.info.manifest.nodes[uid]
        return {"resource_type": node.resource_type, "package_name": node.package_name,
                "original_file_path": node.original_file_path,
                "relation_name": node.relation_name}

    def to_events(self, result: DbtNodeResult) -> Iterator[Any]:
        from orchestrator.results import AssetCheckResult, AssetCheckSeverity, MaterializeResult

        from ._events import CHECK_STATUSES, check_fields, materialization_metadata

        uid = result.unique_id
        key = self.asset_by_uid.get(uid)
        if key is not None:
            if result.status == "success":
                target = str(self.target_dir) if self.target_dir is not None else None
                md = materialization_metadata(result, self.node_facts(uid), target)
                yield MaterializeResult(asset_key=key, metadata=md)
            return
        check = self.check_by_uid.get(uid)
        if check is not None and result.status in CHECK_STATUSES:
            passed, severity, md = check_fields(result)
            test: DbtTest = self.info.manifest.tests[uid]
            yield AssetCheckResult(
                passed=passed,
                severity=AssetCheckSeverity(severity),
                asset_key=check[0],
                check_name=check[1],
                metadata=md,
                description=test.description or None,
            )

    def runner_extras(self) -> dict[str, Any]:
        """What the external runner needs to report like the in-process one."""
        from pipes_protocol import escape_asset_key

        return {
            "assets": {uid: escape_asset_key(k.path) for uid, k in self.asset_by_uid.items()},
            "checks": {uid: [escape_asset_key(k.path), name]
                       for uid, (k, name) in self.check_by_uid.items()},
            "nodes": {uid: self.node_facts(uid) for uid in self.asset_by_uid},
            "target_dir": str(self.target_dir) if self.target_dir is not None else None,
        }


def invocation_plan(context: Any, manifest: DbtManifest | None) -> _Plan:
    info = get_dbt_assets_info(context)
    if manifest is not None and manifest is not info.manifest:
        info = DbtAssetsInfo(manifest, info.specs, info.select, info.exclude, info.unique_ids,
                             info.checks_by_unique_id)
    keys = frozenset(context.selected_asset_keys)
    uid_by_key = info.specs.unique_ids_by_key
    asset_by_uid = {uid_by_key[k]: k for k in keys if k in uid_by_key}
    selected_checks = getattr(context, "selected_asset_check_keys", None)
    # the checks that go with the selected assets: on them, and on the sources they read
    read = {info.specs.keys_by_unique_id[src] for uid in asset_by_uid
            for src in _upstream_sources(info.manifest, uid)}
    with_keys = {u for u, c in info.checks_by_unique_id.items()
                 if c[0] in keys or (c[0] in read and not _is_own_node(info, uid_by_key.get(c[0])))}
    if selected_checks is None:
        check_by_uid = {u: c for u, c in info.checks_by_unique_id.items() if u in with_keys}
    else:
        wanted = {(ck.asset_key, ck.name) for ck in selected_checks}
        check_by_uid = {u: c for u, c in info.checks_by_unique_id.items() if c in wanted}
    full = len(asset_by_uid) == len(info.unique_ids) and len(check_by_uid) == len(
        info.checks_by_unique_id)
    complete = all(u in check_by_uid for u in with_keys)
    return _Plan(info, asset_by_uid, check_by_uid, full, _partition_vars(context),
                 _target_dir(info.manifest), context, complete)


def _is_own_node(info: DbtAssetsInfo, uid: str | None) -> bool:
    """Whether a check's target is a model/seed/snapshot (else: a source the assets read)."""
    return uid is not None and uid in info.manifest.nodes


def _target_dir(manifest: DbtManifest) -> Path | None:
    return manifest.path.parent if manifest.path.name == "manifest.json" else None


def _partition_vars(context: Any) -> dict[str, Any]:
    """The run's partition as dbt vars: ``min_date``/``max_date`` from its time window (a
    range run: the whole span), and ``partition_key`` / ``partition_key_range``."""
    try:
        rng = context.partition_key_range
    except Exception:  # noqa: BLE001 - not a partitioned run
        return {}
    out: dict[str, Any] = {"partition_key_range": [rng[0], rng[1]]}
    if rng[0] == rng[1]:
        out["partition_key"] = rng[0]
    try:
        window = context.partition_time_window
    except Exception:  # noqa: BLE001 - partitions that are not time windows
        window = None
    if window is not None:
        out["min_date"] = window[0].isoformat()
        out["max_date"] = window[1].isoformat()
    return out
