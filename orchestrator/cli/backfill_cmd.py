"""``orchestrator backfill``: launch, list, show, cancel and resume backfills.

::

    $ orchestrator backfill launch --select 'events daily_stats' --from 2024-01-01 \\
          --to 2024-01-31 --missing --max-concurrent 4 -f defs.py
    $ orchestrator backfill launch --job nightly --partitions eu,us -f defs.py
    $ orchestrator backfill list
    $ orchestrator backfill show 3f2a9c1e
    $ orchestrator backfill cancel 3f2a9c1e
    $ orchestrator backfill resume 3f2a9c1e     # re-run what did not succeed

A running ``orchestrator daemon`` submits and starts the runs.
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    echo_json,
    fmt_time,
    get_instance,
    json_option,
    load_one,
    location_options,
    pop_location_args,
    stdout_console,
)

__all__ = ["backfill"]


@click.group()
def backfill() -> None:
    """Launch, list, show, cancel and resume backfills."""


def _summary(rec: Any, instance: Any) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for status in rec.partition_statuses(instance).values():
        counts[status] = counts.get(status, 0) + 1
    return {"backfill_id": rec.backfill_id, "status": rec.status, "job_name": rec.job_name,
            "asset_selection": rec.asset_selection, "partitions": len(rec.partition_keys),
            "runs": len(rec.chunks), "partition_status_counts": counts,
            "created_at": rec.created_at, "ended_at": rec.ended_at}


@backfill.command(name="launch")
@click.option("--job", "job_name", metavar="NAME", help="A partitioned job to backfill.")
@click.option("--select", "selection", metavar="SELECTION",
              help="Assets to backfill (asset selection syntax, e.g. 'events+' or 'a b').")
@click.option("--partitions", metavar="K1,K2,...", help="Comma-separated partition keys.")
@click.option("--from", "start", metavar="KEY", help="First partition of a range.")
@click.option("--to", "end", metavar="KEY", help="Last partition of a range (inclusive).")
@click.option("--all", "all_partitions", is_flag=True, help="Every partition.")
@click.option("--missing", is_flag=True, help="Only partitions not materialized (or failed).")
@click.option("--failed", is_flag=True, help="Only partitions whose last attempt failed.")
@click.option("--max-concurrent", type=int, default=None,
              help="At most this many of the backfill's runs at once.")
@click.option("--single-run", is_flag=True,
              help="One run per contiguous range, whatever the assets' backfill policies.")
@json_option
@location_options
def launch(job_name: str | None, selection: str | None, partitions: str | None,
           start: str | None, end: str | None, all_partitions: bool, missing: bool,
           failed: bool, max_concurrent: int | None, single_run: bool, as_json: bool,
           **kwargs: Any) -> None:
    """Record a backfill; the daemon runs it."""
    from orchestrator.backfill import launch_backfill
    from orchestrator.daemon import LoadedLocation
    from orchestrator.partitions import BackfillPolicy

    if (start is None) != (end is None):
        raise click.UsageError("give both --from and --to")
    origin, defs = load_one(pop_location_args(kwargs))
    asset_selection = None
    if selection is not None:
        from orchestrator.assets.selection import AssetSelection

        keys = AssetSelection.from_coercible(selection).resolve(defs.asset_graph)
        asset_selection = sorted(keys, key=lambda k: k.parts)
    instance = get_instance()
    rec = launch_backfill(
        instance, LoadedLocation(origin.name, defs, origin.pointer), job_name=job_name,
        asset_selection=asset_selection,
        partition_keys=[p.strip() for p in partitions.split(",") if p.strip()]
        if partitions else None,
        partition_range=(start, end) if start is not None else None,
        all_partitions=all_partitions, only_missing=missing, only_failed=failed,
        max_concurrent_runs=max_concurrent,
        backfill_policy=BackfillPolicy.single_run() if single_run else None)
    if as_json:
        echo_json(_summary(rec, instance))
        return
    click.echo(f"backfill {rec.backfill_id}: {len(rec.partition_keys)} partition(s) in "
               f"{len(rec.chunks)} run(s) ({rec.status}); a running `orchestrator daemon` "
               f"starts them")


@backfill.command(name="list")
@json_option
def list_cmd(as_json: bool) -> None:
    """List backfills, newest first."""
    from orchestrator.backfill import get_backfills

    instance = get_instance()
    rows = [_summary(r, instance) for r in get_backfills(instance)]
    if as_json:
        echo_json(rows)
        return
    from rich.table import Table

    table = Table(title="Backfills")
    for c in ("ID", "Status", "Target", "Partitions", "Runs", "Progress", "Created"):
        table.add_column(c)
    for r in rows:
        target = r["job_name"] if r["job_name"] != "__asset_backfill__" else \
            " ".join(r["asset_selection"] or [])
        progress = ", ".join(f"{k}: {v}" for k, v in sorted(r["partition_status_counts"].items()))
        table.add_row(r["backfill_id"], r["status"], target, str(r["partitions"]),
                      str(r["runs"]), progress, fmt_time(r["created_at"]))
    if not rows:
        table.add_row("(none)", "", "", "", "", "", "")
    stdout_console().print(table)


@backfill.command(name="show")
@click.argument("backfill_id")
@json_option
def show(backfill_id: str, as_json: bool) -> None:
    """Show a backfill: each partition's run and status."""
    from orchestrator.backfill import get_backfill

    instance = get_instance()
    rec = get_backfill(instance, backfill_id)
    statuses = rec.chunk_statuses(instance)
    if as_json:
        echo_json({**_summary(rec, instance),
                   "chunks": [{"partitions": c, "run_id": rec.runs.get(c), "status": s}
                              for c, s in statuses.items()]})
        return
    from rich.table import Table

    s = _summary(rec, instance)
    table = Table(title=f"Backfill {rec.backfill_id}: {rec.status} ({s['partitions']} "
                        f"partitions, {s['runs']} runs)")
    for c in ("Partitions", "Run", "Status"):
        table.add_column(c)
    for chunk, status in statuses.items():
        table.add_row(chunk, (rec.runs.get(chunk) or "-")[:8], status)
    stdout_console().print(table)


@backfill.command(name="cancel")
@click.argument("backfill_id")
def cancel(backfill_id: str) -> None:
    """Cancel a backfill: queued runs are canceled, started ones asked to stop."""
    from orchestrator.backfill import cancel_backfill

    rec = cancel_backfill(get_instance(), backfill_id)
    click.echo(f"backfill {backfill_id}: {rec.status}")


@backfill.command(name="resume")
@click.argument("backfill_id")
def resume(backfill_id: str) -> None:
    """Run again the partitions of a finished or canceled backfill that did not succeed."""
    from orchestrator.backfill import resume_backfill

    rec = resume_backfill(get_instance(), backfill_id)
    click.echo(f"backfill {backfill_id}: {rec.status} (attempt {rec.attempt + 1})")
