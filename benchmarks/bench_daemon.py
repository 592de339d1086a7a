"""Measure the daemon: one iteration with 1,000 schedules and 100 sensors, and the time
from a sensor's run request to the run starting in its own process.

Run: ``python benchmarks/bench_daemon.py [--schedules 1000] [--sensors 100] [--latency 10]``

Prints:

- one daemon iteration when nothing is due (the steady state: most iterations), when the
  100 sensors are evaluated (each returns a SkipReason), and when all 1,000 schedules fire
  in the same iteration (1,000 queued runs written) — with a ManualClock, runs left queued;
- sensor request → run start, for each start method (fork, spawn): a real
  ``orchestrator daemon`` process (interval 0.1 s); a
  sensor requests a run when a trigger file appears; the figures are the time from the
  run's creation (the request) to its RUN_START event, written by the run's own process,
  and from the trigger file to RUN_START.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

DEFS = """
import os
from pathlib import Path
from orchestrator import *

@asset
def a():
    return 1

j = define_asset_job("j", selection=[a])
N_SCHED = {n_sched}
N_SENS = {n_sens}
schedules = [ScheduleDefinition(name=f"s{{i}}", job=j, cron_schedule="0 * * * *",
                                default_status=DefaultScheduleStatus.RUNNING)
             for i in range(N_SCHED)]

def make_sensor(i):
    @sensor(job=j, name=f"sensor{{i}}", minimum_interval_seconds=30,
            default_status=DefaultSensorStatus.RUNNING)
    def _s(context):
        return SkipReason("nothing new")
    return _s

sensors = [make_sensor(i) for i in range(N_SENS)]
defs = Definitions(assets=[a], jobs=[j], schedules=schedules, sensors=sensors)
"""

TRIGGER_DEFS = """
import os
from pathlib import Path
from orchestrator import *

TRIGGERS = Path(os.environ["TRIGGER_DIR"])

@asset
def a():
    return 1

j = define_asset_job("j", selection=[a])

@sensor(job=j, minimum_interval_seconds=0, default_status=DefaultSensorStatus.RUNNING)
def trigger(context):
    return [RunRequest(run_key=p.name, tags={{"trigger": p.name}})
            for p in sorted(TRIGGERS.glob("*.t"))]

defs = Definitions(assets=[a], jobs=[j], sensors=[trigger])
"""


def bench_ticks(tmp: Path, n_sched: int, n_sens: int) -> dict[str, float]:
    from orchestrator.code_location import CodeLocationOrigin
    from orchestrator.daemon import Daemon, ManualClock
    from orchestrator.instance import Instance

    path = tmp / "many.py"
    path.write_text(textwrap.dedent(DEFS.format(n_sched=n_sched, n_sens=n_sens)))
    instance = Instance.from_home(tmp / "home-ticks")
    clock = ManualClock("2024-01-01T00:00:10Z")
    t0 = time.perf_counter()
    daemon = Daemon.for_origins(instance, [CodeLocationOrigin.for_file(str(path))],
                                clock=clock, run_queue=False)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    daemon.tick()  # first sight of every instigator: state written once
    first = time.perf_counter() - t0
    idle = []
    sensors = []
    for i in range(40):
        clock.advance(seconds=1 if i % 2 == 0 else 30)  # odd: the sensors are due
        t0 = time.perf_counter()
        summary = daemon.tick()
        dt = time.perf_counter() - t0
        (sensors if summary.ticks else idle).append(dt)
    clock.set("2024-01-01T01:00:00Z")  # every schedule fires (and the sensors)
    t0 = time.perf_counter()
    summary = daemon.tick()
    all_due = time.perf_counter() - t0
    assert len(summary.submitted) == n_sched, len(summary.submitted)
    instance.close()
    return {"load definitions": load, "first iteration": first,
            "idle iteration (median)": statistics.median(idle),
            "100 sensors due (median)": statistics.median(sensors),
            f"{n_sched} schedules fire": all_due}


def bench_latency(tmp: Path, n: int, start_method: str) -> dict[str, float]:
    from orchestrator.events import EventType
    from orchestrator.instance import Instance

    path = tmp / "trigger.py"
    path.write_text(textwrap.dedent(TRIGGER_DEFS.format()))
    triggers = tmp / f"triggers-{start_method}"
    triggers.mkdir()
    home = tmp / f"home-latency-{start_method}"
    env = dict(os.environ, ORCHESTRATOR_HOME=str(home), TRIGGER_DIR=str(triggers))
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "daemon", "-f", str(path),
                             "--interval", "0.1", "--run-start-method", start_method],
                            env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    instance = Instance.from_home(home)
    request_to_start, trigger_to_start = [], []
    try:
        time.sleep(1.0)
        for i in range(n):
            name = f"{i}.t"
            t_trigger = time.time()
            (triggers / name).write_text("")
            deadline = time.monotonic() + 60
            start_ev = None
            run = None
            while time.monotonic() < deadline:
                runs = instance.run_storage.get_runs(tags={"trigger": name})
                if runs:
                    run = runs[0]
                    evs = instance.run_storage.get_events(run.run_id,
                                                          event_types=[EventType.RUN_START])
                    if evs:
                        start_ev = evs[0]
                        break
                time.sleep(0.005)
            if start_ev is None or run is None:
                raise RuntimeError("run did not start within 60 s")
            request_to_start.append(start_ev.timestamp - run.created_at)
            trigger_to_start.append(start_ev.timestamp - t_trigger)
            while not instance.run_storage.get_run(run.run_id).status.is_finished:
                time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait(30)
        instance.close()
    return {"request -> run start (median)": statistics.median(request_to_start),
            "request -> run start (max)": max(request_to_start),
            "trigger file -> run start (median)": statistics.median(trigger_to_start)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--schedules", type=int, default=1000)
    ap.add_argument("--sensors", type=int, default=100)
    ap.add_argument("--latency", type=int, default=10, help="sensor runs to time")
    ap.add_argument("--start-method", choices=["fork", "spawn", "both"], default="both")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(f"daemon with {args.schedules} schedules and {args.sensors} sensors")
        for k, v in bench_ticks(tmp, args.schedules, args.sensors).items():
            print(f"  {k:<34} {v * 1000:9.1f} ms")
        methods = ["fork", "spawn"] if args.start_method == "both" else [args.start_method]
        for method in methods:
            print(f"sensor run request -> run start ({args.latency} runs, own process each, "
                  f"start method {method})")
            for k, v in bench_latency(tmp, args.latency, method).items():
                print(f"  {k:<34} {v * 1000:9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
