"""``orchestrator docker ...``: commands of the Docker backend."""

from __future__ import annotations

import click


@click.group(name="docker")
def docker_group() -> None:
    """Docker backend: manage containers launched by the orchestrator."""


@docker_group.command(name="cleanup")
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@click.option("--include-unknown", is_flag=True,
              help="Also remove containers whose run this instance does not know.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def cleanup(dry_run: bool, include_unknown: bool, as_json: bool) -> None:
    """Remove leftover containers of runs that are no longer running.

    Looks at every container labelled orchestrator.managed=true and removes those whose
    run is finished (SUCCESS, FAILURE, CANCELED) in this instance's run store."""
    import json

    from orchestrator.cli._common import get_instance
    from orchestrator.errors import OrchestratorError

    from .cleanup import find_leftovers, remove_leftovers

    try:
        leftovers = find_leftovers(get_instance(), include_unknown=include_unknown)
        removed = [] if dry_run else remove_leftovers(leftovers)
    except OrchestratorError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "removed": removed,
                               "containers": [x.to_dict() for x in leftovers]}, indent=2))
        return
    if not leftovers:
        click.echo("no containers labelled by the orchestrator")
        return
    for x in leftovers:
        if x.remove:
            action = "would remove" if dry_run else (
                "removed" if x.name in removed else "already gone")
        else:
            action = "kept"
        click.echo(f"{action:12} {x.name}  run {x.run_id or '-'}  ({x.reason})")
    n = sum(1 for x in leftovers if x.remove)
    click.echo(f"{n} container(s) {'would be ' if dry_run else ''}removed, "
               f"{len(leftovers) - n} kept")
