"""Execution plans: the steps of a run and where each step's inputs come from.

A plan is built from a job — a graph of ops, or a selection of assets — and is what the
executors run. Steps downstream of a dynamic output are *templates* until the dynamic
step has run; then one step per mapping key is made (``process[file_a]``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..asset_key import AssetKey
from ..errors import DefinitionError
from ..ops import NO_VALUE, OpDefinition

__all__ = ["ExecutionPlan", "Step", "build_asset_plan", "build_graph_plan"]


# -- input sources ------------------------------------------------------------------------
@dataclass(frozen=True)
class FromOutput:
    step_key: str
    output_name: str
    mapping_key: str | None = None
    run_id: str | None = None  # None: this run; else a parent run (re-execution)


@dataclass(frozen=True)
class FromAsset:
    """Load an asset that this run does not compute, through its IO manager."""

    asset_key: AssetKey


@dataclass(frozen=True)
class FromFanIn:
    sources: tuple[Any, ...]


@dataclass(frozen=True)
class FromDefault:
    value: Any


@dataclass(frozen=True)
class FromConfig:
    """An input given in run config: ``ops.<op>.inputs.<name>.value``."""

    op_handle: str
    input_name: str


@dataclass(frozen=True)
class FromMapped:
    """Template only: one element of a dynamic output."""

    step_key: str
    output_name: str


@dataclass(frozen=True)
class FromTemplateOutput:
    """Template only: the output of another template with the same mapping key."""

    handle: str
    output_name: str


@dataclass(frozen=True)
class FromCollect:
    """All elements of a dynamic output, or all outputs of a mapped template."""

    handle: str
    output_name: str


@dataclass(frozen=True)
class Unconnected:
    op_handle: str
    input_name: str


def sources_of(src: Any) -> Iterable[Any]:
    if isinstance(src, FromFanIn):
        for s in src.sources:
            yield from sources_of(s)
    else:
        yield src


@dataclass
class Step:
    key: str
    handle: str
    op: OpDefinition
    inputs: dict[str, Any]
    output_names: list[str]
    assets_def: Any = None
    checks_def: Any = None
    keys_by_output: dict[str, AssetKey] = field(default_factory=dict)
    check_keys: list[Any] = field(default_factory=list)
    mapping_key: str | None = None
    mapped_over: tuple[str, str] | None = None  # templates: (dynamic step key, output)
    extra_deps: set[str] = field(default_factory=set)  # ordering only
    # for extra deps that come from asset deps: upstream step -> the outputs (assets) read, so
    # a failed multi-asset step skips only what depends on the assets it did not produce
    extra_dep_outputs: dict[str, set[str]] = field(default_factory=dict)
    blocking_check_deps: dict[str, list[AssetKey]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def asset_keys(self) -> list[AssetKey]:
        return list(self.keys_by_output.values())

    def upstream_step_keys(self) -> set[str]:
        ups = set(self.extra_deps)
        for src in self.inputs.values():
            for s in sources_of(src):
                if isinstance(s, FromOutput) and s.run_id is None:
                    ups.add(s.step_key)
                elif isinstance(s, FromMapped):
                    ups.add(s.step_key)
        return ups

    @property
    def is_resolved(self) -> bool:
        for src in self.inputs.values():
            for s in sources_of(src):
                if isinstance(s, (FromCollect, FromMapped, FromTemplateOutput)):
                    return False
        return True


@dataclass
class ExecutionPlan:
    steps: dict[str, Step]
    templates: dict[str, Step] = field(default_factory=dict)
    job_name: str = ""

    def step_keys(self) -> list[str]:
        return list(self.steps)

    def topo_order(self) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()
        temp: set[str] = set()

        def visit(k: str, path: list[str]) -> None:
            if k in seen:
                return
            if k in temp:
                cyc = path[path.index(k):] + [k]
                raise DefinitionError(f"steps form a cycle: {' → '.join(cyc)}")
            temp.add(k)
            for u in sorted(self.steps[k].upstream_step_keys()):
                if u in self.steps:
                    visit(u, path + [u])
            temp.discard(k)
            seen.add(k)
            order.append(k)

        for k in self.steps:
            visit(k, [k])
        return order

    # dynamic resolution ---------------------------------------------------------------------
    def resolve_dynamic(self, step_key: str, output_name: str,
                        mapping_keys: list[str]) -> list[Step]:
        """Make the steps mapped over ``step_key``'s dynamic output, one per mapping key."""
        created: list[Step] = []
        made_handles: dict[str, list[str]] = {}
        pending = [t for t in self.templates.values()
                   if t.mapped_over == (step_key, output_name)]
        # instantiate in dependency order among templates
        ordered: list[Step] = []
        names = {t.handle for t in pending}
        while pending:
            progressed = False
            for t in list(pending):
                deps = {s.handle for s in sources_of_all(t) if isinstance(s, FromTemplateOutput)}
                if deps & names - {x.handle for x in ordered}:
                    continue
                ordered.append(t)
                pending.remove(t)
                progressed = True
            if not progressed:  # pragma: no cover - composition prevents this
                raise DefinitionError("cycle among mapped ops")
        for t in ordered:
            keys = []
            for mk in mapping_keys:
                new_inputs = {n: _instantiate(src, mk) for n, src in t.inputs.items()}
                new = replace(t, key=f"{t.handle}[{mk}]", inputs=new_inputs, mapping_key=mk,
                              mapped_over=None, extra_deps=set(t.extra_deps))
                self.steps[new.key] = new
                created.append(new)
                keys.append(new.key)
            made_handles[t.handle] = keys
            del self.templates[t.handle]
        # resolve collects that were waiting on this dynamic output or its templates
        for s in self.steps.values():
            for n, src in list(s.inputs.items()):
                s.inputs[n] = _resolve_collect(src, step_key, output_name, mapping_keys,
                                               made_handles)
        for t in self.templates.values():
            for n, src in list(t.inputs.items()):
                t.inputs[n] = _resolve_collect(src, step_key, output_name, mapping_keys,
                                               made_handles)
        return created


