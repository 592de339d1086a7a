"""``orchestrator daemon`` (and ``orchestrator dev``): run schedules, sensors, backfills
and the run queue until stopped.

::

    $ orchestrator daemon -f defs.py --max-concurrent-runs 4 --tag-limit database=warehouse:1
    $ orchestrator dev -f defs.py          # the daemon (and the web UI once there is one)

SIGTERM or Ctrl-C stop it after the current iteration; runs it started keep going in their
own processes (a later daemon notices how they end).
"""

from __future__ import annotations

import signal
from typing import Any

import click

from ._common import get_instance, load_all, location_options, pop_location_args

__all__ = ["daemon", "dev"]


def _parse_tag_limit(raw: str) -> dict[str, Any]:
    """``key:N``, ``key=value:N`` or ``key=*:N`` (per unique value)."""
    spec, sep, limit = raw.rpartition(":")
    if not sep or not limit.isdigit() or not spec:
        raise click.BadParameter(f"{raw!r}: expected KEY:N, KEY=VALUE:N or KEY=*:N (a limit per "
                                 f"distinct value)", param_hint="'--tag-limit'")
    key, eq, value = spec.partition("=")
    out: dict[str, Any] = {"key": key, "limit": int(limit)}
    if eq:
        out["value"] = {"applyLimitPerUniqueValue": True} if value == "*" else value
    return out


def _options(func: Any) -> Any:
    opts = [
        click.option("--interval", default=1.0, show_default=True, type=float,
                     help="Seconds between iterations."),
        click.option("--max-concurrent-runs", default=10, show_default=True, type=int,
                     help="Runs in progress at once, in the whole instance."),
        click.option("--tag-limit", "tag_limits", multiple=True, metavar="KEY[=VALUE]:N",
                     help="At most N runs in progress with this tag (KEY=*:N: N per value)."),
        click.option("--max-catchup-ticks", default=5, show_default=True, type=int,
                     help="Missed schedule ticks run after downtime (older ones are skipped)."),
        click.option("--sensor-workers", default=4, show_default=True, type=int,
                     help="Sensors evaluated at the same time (in threads)."),
        click.option("--sensor-timeout", default=60.0, show_default=True, type=float,
                     help="Seconds a sensor may take; a slower one records a FAILURE tick."),
        click.option("--run-start-method", type=click.Choice(["fork", "spawn"]), default=None,
                     help="How a run's process starts: fork the daemon (fast; default on "
                          "Linux) or spawn a new interpreter."),
        click.option("--iterations", type=int, default=None,
                     help="Stop after this many iterations (default: run until stopped)."),
    ]
    for o in reversed(opts):
        func = o(func)
    return location_options(func)


def _run(interval: float, max_concurrent_runs: int, tag_limits: tuple[str, ...],
         max_catchup_ticks: int, iterations: int | None, kwargs: dict[str, Any]) -> None:
    start_method = kwargs.pop("run_start_method", None)
    sensor_workers = kwargs.pop("sensor_workers", 4)
    sensor_timeout = kwargs.pop("sensor_timeout", 60.0)
    from orchestrator.daemon import Daemon, LoadedLocation

    instance = get_instance()
    locations = [LoadedLocation(o.name, d, o.pointer, o)
                 for o, d in load_all(pop_location_args(kwargs))]
    d = Daemon(instance, locations, interval=interval, max_concurrent_runs=max_concurrent_runs,
               tag_concurrency_limits=[_parse_tag_limit(t) for t in tag_limits],
               max_catchup_ticks=max_catchup_ticks, start_method=start_method,
               sensor_workers=sensor_workers, sensor_timeout=sensor_timeout)
    d.check_no_other_daemon()
    n_sched = sum(len(loc.defs.schedules) for loc in locations)
    n_sens = sum(len(loc.defs.sensors) for loc in locations)
    click.echo(f"daemon: {n_sched} schedule(s), {n_sens} sensor(s) in "
               f"{', '.join(loc.name for loc in locations)}; instance {instance.home}",
               err=True)

    def on_term(signum: int, _frame: Any) -> None:
        d.stop()

    prev = signal.signal(signal.SIGTERM, on_term)
    try:
        d.run_forever(max_iterations=iterations)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, prev)
        d.queue.poll()
    click.echo("daemon stopped", err=True)


@click.command()
@_options
def daemon(interval: float, max_concurrent_runs: int, tag_limits: tuple[str, ...],
           max_catchup_ticks: int, iterations: int | None, **kwargs: Any) -> None:
    """Evaluate schedules and sensors, advance backfills and start queued runs."""
    _run(interval, max_concurrent_runs, tag_limits, max_catchup_ticks, iterations, kwargs)


@click.command()
@_options
def dev(interval: float, max_concurrent_runs: int, tag_limits: tuple[str, ...],
        max_catchup_ticks: int, iterations: int | None, **kwargs: Any) -> None:
    """Local development: the daemon, in the foreground (the web UI will join it)."""
    _run(interval, max_concurrent_runs, tag_limits, max_catchup_ticks, iterations, kwargs)
