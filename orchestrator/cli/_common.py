"""Shared pieces of the CLI commands: code location options, output helpers, running a job.

Kept import-light: rich and the core are imported inside functions.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from orchestrator.code_location import CodeLocationOrigin
    from orchestrator.definitions import Definitions
    from orchestrator.events import RunRecord

F = TypeVar("F", bound=Callable[..., Any])

LOCATION_KEYS = ("python_file", "module_name", "attribute", "workspace", "location")


def location_options(func: F) -> F:
    """Add -f/-m/-a/-w/--location to a command (collected as ``**kwargs``)."""
    options = [
        click.option("-f", "--python-file", metavar="FILE",
                     help="Python file holding the Definitions."),
        click.option("-m", "--module-name", metavar="MODULE",
                     help="Importable module holding the Definitions (e.g. my_pkg.defs)."),
        click.option("-a", "--attribute", metavar="NAME",
                     help="Attribute holding the Definitions (default: 'defs', else the only "
                          "Definitions in the module)."),
        click.option("-w", "--workspace", metavar="FILE",
                     help="workspace.yaml naming code locations (default: ./workspace.yaml)."),
        click.option("-l", "--location", metavar="NAME",
                     help="Code location to use when the workspace has several."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def pop_location_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs.pop(k, None) for k in LOCATION_KEYS}


def origins_from(args: dict[str, Any]) -> list[CodeLocationOrigin]:
    from orchestrator.code_location import resolve_origins

    return resolve_origins(python_file=args.get("python_file"),
                           module_name=args.get("module_name"),
                           attribute=args.get("attribute"), workspace=args.get("workspace"))


def load_one(args: dict[str, Any]) -> tuple[CodeLocationOrigin, Definitions]:
    """The one code location a command works on, loaded."""
    from orchestrator.code_location import select_origin

    origin = select_origin(origins_from(args), args.get("location"))
    return origin, origin.load()


def load_all(args: dict[str, Any]) -> list[tuple[CodeLocationOrigin, Definitions]]:
    """Every code location pointed at (or only --location), loaded."""
    from orchestrator.code_location import select_origin

    origins = origins_from(args)
    if args.get("location"):
        origins = [select_origin(origins, args["location"])]
    return [(o, o.load()) for o in origins]


# -- options ----------------------------------------------------------------------------
def parse_tags(values: Iterable[str]) -> dict[str, str]:
    """``("team=data", "env=prod")`` → dict; a bad item is a click usage error."""
    tags: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"tag {item!r} is not KEY=VALUE (e.g. --tags team=data)",
                                     param_hint="'--tags'")
        tags[key.strip()] = value
    return tags


def tags_option(func: F) -> F:
    return click.option("--tags", "tags", multiple=True, metavar="KEY=VALUE",
                        help="Run tag (repeatable).")(func)


def config_option(func: F) -> F:
    return click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False),
                        help="Run config YAML file (ops: ..., resources: ...).")(func)


def partition_options(func: F) -> F:
    """--partition KEY and --partition-range START...END."""
    func = click.option("--partition-range", "partition_range", metavar="START...END",
                        help="Run a range of partitions in one run (keys inclusive).")(func)
    return click.option("--partition", metavar="KEY", help="Partition key to run.")(func)


def check_partition_args(partition: str | None, partition_range: str | None) -> None:
    if partition and partition_range:
        raise click.UsageError("give --partition or --partition-range, not both")
    if partition_range is not None and "..." not in partition_range:
        raise click.BadParameter(f"{partition_range!r} is not START...END (e.g. "
                                 f"2024-01-01...2024-01-31)", param_hint="'--partition-range'")


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


# -- output -------------------------------------------------------------------------------
def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def stdout_console() -> Any:
    """A rich console on stdout; when stdout is not a terminal, wide (``COLUMNS`` or 200
    columns) so that tables are not squeezed in pipes and logs."""
    from rich.console import Console

    width = None
    if not sys.stdout.isatty():
        try:
            width = int(os.environ.get("COLUMNS", "")) or 200
        except ValueError:
            width = 200
    return Console(soft_wrap=False, highlight=False, width=width)


def job_label(run: RunRecord) -> str:
    """A run's job for people: the job name, or the assets of a `materialize` run."""
    if run.job_name == "__ephemeral_asset_job__":
        keys = run.asset_selection or []
        shown = ", ".join(keys[:3]) + (f" +{len(keys) - 3}" if len(keys) > 3 else "")
        return f"materialize [{shown}]"
    return run.job_name


