"""Graphs and jobs of ops: ``@graph`` composes ops (and other graphs), ``@job`` makes a
runnable job, ``graph.to_job(resource_defs=..., config=...)`` binds one to resources.

::

    @graph
    def etl():
        total(clean(extract()))

    etl_job = etl.to_job(resource_defs={"db": db_resource}, tags={"team": "data"})

Dynamic fan-out::

    @job
    def process_files():
        results = list_files().map(process_file)
        summarize(results.collect())
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import DefinitionError
from .ops import OpDefinition, _check_name
from .retry import RetryPolicy

__all__ = ["GraphDefinition", "JobDefinition", "graph", "job"]

_composition: contextvars.ContextVar[_Composition | None] = contextvars.ContextVar(
    "orchestrator_composition", default=None
)


def _current_composition() -> _Composition | None:
    return _composition.get()


# -- what flows between nodes while composing -----------------------------------------------
@dataclass(frozen=True)
class OutputHandle:
    """The output of a node, passed to other nodes while composing a graph."""

    node: str
    output: str


@dataclass(frozen=True)
class GraphInputHandle:
    name: str


@dataclass(frozen=True)
class MappedHandle:
    """One element of a dynamic output, inside ``.map(fn)``."""

    node: str
    output: str
    dynamic_node: str  # the node with the DynamicOut this is mapped over
    dynamic_output: str

    def collect(self) -> CollectHandle:
        return CollectHandle(self.node, self.output)


@dataclass(frozen=True)
class DynamicHandle:
    """A dynamic output: ``.map(fn)`` runs ``fn`` per element, ``.collect()`` gathers them."""

    node: str
    output: str

    def map(self, fn: Callable[[MappedHandle], Any]) -> Any:
        comp = _current_composition()
        if comp is None:
            raise DefinitionError(".map() can only be used inside a @graph or @job body")
        return fn(MappedHandle(self.node, self.output, self.node, self.output))

    def collect(self) -> CollectHandle:
        return CollectHandle(self.node, self.output)


@dataclass(frozen=True)
class CollectHandle:
    node: str
    output: str


# Edge kinds stored in a NodeInvocation's inputs ------------------------------------------
@dataclass(frozen=True)
class EdgeFromOutput:
    node: str
    output: str


@dataclass(frozen=True)
class EdgeFromGraphInput:
    name: str


@dataclass(frozen=True)
class EdgeFanIn:
    sources: tuple[Any, ...]


@dataclass(frozen=True)
class EdgeMapped:
    """From one element of a dynamic output (the node runs once per element)."""

    node: str
    output: str
    dynamic_node: str
    dynamic_output: str


@dataclass(frozen=True)
class EdgeCollect:
    node: str
    output: str


@dataclass
class NodeInvocation:
    name: str
    definition: OpDefinition | GraphDefinition
    inputs: dict[str, Any] = field(default_factory=dict)  # input name → Edge*
    mapped_over: tuple[str, str] | None = None  # (dynamic node, output) it is mapped over


def _edge_for(value: Any, where: str) -> Any:
    if isinstance(value, OutputHandle):
        return EdgeFromOutput(value.node, value.output)
    if isinstance(value, GraphInputHandle):
        return EdgeFromGraphInput(value.name)
    if isinstance(value, MappedHandle):
        return EdgeMapped(value.node, value.output, value.dynamic_node, value.dynamic_output)
    if isinstance(value, CollectHandle):
        return EdgeCollect(value.node, value.output)
    if isinstance(value, DynamicHandle):
        raise DefinitionError(
            f"{where}: a dynamic output must be used with .map(fn) or .collect(), "
            f"not passed directly"
        )
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, (OutputHandle, GraphInputHandle)) for v in value
    ):
        return EdgeFanIn(tuple(_edge_for(v, where) for v in value))
    raise DefinitionError(
        f"{where}: inside a @graph/@job body, op inputs must be outputs of other ops (or graph "
        f"inputs), got {value!r}. Plain values can be given through config or In(default_value=...)"
    )


class _Composition:
    def __init__(self, graph_name: str, input_names: Sequence[str]) -> None:
        self.graph_name = graph_name
        self.nodes: dict[str, NodeInvocation] = {}
        self.input_names = list(input_names)

    def _unique(self, base: str) -> str:
        if base not in self.nodes:
            return base
        i = 2
        while f"{base}_{i}" in self.nodes:
            i += 1
        return f"{base}_{i}"

    def invoke(self, definition: OpDefinition | GraphDefinition, base_name: str,
               args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        node_name = self._unique(base_name)
        input_names = definition.positional_input_names()
        where = f"graph '{self.graph_name}', node '{node_name}'"
        if len(args) > len(input_names):
            raise DefinitionError(
                f"{where}: called with {len(args)} positional inputs but "
                f"'{definition.name}' has only {len(input_names)}: {input_names}"
            )
        bound: dict[str, Any] = dict(zip(input_names, args))
        for k, v in kwargs.items():
            if k not in definition.all_input_names():
                raise DefinitionError(
                    f"{where}: '{definition.name}' has no input '{k}'; its inputs are "
                    f"{definition.all_input_names()}"
                )
            if k in bound:
                raise DefinitionError(f"{where}: input '{k}' given twice")
            bound[k] = v
        inv = NodeInvocation(node_name, definition)
        mapped: set[tuple[str, str]] = set()
        for k, v in bound.items():
            edge = _edge_for(v, f"{where}, input '{k}'")
            inv.inputs[k] = edge
            if isinstance(edge, EdgeMapped):
                mapped.add((edge.dynamic_node, edge.dynamic_output))
        if len(mapped) > 1:
            raise DefinitionError(
                f"{where}: inputs are mapped over two different dynamic outputs {sorted(mapped)}; "
                f"a node can be mapped over one dynamic output only"
            )
        if mapped:
            inv.mapped_over = mapped.pop()
            if isinstance(definition, OpDefinition) and definition.has_dynamic_output:
                raise DefinitionError(
                    f"{where}: nested dynamic fan-out (a DynamicOut inside .map) is not "
                    f"supported; collect first"
                )
        self.nodes[node_name] = inv
        return definition.output_handles(node_name, inv.mapped_over)


class _Outputs(NamedTuple):
    pass


def _make_output_tuple(names: list[str], handles: list[Any]) -> Any:
    cls = NamedTuple("Outputs", [(n, Any) for n in names])  # type: ignore[misc]
    return cls(*handles)


def _op_output_handles(self: OpDefinition, node_name: str,
                       mapped_over: tuple[str, str] | None) -> Any:
    handles: list[Any] = []
    for out_name, out in self.outs.items():
        if out.is_dynamic:
            handles.append(DynamicHandle(node_name, out_name))
        elif mapped_over is not None:
            handles.append(MappedHandle(node_name, out_name, *mapped_over))
        else:
            handles.append(OutputHandle(node_name, out_name))
    if len(handles) == 1:
        return handles[0]
    return _make_output_tuple(list(self.outs), handles)


def _op_positional_input_names(self: OpDefinition) -> list[str]:
    names = list(self.signature.input_params)
    names += [n for n in self.ins if n not in names]
    return names


OpDefinition.output_handles = _op_output_handles  # type: ignore[attr-defined]
OpDefinition.positional_input_names = _op_positional_input_names  # type: ignore[attr-defined]
OpDefinition.all_input_names = _op_positional_input_names  # type: ignore[attr-defined]


class GraphDefinition:
    """A composition of ops and graphs. Callable inside another graph (nesting)."""

    def __init__(self, name: str, nodes: Mapping[str, NodeInvocation],
                 input_names: Sequence[str] = (),
                 output_map: Mapping[str, Any] | None = None,
                 description: str | None = None, tags: Mapping[str, str] | None = None,
                 config: Any = None) -> None:
        _check_name(name, "graph")
        self.name = name
        self.nodes = dict(nodes)
        self.input_names = list(input_names)
        self.output_map = dict(output_map or {})
        self.description = description
        self.tags = dict(tags or {})
        self.config = config

    def positional_input_names(self) -> list[str]:
        return list(self.input_names)

    all_input_names = positional_input_names

    def output_handles(self, node_name: str, mapped_over: tuple[str, str] | None) -> Any:
        if mapped_over is not None:
            handles = [MappedHandle(node_name, n, *mapped_over) for n in self.output_map]
        else:
            handles = [OutputHandle(node_name, n) for n in self.output_map]
        if not handles:
            return None
        if len(handles) == 1:
            return handles[0]
        return _make_output_tuple(list(self.output_map), handles)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        comp = _current_composition()
        if comp is None:
            raise DefinitionError(
                f"graph '{self.name}' can only be called inside another @graph/@job; to run "
                f"it, make a job: {self.name}.to_job().execute_in_process()"
            )
        return comp.invoke(self, self.name, args, kwargs)

    def alias(self, name: str) -> Any:
        graph_def = self

        class _Alias:
            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                comp = _current_composition()
                if comp is None:
                    raise DefinitionError("graph aliases can only be called inside a @graph")
                return comp.invoke(graph_def, name, args, kwargs)

        return _Alias()

    def to_job(self, name: str | None = None, *, resource_defs: Mapping[str, Any] | None = None,
               config: Any = None, tags: Mapping[str, str] | None = None,
               description: str | None = None, executor_def: Any = None,
               op_retry_policy: RetryPolicy | None = None,
               logger_defs: Mapping[str, Any] | None = None) -> JobDefinition:
        """Make a runnable job of this graph, bound to resources and default config."""
        return JobDefinition(
            name=name or self.name, graph_def=self, resource_defs=resource_defs,
            config=config, tags={**self.tags, **(tags or {})},
            description=description or self.description, executor_def=executor_def,
            op_retry_policy=op_retry_policy, logger_defs=logger_defs,
        )

    def execute_in_process(self, **kwargs: Any) -> Any:
        return self.to_job().execute_in_process(**kwargs)

    def iter_ops(self) -> list[OpDefinition]:
        out: list[OpDefinition] = []
        for inv in self.nodes.values():
            if isinstance(inv.definition, GraphDefinition):
                out.extend(inv.definition.iter_ops())
            else:
                out.append(inv.definition)
        return out

    def __repr__(self) -> str:
        return f"<GraphDefinition {self.name!r} nodes={list(self.nodes)}>"


def _compose(fn: Callable[..., Any], name: str, description: str | None,
             tags: Mapping[str, str] | None, config: Any) -> GraphDefinition:
    from ._compute import analyze

    sig = analyze(fn, kind="graph", name=name)
    comp = _Composition(name, sig.input_params)
    token = _composition.set(comp)
    try:
        ret = fn(*[GraphInputHandle(n) for n in sig.input_params])
    finally:
        _composition.reset(token)
    output_map: dict[str, Any] = {}
    if ret is None:
        pass
    elif isinstance(ret, Mapping):
        for k, v in ret.items():
            output_map[k] = _edge_for(v, f"graph '{name}' output '{k}'")
    elif isinstance(ret, tuple) and hasattr(ret, "_fields"):
        for k, v in zip(ret._fields, ret):
            output_map[k] = _edge_for(v, f"graph '{name}' output '{k}'")
    else:
        output_map["result"] = _edge_for(ret, f"graph '{name}' output")
    if not comp.nodes:
        raise DefinitionError(
            f"graph '{name}' has no ops: call ops inside the function body to compose them"
        )
    return GraphDefinition(name, comp.nodes, sig.input_params, output_map,
                           description or (fn.__doc__ or "").strip() or None, tags, config)


def graph(fn: Callable[..., Any] | None = None, *, name: str | None = None,
          description: str | None = None, tags: Mapping[str, str] | None = None,
          config: Any = None) -> Any:
    """Compose ops into a graph: ``@graph`` on a function whose body calls ops."""

    def deco(f: Callable[..., Any]) -> GraphDefinition:
        from ._compute import require_function

        require_function(f, "graph")
        return _compose(f, name or f.__name__, description, tags, config)

    return deco(fn) if fn is not None else deco


def job(fn: Callable[..., Any] | None = None, *, name: str | None = None,
        resource_defs: Mapping[str, Any] | None = None, config: Any = None,
        tags: Mapping[str, str] | None = None, description: str | None = None,
        executor_def: Any = None, op_retry_policy: RetryPolicy | None = None,
        logger_defs: Mapping[str, Any] | None = None) -> Any:
    """Declare a job: ``@job`` on a function whose body calls ops."""

    def deco(f: Callable[..., Any]) -> JobDefinition:
        from ._compute import require_function

        require_function(f, "job")
        g = _compose(f, name or f.__name__, description, None, None)
        return g.to_job(resource_defs=resource_defs, config=config, tags=tags,
                        description=description, executor_def=executor_def,
                        op_retry_policy=op_retry_policy, logger_defs=logger_defs)

    return deco(fn) if fn is not None else deco


class JobDefinition:
    """A runnable job: a graph of ops (or a selection of assets), resources, default config,
    tags and an executor. ``job.execute_in_process()`` runs it and returns the result."""

    def __init__(self, name: str, *, graph_def: GraphDefinition | None = None,
                 asset_layer: Any = None, resource_defs: Mapping[str, Any] | None = None,
                 config: Any = None, tags: Mapping[str, str] | None = None,
                 description: str | None = None, executor_def: Any = None,
                 op_retry_policy: RetryPolicy | None = None,
                 logger_defs: Mapping[str, Any] | None = None,
                 partitions_def: Any = None) -> None:
        _check_name(name, "job")
        self.name = name
        self.graph_def = graph_def
        self.asset_layer = asset_layer  # set for asset jobs: an AssetJobLayer
        self.resource_defs = dict(resource_defs or {})
        self.config = config
        self.tags = dict(tags or {})
        self.description = description
        self.executor_def = executor_def
        self.op_retry_policy = op_retry_policy
        self.logger_defs = dict(logger_defs or {})
        self.partitions_def = partitions_def

    @property
    def is_asset_job(self) -> bool:
        return self.asset_layer is not None

    def execute_in_process(self, run_config: Any = None, *, resources: Mapping[str, Any] | None
                           = None, instance: Any = None, raise_on_error: bool = True,
                           tags: Mapping[str, str] | None = None,
                           op_selection: Sequence[str] | None = None,
                           partition_key: str | None = None,
                           run_id: str | None = None) -> Any:
        """Run the job in this process and return an ``ExecutionResult``.

        ``resources`` override the job's resource definitions (test doubles);
        ``raise_on_error=False`` returns a failed result instead of raising.
        """
        from .execution.api import execute_job

        return execute_job(
            self, run_config=run_config, resources=resources, instance=instance,
            raise_on_error=raise_on_error, tags=tags, op_selection=op_selection,
            partition_key=partition_key, executor="in_process", run_id=run_id,
        )

    def __repr__(self) -> str:
        return f"<JobDefinition {self.name!r}>"
