"""Definitions: everything a code location offers (assets, checks, jobs, schedules,
sensors, resources, executor, loggers), validated together.

::

    defs = Definitions(
        assets=[country_stats, change_model, continent_stats],
        jobs=[define_asset_job("my_job", selection=AssetSelection.assets(country_stats))],
        resources={"db": Warehouse(url=EnvVar("WAREHOUSE_URL"))},
    )
    defs.validate()                      # every problem at once
    defs.get_job_def("my_job").execute_in_process()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .asset_key import AssetKey
from .assets.definition import AssetChecksDefinition, AssetsDefinition
from .assets.graph import AssetGraph
from .assets.selection import AssetSelection
from .assets.spec import AssetSpec
from .errors import DefinitionError
from .graphs import GraphDefinition, JobDefinition
from .retry import RetryPolicy

__all__ = ["AssetJobLayer", "Definitions", "UnresolvedAssetJobDefinition", "define_asset_job",
           "split_asset_like"]


@dataclass
class AssetJobLayer:
    """The assets an asset job runs: the whole graph plus the selected keys and checks."""

    asset_graph: AssetGraph
    selected_keys: set[AssetKey]
    selected_checks: set[Any] | None


def split_asset_like(items: Iterable[Any], where: str) -> tuple[list[AssetsDefinition],
                                                                 list[AssetChecksDefinition]]:
    assets: list[AssetsDefinition] = []
    checks: list[AssetChecksDefinition] = []
    for item in items:
        if isinstance(item, AssetsDefinition):
            assets.append(item)
        elif isinstance(item, AssetSpec):
            assets.append(AssetsDefinition(specs=[item], node_def=None))
        elif isinstance(item, AssetChecksDefinition):
            checks.append(item)
        elif isinstance(item, (list, tuple)):
            a, c = split_asset_like(item, where)
            assets += a
            checks += c
        else:
            raise DefinitionError(
                f"{where}: expected assets (@asset, @multi_asset, AssetSpec) or checks "
                f"(@asset_check), got {item!r}")
    return assets, checks


class UnresolvedAssetJobDefinition:
    """An asset job whose selection is resolved against the Definitions it is part of."""

    def __init__(self, name: str, selection: Any, config: Any = None,
                 tags: Mapping[str, str] | None = None, description: str | None = None,
                 executor_def: Any = None, partitions_def: Any = None,
                 op_retry_policy: RetryPolicy | None = None) -> None:
        from .ops import _check_name

        _check_name(name, "job")
        self.name = name
        self.selection = AssetSelection.from_coercible(selection) if selection is not None \
            else AssetSelection.all()
        self.config = config
        self.tags = dict(tags or {})
        self.description = description
        self.executor_def = executor_def
        self.partitions_def = partitions_def
        self.op_retry_policy = op_retry_policy

    def resolve(self, asset_graph: AssetGraph, resource_defs: Mapping[str, Any],
                executor_def: Any = None, logger_defs: Mapping[str, Any] | None = None
                ) -> JobDefinition:
        try:
            keys = self.selection.resolve(asset_graph)
        except DefinitionError as exc:
            raise DefinitionError(f"job '{self.name}': {exc}",
                                  [f"job '{self.name}': {p}" for p in exc.problems]) from None
        keys = {k for k in keys if not asset_graph.is_external(k)}
        if not keys:
            raise DefinitionError(f"job '{self.name}': selection {self.selection!r} matches no "
                                  f"asset that can be materialized")
        return JobDefinition(self.name, asset_layer=AssetJobLayer(asset_graph, keys, None),
                             resource_defs=resource_defs, config=self.config, tags=self.tags,
                             description=self.description,
                             executor_def=self.executor_def or executor_def,
                             op_retry_policy=self.op_retry_policy, logger_defs=logger_defs,
                             partitions_def=self.partitions_def)

    def __repr__(self) -> str:
        return f"<UnresolvedAssetJobDefinition {self.name!r}>"


def define_asset_job(name: str, selection: Any = None, *, config: Any = None,
                     tags: Mapping[str, str] | None = None, description: str | None = None,
                     executor_def: Any = None, partitions_def: Any = None,
                     op_retry_policy: RetryPolicy | None = None) -> UnresolvedAssetJobDefinition:
    """A job that materializes a selection of assets (``AssetSelection``, a selection string,
    or a list of assets/keys)."""
    return UnresolvedAssetJobDefinition(name, selection, config, tags, description,
                                        executor_def, partitions_def, op_retry_policy)


class Definitions:
    """All the definitions of a code location. Cheap to build; ``validate()`` checks it all."""

    def __init__(self, assets: Iterable[Any] | None = None, *,
                 asset_checks: Iterable[Any] | None = None,
                 jobs: Iterable[Any] | None = None, schedules: Iterable[Any] | None = None,
                 sensors: Iterable[Any] | None = None,
                 resources: Mapping[str, Any] | None = None, executor: Any = None,
                 loggers: Mapping[str, Any] | None = None) -> None:
        self.assets_defs, checks = split_asset_like(list(assets or []), "Definitions(assets=)")
        more_assets, more_checks = split_asset_like(list(asset_checks or []),
                                                    "Definitions(asset_checks=)")
        self.assets_defs += more_assets
        self.checks_defs = checks + more_checks
        self.jobs = list(jobs or [])
        self.schedules = list(schedules or [])
        self.sensors = list(sensors or [])
        self.resources = dict(resources or {})
        self.executor = executor
        self.loggers = dict(loggers or {})
        self._graph: AssetGraph | None = None
        self._resolved_jobs: dict[str, JobDefinition] = {}

    # lookups -----------------------------------------------------------------------------
    @property
    def asset_graph(self) -> AssetGraph:
        if self._graph is None:
            self._graph = AssetGraph(self.assets_defs, self.checks_defs)
        return self._graph

    def get_asset_graph(self) -> AssetGraph:
        return self.asset_graph

    @property
    def job_names(self) -> list[str]:
        return [j.name for j in self.jobs]

    def get_job_def(self, name: str) -> JobDefinition:
        """The job with this name, resolved against these definitions."""
        if name in self._resolved_jobs:
            return self._resolved_jobs[name]
        for j in self.jobs:
            if j.name == name:
                job = self._resolve_job(j)
                self._resolved_jobs[name] = job
                return job
        import difflib

        close = difflib.get_close_matches(name, self.job_names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DefinitionError(f"no job named '{name}'{hint}; jobs: {self.job_names or 'none'}")

    def _resolve_job(self, j: Any) -> JobDefinition:
        if isinstance(j, UnresolvedAssetJobDefinition):
            problems = self.asset_graph.check_problems()
            if problems:
                raise DefinitionError("; ".join(problems), problems)
            return j.resolve(self.asset_graph, self.resources, self.executor, self.loggers)
        if isinstance(j, GraphDefinition):
            j = j.to_job(resource_defs=self.resources)
        if isinstance(j, JobDefinition):
            merged = JobDefinition(
                j.name, graph_def=j.graph_def, asset_layer=j.asset_layer,
                resource_defs={**self.resources, **j.resource_defs}, config=j.config,
                tags=j.tags, description=j.description,
                executor_def=j.executor_def or self.executor, op_retry_policy=j.op_retry_policy,
                logger_defs={**self.loggers, **j.logger_defs}, partitions_def=j.partitions_def)
            return merged
        raise DefinitionError(f"Definitions(jobs=): {j!r} is not a job")

    def get_implicit_global_asset_job_def(self) -> JobDefinition:
        return self.asset_job(AssetSelection.all(), name="__asset_job")

    def asset_job(self, selection: Any, name: str = "__ephemeral_asset_job__") -> JobDefinition:
        """A job over a selection of this code location's assets (used by the CLI)."""
        problems = self.asset_graph.check_problems()
        if problems:
            raise DefinitionError("; ".join(problems), problems)
        return UnresolvedAssetJobDefinition(name, selection).resolve(
            self.asset_graph, self.resources, self.executor, self.loggers)

    def get_assets_def(self, key: Any) -> AssetsDefinition:
        return self.asset_graph.get(AssetKey.from_coercible(key))

    # validation ---------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise one DefinitionError listing every problem (``.problems``), or return."""
        problems = self.problems()
        if problems:
            head = f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in definitions"
            raise DefinitionError(head + ":\n" + "\n".join(f"  - {p}" for p in problems),
                                  problems)

    def problems(self) -> list[str]:
        graph = self.asset_graph
        problems = graph.check_problems()
        provided = set(self.resources) | {"io_manager"}
        for ad in self.assets_defs:
            needed = ad.required_resource_keys
            if needed.issubset(provided):  # (the common case: nothing to report)
                continue
            if ad.is_external:
                for rk in sorted(needed - provided):
                    problems.append(
                        f"external asset '{ad.name}' is loaded with IO manager '{rk}', which "
                        f"Definitions does not provide; provided: {sorted(provided)}. Add "
                        f"resources={{'{rk}': ...}}")
                continue
            for rk in sorted(needed - provided):
                problems.append(
                    f"asset '{ad.name}' needs resource '{rk}', which Definitions does not "
                    f"provide; provided: {sorted(provided)}. Add resources={{'{rk}': ...}}")
        for cd in self.checks_defs:
            for rk in sorted(cd.required_resource_keys - provided):
                problems.append(f"asset check '{cd.name}' needs resource '{rk}', which "
                                f"Definitions does not provide")
        seen: set[str] = set()
        for j in self.jobs:
            name = getattr(j, "name", None)
            if name in seen:
                problems.append(f"job name '{name}' is used twice")
            seen.add(name)
            if isinstance(j, UnresolvedAssetJobDefinition):
                try:
                    j.resolve(graph, self.resources)
                except DefinitionError as exc:
                    problems.extend(exc.problems)
            elif not isinstance(j, (JobDefinition, GraphDefinition)):
                problems.append(f"Definitions(jobs=): {j!r} is not a job; give @job, "
                                f"graph.to_job(...) or define_asset_job(...) objects")
            elif isinstance(j, JobDefinition) and j.graph_def is not None:
                res = set(self.resources) | set(j.resource_defs) | {"io_manager"}
                for op_def in j.graph_def.iter_ops():
                    for rk in sorted(op_def.required_resource_keys - res):
                        problems.append(f"op '{op_def.name}' of job '{j.name}' needs resource "
                                        f"'{rk}', which is not provided")
        for s in list(self.schedules) + list(self.sensors):
            jn = getattr(s, "job_name", None)
            if jn and jn not in seen:
                problems.append(f"{type(s).__name__} '{getattr(s, 'name', '?')}' targets job "
                                f"'{jn}', which is not defined")
        import logging

        for name, lg in self.loggers.items():
            if not isinstance(lg, (logging.Handler, logging.Logger)) and not callable(lg):
                problems.append(
                    f"logger '{name}' is a {type(lg).__name__}, not a logging.Handler, a "
                    f"logging.Logger or a callable receiving lists of events; fix "
                    f"Definitions(loggers={{'{name}': ...}})")
        return problems

    @staticmethod
    def merge(*defs: Definitions) -> Definitions:
        out = Definitions()
        for d in defs:
            out.assets_defs += d.assets_defs
            out.checks_defs += d.checks_defs
            out.jobs += d.jobs
            out.schedules += d.schedules
            out.sensors += d.sensors
            out.resources.update(d.resources)
            out.loggers.update(d.loggers)
            out.executor = d.executor or out.executor
        return out


_ = (Sequence,)