def sources_of_all(step: Step) -> list[Any]:
    out: list[Any] = []
    for src in step.inputs.values():
        out.extend(sources_of(src))
    return out


def _instantiate(src: Any, mk: str) -> Any:
    if isinstance(src, FromMapped):
        return FromOutput(src.step_key, src.output_name, mk)
    if isinstance(src, FromTemplateOutput):
        return FromOutput(f"{src.handle}[{mk}]", src.output_name)
    if isinstance(src, FromFanIn):
        return FromFanIn(tuple(_instantiate(s, mk) for s in src.sources))
    return src


def _resolve_collect(src: Any, step_key: str, output_name: str, mapping_keys: list[str],
                     made: dict[str, list[str]]) -> Any:
    if isinstance(src, FromCollect):
        if src.handle == step_key and src.output_name == output_name:
            return FromFanIn(tuple(FromOutput(step_key, output_name, mk) for mk in mapping_keys))
        if src.handle in made:
            return FromFanIn(tuple(FromOutput(k, src.output_name) for k in made[src.handle]))
    return src


# -- building a plan from a graph of ops ----------------------------------------------------------
def build_graph_plan(job: Any, *, op_selection: Iterable[str] | None = None) -> ExecutionPlan:
    from ..graphs import (
        EdgeCollect,
        EdgeFanIn,
        EdgeFromGraphInput,
        EdgeFromOutput,
        EdgeMapped,
        GraphDefinition,
    )

    plan = ExecutionPlan(steps={}, job_name=job.name)
    graph_def: GraphDefinition = job.graph_def
    mapped_prefixes: set[str] = set()  # prefixes of graphs flattened inside a .map()

    def resolve_output(g: GraphDefinition, prefix: str, node: str, output: str,
                       mapped: bool) -> Any:
        inv = g.nodes[node]
        if isinstance(inv.definition, GraphDefinition):
            inner = inv.definition
            if output not in inner.output_map:
                raise DefinitionError(f"graph '{inner.name}' has no output '{output}'")
            edge = inner.output_map[output]
            return resolve_edge(inner, prefix + node + ".", edge, {}, mapped)
        handle = prefix + node
        if mapped or inv.mapped_over is not None or prefix in mapped_prefixes:
            return FromTemplateOutput(handle, output)
        return FromOutput(handle, output)

    def resolve_edge(g: GraphDefinition, prefix: str, edge: Any, graph_inputs: Mapping[str, Any],
                     mapped: bool) -> Any:
        if isinstance(edge, EdgeFromOutput):
            return resolve_output(g, prefix, edge.node, edge.output, False)
        if isinstance(edge, EdgeFromGraphInput):
            return graph_inputs.get(edge.name)
        if isinstance(edge, EdgeFanIn):
            return FromFanIn(tuple(resolve_edge(g, prefix, e, graph_inputs, mapped)
                                   for e in edge.sources))
        if isinstance(edge, EdgeMapped):
            if edge.node == edge.dynamic_node and edge.output == edge.dynamic_output:
                return FromMapped(prefix + edge.node, edge.output)
            return resolve_output(g, prefix, edge.node, edge.output, True)
        if isinstance(edge, EdgeCollect):
            src = resolve_output(g, prefix, edge.node, edge.output, False)
            if isinstance(src, FromTemplateOutput):
                return FromCollect(src.handle, src.output_name)
            return FromCollect(src.step_key, src.output_name)
        if edge is None:
            return None
        raise DefinitionError(f"unknown edge {edge!r}")  # pragma: no cover

    def flatten(g: GraphDefinition, prefix: str, graph_inputs: Mapping[str, Any],
                outer_mapped: tuple[str, str] | None) -> None:
        for name, inv in g.nodes.items():
            handle = prefix + name
            resolved_inputs = {k: resolve_edge(g, prefix, e, graph_inputs,
                                               inv.mapped_over is not None)
                               for k, e in inv.inputs.items()}
            mapped_over = None
            if inv.mapped_over is not None:
                mapped_over = (prefix + inv.mapped_over[0], inv.mapped_over[1])
            elif outer_mapped is not None:
                mapped_over = outer_mapped
            if isinstance(inv.definition, GraphDefinition):
                if mapped_over is not None:  # a graph inside .map(): its ops are templates
                    mapped_prefixes.add(handle + ".")
                flatten(inv.definition, handle + ".", resolved_inputs, mapped_over)
                continue
            op_def = inv.definition
            inputs: dict[str, Any] = {}
            for in_name in op_def.ins:
                src = resolved_inputs.get(in_name)
                if src is None:
                    d = op_def.ins[in_name].default_value
                    src = FromDefault(d) if d is not NO_VALUE else Unconnected(handle, in_name)
                inputs[in_name] = src
            step = Step(key=handle, handle=handle, op=op_def, inputs=inputs,
                        output_names=list(op_def.outs), mapped_over=mapped_over,
                        tags={**job.tags, **op_def.tags})
            if mapped_over is not None:
                plan.templates[handle] = step
            else:
                plan.steps[handle] = step

    flatten(graph_def, "", {}, None)
    if op_selection is not None:
        _apply_op_selection(plan, list(op_selection))
    plan.topo_order()
    return plan


