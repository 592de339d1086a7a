"""``orchestrator materialize``: run a selection of assets in this process.

::

    $ orchestrator materialize -f definitions.py --select '*'
    $ orchestrator materialize -m my_pkg.defs --select '+continent_stats' --config run.yaml \\
          --tags team=data --partition 2024-01-01

The run is recorded in the persistent instance (``$ORCHESTRATOR_HOME``); the command prints
the run id and exits 0 on success, 1 on failure.
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    check_partition_args,
    config_option,
    execute_job_and_report,
    json_option,
    load_one,
    location_options,
    parse_tags,
    partition_options,
    pop_location_args,
    tags_option,
)

__all__ = ["materialize"]


@click.command()
@click.option("-s", "--select", "selection", required=True, metavar="SELECTION",
              help="Assets to materialize: '*' (all), 'name', '+name' (with upstream), "
                   "'name*' (with downstream), 'group:finance', 'a,b'.")
@config_option
@tags_option
@partition_options
@json_option
@location_options
@click.pass_context
def materialize(ctx: click.Context, selection: str, config_file: str | None,
                tags: tuple[str, ...], partition: str | None,
                partition_range: str | None, as_json: bool,
                **kwargs: Any) -> None:
    """Materialize a selection of assets in this process."""
    user_tags = parse_tags(tags)
    check_partition_args(partition, partition_range)
    origin, defs = load_one(pop_location_args(kwargs))
    job = defs.asset_job(selection)
    execute_job_and_report(ctx, job, origin=origin, config_file=config_file, tags=user_tags,
                           partition=partition, partition_range=partition_range,
                           as_json=as_json, what="materialize")
