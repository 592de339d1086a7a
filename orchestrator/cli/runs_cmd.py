"""``orchestrator runs``: list, show, follow, re-execute and cancel runs.

::

    $ orchestrator runs list --status FAILURE --job nightly --limit 5 [--json]
    $ orchestrator runs show RUN_ID [--json] [--follow]
    $ orchestrator runs reexecute RUN_ID --from-failure     # code from the run's record
    $ orchestrator runs cancel RUN_ID
    $ orchestrator runs list --orphaned       # STARTED runs whose process is gone
    $ orchestrator runs resume RUN_ID         # finish such a run in this process

Run ids may be abbreviated to a unique prefix (as printed by ``runs list``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from ._common import (
    STATUS_STYLE,
    config_option,
    echo_json,
    execute_and_report,
    fmt_duration,
    fmt_time,
    get_instance,
    job_label,
    json_option,
    location_options,
    parse_tags,
    pop_location_args,
    stdout_console,
    tags_option,
)

__all__ = ["runs"]

_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING", "SUCCESS", "FAILURE",
             "CANCELED")


@click.group()
def runs() -> None:
    """List, show, re-execute and cancel runs."""


def find_run(instance: Any, run_id: str) -> Any:
    """The run with this id or unique id prefix (OrchestratorError otherwise)."""
    from orchestrator.errors import OrchestratorError

    run = instance.run_storage.get_run(run_id)
    if run is not None:
        return run
    if len(run_id) >= 4:
        matches = [r for r in instance.run_storage.get_runs() if r.run_id.startswith(run_id)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise OrchestratorError(
                f"run id prefix {run_id!r} matches {len(matches)} runs "
                f"({', '.join(r.run_id for r in matches[:5])}); give more characters")
    raise OrchestratorError(f"no run {run_id!r} in the instance at {instance.home}; list runs "
                            f"with `orchestrator runs list` (set ORCHESTRATOR_HOME if the run "
                            f"was made elsewhere)")


# -- list ---------------------------------------------------------------------------------
@runs.command(name="list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(_STATUSES, case_sensitive=False),
              help="Only runs with this status (repeatable).")
@click.option("--job", "job_name", metavar="NAME", help="Only runs of this job.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE",
              help="Only runs with this tag (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most this many runs, newest first.")
@click.option("--orphaned", is_flag=True,
              help="Only unfinished runs whose process is gone (resume them with `runs "
                   "resume`, or mark them with `runs cancel`).")
@json_option
def list_runs(statuses: tuple[str, ...], job_name: str | None, tags: tuple[str, ...],
              limit: int, orphaned: bool, as_json: bool) -> None:
    """List runs, newest first."""
    from orchestrator.events import RunStatus

    instance = get_instance()
    records = instance.run_storage.get_runs(
        statuses=[RunStatus(s.upper()) for s in statuses] or None, job_name=job_name,
        tags=parse_tags(tags) or None, limit=None if orphaned else limit)
    if orphaned:
        from orchestrator.execution.resume import orphaned_runs

        ids = {r.run_id for r in orphaned_runs(instance)}
        records = [r for r in records if r.run_id in ids][:limit]
    if as_json:
        echo_json([r.to_dict() for r in records])
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Runs ({instance.home})")
    for col in ("Run", "Job", "Status", "Created", "Duration", "Tags"):
        table.add_column(col, no_wrap=col in ("Run", "Created"))
    for r in records:
        shown_tags = ", ".join(f"{k}={v}" for k, v in r.tags.items()
                               if not k.startswith("orchestrator/"))
        table.add_row(r.run_id, escape(job_label(r)),
                      f"[{STATUS_STYLE.get(r.status.value, '')}]{r.status.value}[/]",
                      fmt_time(r.created_at), fmt_duration(r.started_at, r.ended_at),
                      escape(shown_tags))
    if not records:
        table.add_row("(none)", "", "", "", "", "")
    stdout_console().print(table)


# -- show ---------------------------------------------------------------------------------
def _print_events(events: list[Any], color: bool) -> None:
    from orchestrator.execution.log import ConsoleRenderer, format_event

    renderer = ConsoleRenderer(level="DEBUG")
    lines = [format_event(ev, renderer.effective_level(ev), color) for ev in events]
    if lines:
        click.echo("\n".join(lines))


@runs.command(name="show")
@click.argument("run_id")
@json_option
@click.option("--follow", is_flag=True,
              help="Keep printing new events until the run ends (like tail -f).")
@click.option("--poll", type=click.FloatRange(min=0.01), default=0.25, show_default=True,
              hidden=True, help="Seconds between polls with --follow.")
def show(run_id: str, as_json: bool, follow: bool, poll: float) -> None:
    """Show a run and its events, one line each (with step and asset)."""
    import sys

    from orchestrator.execution.cancel import run_process_alive

    instance = get_instance()
    run = find_run(instance, run_id)
    storage = instance.run_storage
    events = storage.get_events(run.run_id)
    if as_json and not follow:
        echo_json({"run": run.to_dict(), "events": [e.to_dict() for e in events]})
        return
    color = sys.stdout.isatty()
    if not as_json:
        click.echo(f"Run {run.run_id}  job {job_label(run)}  status {run.status.value}  "
                   f"created {fmt_time(run.created_at)}")
        if run.parent_run_id:
            click.echo(f"  re-execution of {run.parent_run_id}")
        if run.code_location:
            click.echo(f"  code location {run.code_location}")
    def emit(evs: list[Any]) -> None:
        if as_json:  # JSON lines: one event per line
            for e in evs:
                click.echo(json.dumps(e.to_dict(), default=str))
        else:
            _print_events(evs, color)

    emit(events)
    if not follow:
        return
    cursor = events[-1].storage_id if events else None
    gone_checks = 0
    while True:
        current = storage.get_run(run.run_id)
        new = storage.get_events(run.run_id, after=cursor)
        if new:
            emit(new)
            cursor = new[-1].storage_id
        if current is None or current.status.is_finished:
            # a last look for events stored together with the final status
            rest = storage.get_events(run.run_id, after=cursor)
            emit(rest)
            break
        if run_process_alive(current) is False:
            gone_checks += 1
            if gone_checks >= 3:
                click.echo(f"Run {run.run_id} is {current.status.value} but its process "
                           f"(pid {current.tags.get('orchestrator/pid')}) is gone; mark it "
                           f"with `orchestrator runs cancel {run.run_id}`", err=True)
                raise SystemExit(1)
        time.sleep(poll)
    final = storage.get_run(run.run_id)
    if not as_json and final is not None:
        click.echo(f"Run {final.run_id} ended: {final.status.value}")


# -- reexecute ------------------------------------------------------------------------------
@runs.command(name="reexecute")
@click.argument("run_id")
@click.option("--from-failure", is_flag=True,
              help="Only the failed, skipped and never-run steps (outputs of steps that "
                   "succeeded are reused). Without it every step runs again.")
@config_option
@tags_option
@json_option
@location_options
@click.pass_context
def reexecute(ctx: click.Context, run_id: str, from_failure: bool, config_file: str | None,
              tags: tuple[str, ...], as_json: bool, **kwargs: Any) -> None:
    """Run RUN_ID again, loading the code from where the run recorded it (or -f/-m/-w)."""
    from orchestrator.code_location import CodeLocationError, CodeLocationOrigin, select_origin
    from orchestrator.execution.api import EPHEMERAL_ASSET_JOB, reexecute_run

    from ._common import origins_from

    user_tags = parse_tags(tags)
    instance = get_instance()
    parent = find_run(instance, run_id)
    loc = pop_location_args(kwargs)
    if any(loc[k] for k in ("python_file", "module_name", "workspace")):
        origin = select_origin(origins_from(loc), loc.get("location"))
    elif parent.code_location:
        origin = CodeLocationOrigin.from_pointer(parent.code_location)
    else:
        raise CodeLocationError(
            f"run {parent.run_id} records no code location (it was not started from the "
            f"command line); pass -f path/to/file.py or -m package.module")
    try:
        defs = origin.load()
    except CodeLocationError as exc:
        if not parent.code_location or any(loc[k] for k in ("python_file", "module_name",
                                                            "workspace")):
            raise
        raise CodeLocationError(
            f"{exc}\n(the code location {parent.code_location!r} is the one run "
            f"{parent.run_id} recorded; if the code moved, pass -f or -m to load it from "
            f"where it is now)", location=exc.location,
            user_traceback=exc.user_traceback) from None
    if parent.job_name == EPHEMERAL_ASSET_JOB:
        from orchestrator.asset_key import AssetKey

        keys = [AssetKey.from_user_string(k) for k in parent.asset_selection or []]
        job_def = defs.asset_job(keys)
    else:
        job_def = defs.get_job_def(parent.job_name)
    ranged = bool(parent.partition and "..." in parent.partition)
    partition = {"partition_key_range": parent.partition} if ranged else {
        "partition_key": parent.partition}

    def run(**extra: Any) -> Any:
        return reexecute_run(extra["instance"], parent.run_id, job_def,
                             from_failure=from_failure, run_config=config_file,
                             tags={**user_tags, **extra["tags"]}, **partition,
                             log_level=extra["log_level"], code_location=origin.pointer,
                             extra_sinks=extra["extra_sinks"])

    execute_and_report(ctx, run, as_json=as_json, what=f"re-execute {parent.run_id[:8]}")


# -- cancel ---------------------------------------------------------------------------------
@runs.command(name="cancel")
@click.argument("run_id")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until the run has stopped.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait with --wait.")
@click.option("--force", is_flag=True,
              help="Mark a started run that records no process CANCELED anyway.")
def cancel(run_id: str, wait: bool, timeout: float, force: bool) -> None:
    """Cancel a running run: mark it CANCELING and send SIGTERM to its process."""
    from orchestrator.execution.cancel import cancel_run, wait_for_run_end

    instance = get_instance()
    run = find_run(instance, run_id)
    outcome = cancel_run(instance, run.run_id, reason="orchestrator runs cancel", force=force)
    if outcome == "marked_canceled":
        last = instance.run_storage.get_events(run.run_id)[-1:]
        detail = last[0].message.split("; ", 1)[-1] if last else ""
        click.echo(f"Run {run.run_id} CANCELED (no process was executing it: {detail}).")
        return
    pid = run.tags.get("orchestrator/pid")
    if not wait:
        click.echo(f"Run {run.run_id} CANCELING (SIGTERM sent to pid {pid}).")
        return
    final = wait_for_run_end(instance, run.run_id, timeout=timeout)
    if final is None:
        click.echo(f"Run {run.run_id} is still CANCELING after {timeout:g}s (SIGTERM sent to "
                   f"pid {pid}); check it with `orchestrator runs show {run.run_id}`", err=True)
        raise SystemExit(1)
    click.echo(f"Run {run.run_id} {final.status.value}.")


# -- resume ---------------------------------------------------------------------------------
@runs.command(name="resume")
@click.argument("run_id")
@click.option("--force", is_flag=True,
              help="Resume a started run that records no process (make sure nothing runs it).")
@click.option("--grace-period", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds between SIGTERM and SIGKILL for reattached external work when "
                   "this command is interrupted.")
@json_option
@location_options
@click.pass_context
def resume(ctx: click.Context, run_id: str, force: bool, grace_period: float, as_json: bool,
           **kwargs: Any) -> None:
    """Finish RUN_ID after the process executing it died: collect its still-running
    external work, then run the rest of its plan (code from the run's record, or -f/-m/-w)."""
    from orchestrator.execution.resume import job_from_definitions, resume_run

    from ._common import load_one

    instance = get_instance()
    run = find_run(instance, run_id)
    loc = pop_location_args(kwargs)
    job = None
    if any(loc[k] for k in ("python_file", "module_name", "workspace")):
        job = job_from_definitions(load_one(loc)[1], run)

    def go(**extra: Any) -> Any:
        return resume_run(extra["instance"], run.run_id, job, force=force,
                          termination_grace_period=grace_period,
                          log_level=extra["log_level"], extra_sinks=extra["extra_sinks"])

    execute_and_report(ctx, go, as_json=as_json, what=f"resume {run.run_id[:8]}")