def _apply_op_selection(plan: ExecutionPlan, selection: list[str]) -> None:
    wanted: set[str] = set()
    for sel in selection:
        up = sel.startswith("*")
        down = sel.endswith("*")
        name = sel.strip("*")
        if name not in plan.steps:
            raise DefinitionError(
                f"op selection '{sel}' names no op of job '{plan.job_name}'; ops are "
                f"{sorted(plan.steps)}")
        wanted.add(name)
        if up:
            stack = [name]
            while stack:
                for u in plan.steps[stack.pop()].upstream_step_keys():
                    if u in plan.steps and u not in wanted:
                        wanted.add(u)
                        stack.append(u)
        if down:
            changed = True
            while changed:
                changed = False
                for k, s in plan.steps.items():
                    if k not in wanted and s.upstream_step_keys() & wanted:
                        wanted.add(k)
                        changed = True
    for k in list(plan.steps):
        if k not in wanted:
            del plan.steps[k]
    for s in plan.steps.values():
        for n, src in list(s.inputs.items()):
            if isinstance(src, FromOutput) and src.step_key not in plan.steps:
                raise DefinitionError(
                    f"op selection leaves out '{src.step_key}', which '{s.key}' needs for input "
                    f"'{n}'; add it to the selection (or prefix the selection with '*')")