def fmt_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def fmt_duration(start: float | None, end: float | None) -> str:
    if start is None:
        return "-"
    import time

    secs = (end if end is not None else time.time()) - start
    if secs < 60:
        return f"{secs:.1f}s"
    mins, secs = divmod(int(secs), 60)
    if mins < 60:
        return f"{mins}m{secs:02d}s"
    hours, mins = divmod(mins, 60)
    return f"{hours}h{mins:02d}m"


STATUS_STYLE = {"SUCCESS": "green", "FAILURE": "red", "CANCELED": "yellow",
                "CANCELING": "yellow", "STARTED": "cyan", "STARTING": "cyan"}


def run_log_level(ctx: click.Context) -> str:
    """The level runs print at: the global --log-level if given, else INFO."""
    obj = ctx.find_root().obj or {}
    return obj.get("log_level") or "INFO"


def get_instance() -> Any:
    from orchestrator.instance import Instance

    return Instance.get()


# -- running ------------------------------------------------------------------------------
def step_counts(instance: Any, run_id: str) -> dict[str, list[str]]:
    """Step keys by final state for a finished run (from its event log)."""
    from orchestrator.events import EventType

    state: dict[str, str] = {}
    events = instance.run_storage.get_events(run_id, event_types=[
        EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_SKIPPED])
    for ev in events:
        if ev.step_key:
            state[ev.step_key] = {EventType.STEP_SUCCESS: "succeeded",
                                  EventType.STEP_FAILURE: "failed",
                                  EventType.STEP_SKIPPED: "skipped"}[ev.event_type]
    out: dict[str, list[str]] = {"succeeded": [], "failed": [], "skipped": []}
    for key, st in state.items():
        out[st].append(key)
    return out


def run_summary(instance: Any, run: RunRecord) -> dict[str, Any]:
    from orchestrator.events import EventType

    mats = instance.run_storage.get_events(run.run_id,
                                           event_types=[EventType.ASSET_MATERIALIZATION])
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "status": run.status.value,
        "steps": step_counts(instance, run.run_id),
        "materialized": sorted({e.asset_key.to_user_string() for e in mats if e.asset_key}),
        "code_location": run.code_location,
        "parent_run_id": run.parent_run_id,
    }


def print_run_outcome(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(summary)
        return
    steps = summary["steps"]
    parts = [f"{len(steps['succeeded'])} succeeded"]
    if steps["failed"]:
        parts.append(f"{len(steps['failed'])} failed ({', '.join(steps['failed'])})")
    if steps["skipped"]:
        parts.append(f"{len(steps['skipped'])} skipped")
    click.echo(f"Run {summary['run_id']} {summary['status']}: steps {', '.join(parts)}")


def execute_and_report(ctx: click.Context, run: Callable[..., Any], *, as_json: bool,
                       what: str) -> None:
    """Call ``run(log_level=..., extra_sinks=..., instance=..., tags=...)`` (which starts one
    run), with live progress on a terminal, then print the outcome and exit 0 or 1."""
    from orchestrator.execution.cancel import process_tags

    from .progress import run_progress

    instance = get_instance()
    level = run_log_level(ctx)
    with run_progress(what) as sinks:
        try:
            result = run(log_level=level, extra_sinks=sinks, instance=instance,
                         tags=process_tags())
        except KeyboardInterrupt:
            click.echo("Interrupted: the run was canceled.", err=True)
            ctx.exit(130)
    record = instance.run_storage.get_run(result.run_id) or result.run
    print_run_outcome(run_summary(instance, record), as_json)
    ctx.exit(0 if result.success else 1)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def execute_job_and_report(ctx: click.Context, job: Any, *, origin: Any, config_file: str | None,
                           tags: Mapping[str, str], partition: str | None,
                           partition_range: str | None, as_json: bool, what: str) -> None:
    """Run ``job`` in this process the way ``materialize`` and ``job execute`` do (run config
    file, tags, partition or range, the code location recorded for re-execution), through
    :func:`execute_and_report`."""
    from orchestrator.execution.api import execute_job

    def run(**extra: Any) -> Any:
        return execute_job(job, run_config=config_file, instance=extra["instance"],
                           tags={**tags, **extra["tags"]}, partition_key=partition,
                           partition_key_range=partition_range,
                           raise_on_error=False, log_level=extra["log_level"],
                           code_location=origin.pointer, extra_sinks=extra["extra_sinks"])

    execute_and_report(ctx, run, as_json=as_json, what=what)
