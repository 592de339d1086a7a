"""``orchestrator config schema``: the run config a job or a selection accepts.

::

    $ orchestrator config schema my_job -f definitions.py          # YAML
    $ orchestrator config schema --select 'group:finance' -f definitions.py --json

Each op/asset and resource that takes config is listed with its fields' types, descriptions
and defaults (``orchestrator.config.config_schema_doc``); a run config file has the same
shape (``ops: {name: {config: ...}}, resources: {name: {config: ...}}``).
"""

from __future__ import annotations

import json
from typing import Any

import click

from ._common import json_option, load_one, location_options, pop_location_args

__all__ = ["config", "run_config_schema"]


@click.group()
def config() -> None:
    """Show the run config schemas of jobs."""


def _has_config(schema: Any) -> bool:
    from orchestrator.config import NO_CONFIG

    return schema is not None and schema is not NO_CONFIG


def run_config_schema(job: Any) -> dict[str, Any]:
    """``{"ops": {...}, "resources": {...}}`` describing the config ``job`` accepts."""
    from orchestrator.config import config_schema_doc
    from orchestrator.execution.plan import build_asset_plan, build_graph_plan
    from orchestrator.resources import resource_config_schema

    layer = getattr(job, "asset_layer", None)
    if layer is not None:
        plan = build_asset_plan(layer.asset_graph, layer.selected_keys, layer.selected_checks,
                                job.name, job.tags)
    else:
        plan = build_graph_plan(job)
    ops: dict[str, Any] = {}
    for step in list(plan.steps.values()) + list(plan.templates.values()):
        schema = step.op.config_schema
        if not _has_config(schema):
            continue
        *graphs, name = step.handle.split(".")
        node = ops
        for g in graphs:  # nested graphs: ops: {g: {ops: {inner: ...}}}
            node = node.setdefault(g, {}).setdefault("ops", {})
        node[name] = {"config": config_schema_doc(schema)}
    resources: dict[str, Any] = {}
    for key, value in sorted(job.resource_defs.items()):
        schema = resource_config_schema(value)
        if _has_config(schema):
            doc = config_schema_doc(schema)
            if doc:
                resources[key] = {"config": doc}
    return {"job": job.name, "ops": ops, "resources": resources}


@config.command(name="schema")
@click.argument("job_name", required=False, metavar="[JOB]")
@click.option("-s", "--select", "selection", metavar="SELECTION",
              help="An asset selection instead of a job (as for materialize).")
@json_option
@location_options
def schema(job_name: str | None, selection: str | None, as_json: bool, **kwargs: Any) -> None:
    """Print the run config schema of JOB (or of --select SELECTION)."""
    if bool(job_name) == bool(selection):
        raise click.UsageError("give either a JOB name or --select SELECTION (not both); "
                               "list jobs with `orchestrator job list`")
    _origin, defs = load_one(pop_location_args(kwargs))
    job = defs.get_job_def(job_name) if job_name else defs.asset_job(selection)
    doc = json.loads(json.dumps(run_config_schema(job), default=str))
    if job_name is None:
        doc["job"] = None
        doc["selection"] = selection
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    import yaml

    click.echo(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).rstrip())
