"""``orchestrator assets partitions KEY``: each partition of an asset and its status.

::

    $ orchestrator assets partitions events -f defs.py
    $ orchestrator assets partitions events -f defs.py --status missing,failed --json
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    echo_json,
    get_instance,
    json_option,
    load_one,
    location_options,
    pop_location_args,
    stdout_console,
)

__all__ = ["partition_rows", "partitions"]

STYLE = {"MATERIALIZED": "green", "FAILED": "red", "MATERIALIZING": "cyan", "MISSING": "dim"}


def partition_rows(instance: Any, assets_def: Any, key: Any) -> list[dict[str, Any]]:
    """``[{"partition", "status"}]`` for every partition of the asset, in order."""
    from orchestrator.errors import DefinitionError
    from orchestrator.storage.base import PartitionStatus

    pdef = assets_def.partitions_def
    if pdef is None:
        raise DefinitionError(f"asset '{key.to_user_string()}' is not partitioned; "
                              f"`orchestrator assets show` gives its status")
    seen = instance.run_storage.get_partition_status(key)
    return [{"partition": str(k), "status": seen.get(str(k), PartitionStatus.MISSING)}
            for k in pdef.get_partition_keys()]


@click.command(name="partitions")
@click.argument("asset_key")
@click.option("--status", "status_filter", metavar="S1,S2",
              help="Only these statuses (materialized, failed, materializing, missing).")
@json_option
@location_options
def partitions(asset_key: str, status_filter: str | None, as_json: bool,
               **kwargs: Any) -> None:
    """Show the partitions of ASSET_KEY with their status in the run store."""
    from orchestrator.asset_key import AssetKey

    _, defs = load_one(pop_location_args(kwargs))
    key = AssetKey.from_user_string(asset_key)
    rows = partition_rows(get_instance(), defs.get_assets_def(key), key)
    if status_filter:
        wanted = {s.strip().upper() for s in status_filter.split(",")}
        rows = [r for r in rows if r["status"] in wanted]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    if as_json:
        echo_json({"asset_key": key.to_user_string(), "counts": counts, "partitions": rows})
        return
    from rich.table import Table

    summary = ", ".join(f"{k.lower()}: {v}" for k, v in sorted(counts.items()))
    table = Table(title=f"Partitions of {key.to_user_string()} ({summary or 'none'})")
    table.add_column("Partition")
    table.add_column("Status")
    for r in rows:
        table.add_row(r["partition"], f"[{STYLE.get(r['status'], '')}]{r['status']}[/]")
    stdout_console().print(table)
