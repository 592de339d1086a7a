"""``orchestrator definitions``: validate and summarise code locations.

::

    $ orchestrator definitions validate -f definitions.py     # every problem at once; exit 1 if any
    $ orchestrator definitions validate -w workspace.yaml --json
    $ orchestrator definitions show -f definitions.py [--json]
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    echo_json,
    json_option,
    location_options,
    origins_from,
    pop_location_args,
    stdout_console,
)

__all__ = ["definitions", "validate_locations"]


@click.group()
def definitions() -> None:
    """Validate and show the definitions of code locations."""


def validate_locations(origins: list[Any]) -> list[dict[str, Any]]:
    """For each origin: its name, pointer and every problem (an import failure is one)."""
    from orchestrator.code_location import CodeLocationError

    out = []
    for origin in origins:
        try:
            problems = origin.load().problems()
        except CodeLocationError as exc:
            problems = [str(exc)]
        out.append({"location": origin.name, "pointer": origin.pointer, "problems": problems})
    return out


def _selected(args: dict[str, Any]) -> list[Any]:
    from orchestrator.code_location import select_origin

    origins = origins_from(args)
    return [select_origin(origins, args["location"])] if args.get("location") else origins


@definitions.command(name="validate")
@json_option
@location_options
@click.pass_context
def validate(ctx: click.Context, as_json: bool, **kwargs: Any) -> None:
    """Check the definitions and report every problem at once (exit 1 if any)."""
    results = validate_locations(_selected(pop_location_args(kwargs)))
    total = sum(len(r["problems"]) for r in results)
    if as_json:
        echo_json({"ok": total == 0, "problem_count": total, "locations": results})
    else:
        for r in results:
            if not r["problems"]:
                click.echo(f"OK    {r['location']}: no problems")
                continue
            n = len(r["problems"])
            click.echo(f"FAIL  {r['location']}: {n} problem{'s' if n > 1 else ''}")
            for p in r["problems"]:
                lines = p.splitlines() or [""]
                click.echo(f"  - {lines[0]}")
                for line in lines[1:]:
                    click.echo(f"    {line}")
        if total:
            click.echo(f"{total} problem{'s' if total > 1 else ''} found.", err=True)
    ctx.exit(1 if total else 0)


def summarize(origin: Any, defs: Any) -> dict[str, Any]:
    graph = defs.asset_graph
    return {
        "location": origin.name,
        "pointer": origin.pointer,
        "assets": sorted(k.to_user_string() for k in graph.all_keys),
        "asset_checks": sorted(ck.to_user_string() for cks in graph.checks_by_asset.values()
                               for ck, _ in cks),
        "jobs": [j.name for j in defs.jobs],
        "schedules": [getattr(s, "name", repr(s)) for s in defs.schedules],
        "sensors": [getattr(s, "name", repr(s)) for s in defs.sensors],
        "resources": sorted(defs.resources),
        "loggers": sorted(defs.loggers),
        "executor": getattr(defs.executor, "name", None),
    }


@definitions.command(name="show")
@json_option
@location_options
def show(as_json: bool, **kwargs: Any) -> None:
    """Summarise what each code location defines."""
    summaries = [summarize(o, o.load()) for o in _selected(pop_location_args(kwargs))]
    if as_json:
        echo_json(summaries)
        return
    console = stdout_console()
    for s in summaries:
        console.print(f"[bold]{s['location']}[/]  ({s['pointer']})")
        for field in ("assets", "asset_checks", "jobs", "schedules", "sensors", "resources",
                      "loggers"):
            console.print(f"  {field}: {', '.join(s[field]) or '-'}", markup=False)
        console.print(f"  executor: {s['executor'] or 'in_process (default)'}", markup=False)
