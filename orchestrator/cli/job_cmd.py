"""``orchestrator job``: list the jobs of a code location, execute one.

::

    $ orchestrator job list -f definitions.py [--json]
    $ orchestrator job execute nightly -f definitions.py --config run.yaml --tags team=data
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    check_partition_args,
    config_option,
    echo_json,
    execute_job_and_report,
    json_option,
    load_all,
    load_one,
    location_options,
    parse_tags,
    partition_options,
    pop_location_args,
    stdout_console,
    tags_option,
)

__all__ = ["job"]


@click.group()
def job() -> None:
    """List and execute jobs."""


def job_rows(origin: Any, defs: Any) -> list[dict[str, Any]]:
    from orchestrator.definitions import UnresolvedAssetJobDefinition

    rows = []
    for j in defs.jobs:
        kind = "assets" if isinstance(j, UnresolvedAssetJobDefinition) or getattr(
            j, "asset_layer", None) is not None else "ops"
        rows.append({"location": origin.name, "name": j.name, "kind": kind,
                     "description": getattr(j, "description", None),
                     "selection": repr(j.selection) if isinstance(
                         j, UnresolvedAssetJobDefinition) else None,
                     "tags": dict(getattr(j, "tags", {}) or {})})
    return rows


@job.command(name="list")
@json_option
@location_options
def list_jobs(as_json: bool, **kwargs: Any) -> None:
    """List the jobs of the code location(s)."""
    rows = [r for origin, defs in load_all(pop_location_args(kwargs))
            for r in job_rows(origin, defs)]
    if as_json:
        echo_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Jobs")
    for col in ("Location", "Job", "Kind", "Description"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r["location"]), escape(r["name"]), r["kind"],
                      escape(r["description"] or ""))
    if not rows:
        table.add_row("(none)", "", "", "")
    stdout_console().print(table)


@job.command(name="execute")
@click.argument("name")
@config_option
@tags_option
@partition_options
@json_option
@location_options
@click.pass_context
def execute(ctx: click.Context, name: str, config_file: str | None, tags: tuple[str, ...],
            partition: str | None, partition_range: str | None, as_json: bool,
            **kwargs: Any) -> None:
    """Execute the job NAME in this process."""
    user_tags = parse_tags(tags)
    check_partition_args(partition, partition_range)
    origin, defs = load_one(pop_location_args(kwargs))
    job_def = defs.get_job_def(name)
    execute_job_and_report(ctx, job_def, origin=origin, config_file=config_file, tags=user_tags,
                           partition=partition, partition_range=partition_range,
                           as_json=as_json, what=name)