# -- building a plan from selected assets -----------------------------------------------------
def build_asset_plan(asset_graph: Any, selected: set[AssetKey], selected_checks: set[Any] | None,
                     job_name: str, tags: Mapping[str, str] | None = None) -> ExecutionPlan:
    """Steps for the selected assets (grouped by the op that computes them) and checks."""
    plan = ExecutionPlan(steps={}, job_name=job_name)
    step_for_key: dict[AssetKey, tuple[str, str]] = {}
    defs_in_order: list[Any] = []
    seen_defs: dict[int, set[AssetKey]] = {}
    for key in asset_graph.toposort():
        if key not in selected:
            continue
        ad = asset_graph.get(key)
        if ad.is_external:
            raise DefinitionError(
                f"asset '{key.to_user_string()}' is external (declared with AssetSpec, no "
                f"compute) and cannot be materialized; remove it from the selection")
        if id(ad) not in seen_defs:
            seen_defs[id(ad)] = set()
            defs_in_order.append(ad)
        seen_defs[id(ad)].add(key)
    for ad in defs_in_order:
        keys = seen_defs[id(ad)]
        # checks on the step's own selected assets, and checks on what it depends on
        check_keys = [ck for ck in ad.check_keys_for(keys)
                      if selected_checks is None or ck in selected_checks]
        sub = ad.subset_for(keys, check_keys)
        step_key = ad.node_def.name
        for out_name, k in ad.keys_by_output_name.items():
            if k in keys:
                step_for_key[k] = (step_key, out_name)
        plan.steps[step_key] = Step(
            key=step_key, handle=step_key, op=ad.node_def, inputs={}, assets_def=sub,
            output_names=[n for n, k in ad.keys_by_output_name.items() if k in keys],
            keys_by_output={n: k for n, k in ad.keys_by_output_name.items() if k in keys},
            check_keys=check_keys, tags={**dict(tags or {}), **ad.node_def.tags},
        )
    # inputs and ordering deps
    for ad in defs_in_order:
        step = plan.steps[ad.node_def.name]
        for in_name, up_key in ad.keys_by_input_name.items():
            if up_key in step_for_key and step_for_key[up_key][0] != step.key:
                sk, on = step_for_key[up_key]
                step.inputs[in_name] = FromOutput(sk, on)
            else:
                step.inputs[in_name] = FromAsset(up_key)
        for k in step.asset_keys:
            for dep in ad.deps_of(k):
                if dep in step_for_key and step_for_key[dep][0] != step.key and \
                        dep not in ad.keys_by_input_name.values():
                    step.extra_deps.add(step_for_key[dep][0])
                    step.extra_dep_outputs.setdefault(step_for_key[dep][0], set()).add(
                        step_for_key[dep][1])
    # separate check steps
    for cd in asset_graph.checks_defs:
        cks = [cs for cs in cd.specs if cs.asset_key in selected and
               (selected_checks is None or cs.key in selected_checks)]
        if not cks:
            continue
        inputs: dict[str, Any] = {}
        for in_name, k in cd.keys_by_input_name.items():
            if k in step_for_key:
                inputs[in_name] = FromOutput(*step_for_key[k])
            else:
                inputs[in_name] = FromAsset(k)
        step = Step(key=cd.node_def.name, handle=cd.node_def.name, op=cd.node_def,
                    inputs=inputs, output_names=[], checks_def=cd,
                    check_keys=[cs.key for cs in cks], tags=dict(tags or {}))
        for cs in cks:
            if cs.asset_key in step_for_key:
                step.extra_deps.add(step_for_key[cs.asset_key][0])
        plan.steps[step.key] = step
        # blocking: assets downstream of the checked asset wait for this check
        for cs in cks:
            if not cs.blocking:
                continue
            for child in asset_graph.children.get(cs.asset_key, ()):
                if child in step_for_key:
                    ds = plan.steps[step_for_key[child][0]]
                    if ds.key != step.key:
                        ds.extra_deps.add(step.key)
                        ds.blocking_check_deps.setdefault(step.key, []).append(cs.asset_key)
    plan.topo_order()
    return plan
