"""``orchestrator schedule`` and ``orchestrator sensor``: list, start, stop, ticks.

::

    $ orchestrator schedule list -f defs.py
    $ orchestrator schedule start nightly -f defs.py       # the daemon runs it from now on
    $ orchestrator schedule preview nightly -f defs.py --count 3
    $ orchestrator schedule ticks nightly -f defs.py --limit 10
    $ orchestrator sensor test new_files -f defs.py --cursor 17   # evaluate once, no runs
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import click

from ._common import (
    echo_json,
    get_instance,
    json_option,
    load_all,
    load_one,
    location_options,
    pop_location_args,
    stdout_console,
)

__all__ = ["schedule", "sensor"]


def _find(defs: Any, kind: str, name: str) -> Any:
    import difflib

    from orchestrator.errors import DefinitionError

    items = defs.schedules if kind == "schedule" else defs.sensors
    for item in items:
        if item.name == name:
            return item
    names = [i.name for i in items]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise DefinitionError(f"no {kind} named '{name}'{hint}; {kind}s: {names or 'none'}")


def _rows(kind: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    from orchestrator.daemon.state import InstigatorStore, instigator_id

    store = InstigatorStore(get_instance().run_storage)
    statuses = store.statuses()
    rows = []
    for origin, defs in load_all(args):
        for item in (defs.schedules if kind == "schedule" else defs.sensors):
            iid = instigator_id(origin.name, item.name)
            state = store.get(iid)
            ticks = store.ticks(iid, 1)
            default = getattr(item.default_status, "value", item.default_status)
            row = {"location": origin.name, "name": item.name,
                   "status": statuses.get(iid, default), "default_status": default,
                   "jobs": [item.job_name] if kind == "schedule" else item.job_names,
                   "last_tick": ticks[0] if ticks else None}
            if kind == "schedule":
                row["cron_schedule"] = item.cron_schedule
                row["timezone"] = item.execution_timezone or "UTC"
                row["next_tick"] = item.cron.next_after(datetime.now(UTC)).isoformat()
            else:
                row["minimum_interval_seconds"] = item.minimum_interval_seconds
                row["cursor"] = state.get("cursor")
            rows.append(row)
    return rows


def daemon_status(storage: Any) -> dict[str, Any]:
    """``{"running": bool, "pid", "host", "last_heartbeat_seconds_ago"}`` from the heartbeat
    the daemon writes every iteration (fresh: under 30 s)."""
    hb = storage.kv_get("daemon", "heartbeat") or {}
    ago = time.time() - float(hb["ts"]) if hb.get("ts") is not None else None
    return {"running": ago is not None and ago < 30, "pid": hb.get("pid"),
            "host": hb.get("host"), "last_heartbeat_seconds_ago": ago}


def _print_rows(kind: str, rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Schedules" if kind == "schedule" else "Sensors")
    cols = ["Location", "Name", "Status", "Job"] + (
        ["Cron", "Timezone", "Next tick"] if kind == "schedule" else ["Interval", "Cursor"]) + \
        ["Last tick"]
    for c in cols:
        table.add_column(c)
    for r in rows:
        last = r["last_tick"]
        last_s = f"{last['status']} ({_fmt_ts(last['timestamp'])})" if last else "-"
        extra = [r["cron_schedule"], r["timezone"], r["next_tick"]] if kind == "schedule" else \
            [f"{r['minimum_interval_seconds']:g}s", str(r["cursor"])]
        table.add_row(escape(r["location"]), escape(r["name"]),
                      "[green]RUNNING[/]" if r["status"] == "RUNNING" else "STOPPED",
                      escape(", ".join(r["jobs"])), *[escape(x) for x in extra], last_s)
    if not rows:
        table.add_row(*(["(none)"] + [""] * (len(cols) - 1)))
    stdout_console().print(table)


def _fmt_ts(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _set_status(kind: str, name: str, status: str, args: dict[str, Any]) -> str:
    from orchestrator.daemon.state import InstigatorStore, instigator_id

    origin, defs = load_one(args)
    _find(defs, kind, name)
    iid = instigator_id(origin.name, name)
    InstigatorStore(get_instance().run_storage).set_status(
        iid, status, reset_from=time.time() if status == "RUNNING" else None)
    return iid


def _ticks(kind: str, name: str, limit: int, as_json: bool, args: dict[str, Any]) -> None:
    from orchestrator.daemon.state import InstigatorStore, instigator_id

    origin, defs = load_one(args)
    _find(defs, kind, name)
    ticks = InstigatorStore(get_instance().run_storage).ticks(
        instigator_id(origin.name, name), limit)
    if as_json:
        echo_json(ticks)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Ticks of {kind} {name} (newest first)")
    for c in ("Time", "Status", "Runs", "Reason / error"):
        table.add_column(c)
    for t in ticks:
        reason = t.get("skip_reason") or (t.get("error") or {}).get("message") or ""
        table.add_row(_fmt_ts(t.get("timestamp")), t.get("status", "?"),
                      ", ".join(r[:8] for r in t.get("run_ids") or []) or "-", escape(reason))
    if not ticks:
        table.add_row("(no ticks yet)", "", "", "")
    stdout_console().print(table)


def _group(kind: str) -> click.Group:
    @click.group(name=kind, help=f"List, start and stop {kind}s; show their ticks.")
    def group() -> None:
        pass

    @group.command(name="list")
    @json_option
    @location_options
    def list_cmd(as_json: bool, **kwargs: Any) -> None:
        """List them with status, last tick and (schedules) next tick."""
        rows = _rows(kind, pop_location_args(kwargs))
        if as_json:
            echo_json(rows)
            return
        _print_rows(kind, rows)
        status = daemon_status(get_instance().run_storage)
        if not status["running"] and any(r["status"] == "RUNNING" for r in rows):
            click.echo(f"note: no daemon is running on this instance, so running {kind}s are "
                       f"not evaluated; start one with `orchestrator daemon`", err=True)

    @group.command(name="start")
    @click.argument("name")
    @location_options
    def start(name: str, **kwargs: Any) -> None:
        """Start NAME: the daemon evaluates it from now on (no catch-up of the past)."""
        iid = _set_status(kind, name, "RUNNING", pop_location_args(kwargs))
        click.echo(f"started {kind} {iid}")

    @group.command(name="stop")
    @click.argument("name")
    @location_options
    def stop(name: str, **kwargs: Any) -> None:
        """Stop NAME (runs it already requested are not affected)."""
        iid = _set_status(kind, name, "STOPPED", pop_location_args(kwargs))
        click.echo(f"stopped {kind} {iid}")

    @group.command(name="ticks")
    @click.argument("name")
    @click.option("--limit", default=20, show_default=True, help="How many ticks.")
    @json_option
    @location_options
    def ticks(name: str, limit: int, as_json: bool, **kwargs: Any) -> None:
        """Show the recorded ticks of NAME, newest first."""
        _ticks(kind, name, limit, as_json, pop_location_args(kwargs))

    return group


schedule = _group("schedule")
sensor = _group("sensor")


@schedule.command(name="preview")
@click.argument("name")
@click.option("--count", default=5, show_default=True, help="How many future ticks.")
@click.option("--evaluate", is_flag=True, help="Also evaluate each tick (no runs are made).")
@json_option
@location_options
def preview(name: str, count: int, evaluate: bool, as_json: bool, **kwargs: Any) -> None:
    """Show the next tick times of schedule NAME (and what they would request)."""
    from orchestrator.schedules.definitions import ScheduleEvaluationContext

    _, defs = load_one(pop_location_args(kwargs))
    sd = _find(defs, "schedule", name)
    t = datetime.now(UTC)
    out = []
    for _ in range(count):
        t = sd.cron.next_after(t)
        row: dict[str, Any] = {"time": t.isoformat()}
        if evaluate:
            res = sd.evaluate_tick(ScheduleEvaluationContext(get_instance(), t, sd.name))
            row["run_requests"] = [{"run_key": r.run_key, "partition_key": r.partition_key,
                                    "tags": dict(r.tags), "run_config": dict(r.run_config)}
                                   for r in res.run_requests]
            row["skip_reason"] = res.skip_message
        out.append(row)
    if as_json:
        echo_json(out)
        return
    for row in out:
        click.echo(row["time"] + (f"  {len(row['run_requests'])} run request(s)"
                                  if "run_requests" in row else ""))


@sensor.command(name="test")
@click.argument("name")
@click.option("--cursor", default=None, help="Cursor to evaluate with (default: the stored "
                                             "one).")
@json_option
@location_options
def test_sensor(name: str, cursor: str | None, as_json: bool, **kwargs: Any) -> None:
    """Evaluate sensor NAME once and print what it would request (no runs, cursor kept)."""
    from orchestrator.daemon.state import InstigatorStore, instigator_id
    from orchestrator.schedules.definitions import SensorEvaluationContext
    from orchestrator.schedules.requests import NO_CURSOR

    origin, defs = load_one(pop_location_args(kwargs))
    sn = _find(defs, "sensor", name)
    instance = get_instance()
    state = InstigatorStore(instance.run_storage).get(instigator_id(origin.name, name))
    ctx = SensorEvaluationContext(instance, cursor if cursor is not None else
                                  state.get("cursor"), sensor_name=name,
                                  evaluation_time=time.time())
    res = sn.evaluate_tick(ctx)
    out = {"run_requests": [{"run_key": r.run_key, "partition_key": r.partition_key,
                             "tags": dict(r.tags), "run_config": dict(r.run_config),
                             "job_name": r.job_name} for r in res.run_requests],
           "skip_reason": res.skip_message,
           "new_cursor": None if res.cursor is NO_CURSOR else res.cursor}
    if as_json:
        echo_json(out)
        return
    if not out["run_requests"]:
        click.echo(f"skipped: {out['skip_reason'] or 'no run requested'}")
    for r in out["run_requests"]:
        click.echo(f"run request: key={r['run_key']} partition={r['partition_key']} "
                   f"tags={r['tags']}")
    if out["new_cursor"] is not None:
        click.echo(f"new cursor: {out['new_cursor']}")
