"""``orchestrator assets``: the assets of the code location(s) and what the instance knows.

::

    $ orchestrator assets list -f definitions.py [--json]
    $ orchestrator assets show total -f definitions.py [--json] [--limit 10]

Asset keys with several parts are written with ``/``: ``warehouse/orders``.
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    echo_json,
    fmt_time,
    get_instance,
    json_option,
    load_all,
    location_options,
    pop_location_args,
    stdout_console,
)

__all__ = ["assets"]


@click.group()
def assets() -> None:
    """List assets and show one asset's details and history."""


def asset_rows(instance: Any, loaded: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """One row per asset: key, location, group, description, latest materialization."""
    keys = [k for _, defs in loaded for k in defs.asset_graph.all_keys]
    records = {r.asset_key: r for r in instance.run_storage.get_asset_records(keys)} \
        if keys else {}
    rows = []
    for origin, defs in loaded:
        graph = defs.asset_graph
        for key in sorted(graph.all_keys, key=lambda k: k.to_user_string()):
            spec = graph.spec_by_key[key]
            rec = records.get(key)
            last = rec.last_materialization if rec is not None else None
            rows.append({
                "key": key.to_user_string(),
                "location": origin.name,
                "group": graph.group_of(key),
                "description": spec.description,
                "external": graph.is_external(key),
                "checks": [ck.name for ck, _ in graph.checks_by_asset.get(key, [])],
                "last_materialization": last.timestamp if last is not None else None,
                "last_run_id": rec.last_run_id if rec is not None else None,
                "materialization_count": rec.materialization_count if rec is not None else 0,
            })
    return rows


@assets.command(name="list")
@json_option
@location_options
def list_assets(as_json: bool, **kwargs: Any) -> None:
    """List assets with group, description and latest materialization."""
    loaded = load_all(pop_location_args(kwargs))
    rows = asset_rows(get_instance(), loaded)
    if as_json:
        echo_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    several = len(loaded) > 1
    table = Table(title="Assets")
    cols = (["Location"] if several else []) + ["Key", "Group", "Description",
                                                 "Last materialized", "Run"]
    for col in cols:
        table.add_column(col, overflow="fold")
    for r in rows:
        desc = (r["description"] or "").strip().splitlines()
        cells = [escape(r["key"] + (" (external)" if r["external"] else "")), r["group"],
                 escape(desc[0]) if desc else "", fmt_time(r["last_materialization"]),
                 r["last_run_id"] or "-"]
        table.add_row(*(([r["location"]] if several else []) + cells))
    if not rows:
        table.add_row(*(["(none)"] + [""] * (len(cols) - 1)))
    stdout_console().print(table)


def asset_details(instance: Any, origin: Any, defs: Any, key: Any,
                  limit: int) -> dict[str, Any]:
    graph = defs.asset_graph
    spec = graph.spec_by_key[key]
    storage = instance.run_storage
    latest_checks = {c.check_name: c.event for c in storage.get_latest_check_evaluations(key)}
    checks = []
    for ck, cs in graph.checks_by_asset.get(key, []):
        ev = latest_checks.get(ck.name)
        checks.append({
            "name": ck.name,
            "description": getattr(cs, "description", None),
            "blocking": bool(getattr(cs, "blocking", False)),
            "last_passed": ev.data.get("passed") if ev is not None else None,
            "last_severity": ev.data.get("severity") if ev is not None else None,
            "last_run_id": ev.run_id if ev is not None else None,
            "last_evaluated": ev.timestamp if ev is not None else None,
        })
    history = [{"run_id": ev.run_id, "timestamp": ev.timestamp, "partition": ev.partition,
                "metadata": ev.metadata}
               for ev in storage.get_materializations(key, limit=limit)]
    return {
        "key": key.to_user_string(),
        "location": origin.name,
        "group": graph.group_of(key),
        "description": spec.description,
        "external": graph.is_external(key),
        "code_version": spec.code_version,
        "kinds": sorted(spec.kinds),
        "owners": list(spec.owners),
        "tags": dict(spec.tags),
        "metadata": {k: str(v) for k, v in dict(spec.metadata).items()},
        "deps": sorted(k.to_user_string() for k in graph.parents.get(key, [])),
        "dependents": sorted(k.to_user_string() for k in graph.children.get(key, [])),
        "status": storage.get_asset_status(key),
        "checks": checks,
        "history": history,
    }


@assets.command(name="show")
@click.argument("key")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="Materializations to show.")
@json_option
@location_options
def show_asset(key: str, limit: int, as_json: bool, **kwargs: Any) -> None:
    """Show an asset: spec, dependencies, checks and materialization history."""
    from orchestrator.asset_key import AssetKey
    from orchestrator.errors import DefinitionError

    loaded = load_all(pop_location_args(kwargs))
    akey = AssetKey.from_user_string(key)
    found = [(o, d) for o, d in loaded if d.asset_graph.has(akey)]
    if not found:
        import difflib

        names = [k.to_user_string() for _, d in loaded for k in d.asset_graph.all_keys]
        close = difflib.get_close_matches(key, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DefinitionError(f"no asset '{key}' in code location(s) "
                              f"{', '.join(o.name for o, _ in loaded)}{hint}; list them with "
                              f"`orchestrator assets list`")
    origin, defs = found[0]
    info = asset_details(get_instance(), origin, defs, akey, limit)
    if as_json:
        echo_json(info)
        return
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console()
    console.print(f"[bold]{escape(info['key'])}[/]  (location {info['location']}, group "
                  f"{info['group']}{', external' if info['external'] else ''})  status "
                  f"{info['status']}")
    if info["description"]:
        console.print(info["description"].strip(), markup=False)
    for label, field in (("code version", "code_version"), ("kinds", "kinds"),
                         ("owners", "owners"), ("tags", "tags"), ("metadata", "metadata")):
        if info[field]:
            console.print(f"{label}: {info[field]}", markup=False)
    console.print(f"upstream: {', '.join(info['deps']) or '-'}", markup=False)
    console.print(f"downstream: {', '.join(info['dependents']) or '-'}", markup=False)
    if info["checks"]:
        checks = Table(title="Checks")
        for col in ("Check", "Blocking", "Last result", "Run", "Evaluated"):
            checks.add_column(col)
        for c in info["checks"]:
            result = "-" if c["last_passed"] is None else (
                "[green]passed[/]" if c["last_passed"] else f"[red]failed[/] "
                f"({c['last_severity']})")
            checks.add_row(escape(c["name"]), "yes" if c["blocking"] else "no", result,
                           c["last_run_id"] or "-", fmt_time(c["last_evaluated"]))
        console.print(checks)
    history = Table(title="Materializations (newest first)")
    for col in ("Time", "Run", "Partition", "Metadata"):
        history.add_column(col, overflow="fold")
    for h in info["history"]:
        meta = escape(", ".join(f"{k}={v}" for k, v in h["metadata"].items()))
        history.add_row(fmt_time(h["timestamp"]), h["run_id"], h["partition"] or "-", meta)
    if not info["history"]:
        history.add_row("(never materialized)", "", "", "")
    console.print(history)


# `assets partitions KEY` lives in partitions_cmd (owned with the partitions feature)
def _add_partitions_command() -> None:
    from .partitions_cmd import partitions

    assets.add_command(partitions, name="partitions")


_add_partitions_command()
