"""The daemon: evaluates schedules and sensors, advances backfills and runs the queue.

::

    from orchestrator.daemon import Daemon

    daemon = Daemon.for_origins(instance, origins, max_concurrent_runs=4)
    daemon.run_forever()            # what `orchestrator daemon` does
    summary = daemon.tick()         # one iteration (tests drive it with a ManualClock)

Idempotence: a schedule tick's runs get ids derived from (location, schedule, scheduled
time, index) and a sensor's from its run key (or its tick id), so evaluating a tick again
after a crash finds the runs it already created instead of making new ones. A schedule's
state is saved after each tick, so a restarted daemon resumes at the first tick it had not
finished. Ticks missed while no daemon ran are caught up, at most ``max_catchup_ticks`` of
them per schedule (the newest); older ones are recorded as one SKIPPED tick.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import ConfigError, DefinitionError, OrchestratorError
from ..schedules.requests import NO_CURSOR, RunRequest, TickStatus
from .queue import RunQueue, submit_run
from .state import InstigatorStore, instigator_id

__all__ = ["Daemon", "DaemonTickSummary", "LoadedLocation", "run_id_for"]

logger = logging.getLogger("orchestrator.daemon")

_RUN_ID_NS = uuid.UUID("6c1b8f4e-3a57-4b8e-9a51-2f0d7c7d6e10")
SCHEDULE_TAG = "orchestrator/schedule"
SENSOR_TAG = "orchestrator/sensor"
RUN_KEY_TAG = "orchestrator/run_key"
TICK_TAG = "orchestrator/tick"
SCHEDULED_TIME_TAG = "orchestrator/scheduled_execution_time"
RECOVER_INTERVAL = 10.0  # seconds between checks for runs whose process is gone


def run_id_for(*parts: str) -> str:
    """A run id that is the same every time for the same parts (idempotent submission)."""
    return str(uuid.uuid5(_RUN_ID_NS, "|".join(parts)))


@dataclass
class LoadedLocation:
    """A code location the daemon serves: its name, definitions and pointer (how a run's
    process loads it again)."""

    name: str
    defs: Any
    pointer: str | None
    origin: Any = None  # a CodeLocationOrigin to reload from when its file changes
    _jobs: dict[str, Any] = field(default_factory=dict)
    _checkers: dict[str, Any] = field(default_factory=dict)

    def job(self, name: str) -> Any:
        if name not in self._jobs:
            self._jobs[name] = self.defs.get_job_def(name)
        return self._jobs[name]

    def source_mtime(self) -> float | None:
        """The definitions file's modification time (None for a module location)."""
        if self.pointer is None or not self.pointer.startswith("file:") or self.origin is None:
            return None
        try:
            return os.stat(self.origin.target).st_mtime
        except OSError:
            return None

    def reload(self) -> None:
        """Import the definitions file again (raises if it no longer loads)."""
        import sys
        from pathlib import Path

        from ..code_location import _module_name_for_file

        name = _module_name_for_file(Path(self.origin.target))
        old = sys.modules.pop(name, None)
        try:
            defs = self.origin.load()
        except BaseException:
            if old is not None:
                sys.modules[name] = old
            raise
        self.defs = defs
        self._jobs.clear()
        self._checkers.clear()

    def check_run_config(self, job_name: str, run_config: Mapping[str, Any]) -> None:
        """Raise ConfigError now if ``run_config`` does not fit the job (rather than
        creating a run that fails in its process)."""
        checker = self._checkers.get(job_name)
        if checker is None:
            checker = self._checkers[job_name] = _config_checker(self.job(job_name))
        checker(run_config)


def _config_checker(job: Any) -> Callable[[Mapping[str, Any]], None]:
    from ..execution.api import _required_resource_keys, _resolve_run_config, _with_dependencies
    from ..execution.plan import build_asset_plan, build_graph_plan

    layer = getattr(job, "asset_layer", None)
    graph = layer.asset_graph if layer is not None else None
    plan = (build_asset_plan(graph, layer.selected_keys, layer.selected_checks, job.name,
                             job.tags) if layer is not None else build_graph_plan(job))
    resource_defs = dict(job.resource_defs)
    needed = _with_dependencies(_required_resource_keys(plan, graph), resource_defs)
    schemas = {k: resource_defs[k] for k in needed if k in resource_defs}

    def check(run_config: Mapping[str, Any]) -> None:
        _resolve_run_config(job, plan, dict(run_config or {}), schemas)

    return check


@dataclass
class DaemonTickSummary:
    """What one daemon iteration did."""

    ticks: list[dict[str, Any]] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Daemon:
    """Evaluates the schedules and sensors of code locations and runs the run queue."""

    def __init__(self, instance: Any, locations: Sequence[LoadedLocation], *,
                 clock: Callable[[], float] | None = None, max_concurrent_runs: int = 10,
                 tag_concurrency_limits: Sequence[Any] | None = None,
                 max_catchup_ticks: int = 5, interval: float = 1.0, launch: bool = True,
                 python: str | None = None, run_queue: bool = True,
                 start_method: str | None = None, reload_interval: float | None = 2.0,
                 sensor_workers: int = 4, sensor_timeout: float | None = 60.0) -> None:
        from .clock import system_clock

        if not isinstance(max_catchup_ticks, int) or max_catchup_ticks < 0:
            raise DefinitionError(f"max_catchup_ticks must be an int >= 0, got "
                                  f"{max_catchup_ticks!r}")
        self.instance = instance
        self.storage = instance.run_storage
        self.locations = list(locations)
        self.clock = clock or system_clock
        self.max_catchup_ticks = max_catchup_ticks
        self.interval = interval
        self.store = InstigatorStore(self.storage)
        self.queue = RunQueue(instance, max_concurrent_runs=max_concurrent_runs,
                              tag_concurrency_limits=tag_concurrency_limits, python=python,
                              launch=launch, start_method=start_method)
        self.run_queue = run_queue  # False: submit runs but leave them QUEUED (tests, dry runs)
        self.reload_interval = reload_interval
        self.sensor_workers = sensor_workers
        self.sensor_timeout = sensor_timeout
        self._busy: dict[str, threading.Thread] = {}
        self._mtimes = {loc.name: loc.source_mtime() for loc in self.locations}
        self._last_reload_check = self.clock()
        self._states: dict[str, dict[str, Any]] = {}
        self._next_fire: dict[str, float] = {}
        self._statuses: dict[str, str] | None = None
        self._stop = threading.Event()
        self._last_recover: float | None = None
        seen: dict[str, str] = {}
        for loc in self.locations:
            for inst in list(loc.defs.schedules) + list(loc.defs.sensors):
                iid = instigator_id(loc.name, inst.name)
                if iid in seen:
                    raise DefinitionError(f"code location '{loc.name}' defines two schedules/"
                                          f"sensors named '{inst.name}'; names must be unique")
                seen[iid] = inst.kind

    @classmethod
    def for_origins(cls, instance: Any, origins: Sequence[Any], **kwargs: Any) -> Daemon:
        """A daemon over code locations (CodeLocationOrigin objects), loaded now."""
        locs = [LoadedLocation(o.name, o.load(), o.pointer, o) for o in origins]
        return cls(instance, locs, **kwargs)

    # -- instigators ----------------------------------------------------------------------
    def instigators(self) -> list[tuple[LoadedLocation, Any]]:
        return [(loc, i) for loc in self.locations
                for i in list(loc.defs.schedules) + list(loc.defs.sensors)]

    def is_running(self, iid: str, inst: Any, statuses: Mapping[str, str]) -> bool:
        status = statuses.get(iid)
        if status is None:
            status = getattr(inst.default_status, "value", inst.default_status)
        return status == "RUNNING"

    def _state(self, iid: str) -> dict[str, Any]:
        st = self._states.get(iid)
        if st is None:
            st = self._states[iid] = self.store.get(iid)
        return st

    def _save(self, iid: str, st: dict[str, Any]) -> None:
        self.store.put(iid, st)

    # -- one iteration --------------------------------------------------------------------
    def tick(self) -> DaemonTickSummary:
        """One iteration: schedules, sensors, backfills, then the queue."""
        summary = DaemonTickSummary()
        now = self.clock()
        if self.run_queue and (self._last_recover is None or
                               now - self._last_recover >= RECOVER_INTERVAL):
            # runs whose process died unseen (started by an earlier daemon, killed -9, OOM)
            self._last_recover = now
            for rid in self.queue.recover():
                summary.errors.append(f"run {rid}: process gone; marked failed")
        if self.reload_interval is not None and now - self._last_reload_check >= \
                self.reload_interval:
            self._last_reload_check = now
            self._reload_changed(summary)
        statuses = self.store.statuses()
        if self._statuses is not None and statuses != self._statuses:
            changed = {k for k in set(statuses) | set(self._statuses)
                       if statuses.get(k) != self._statuses.get(k)}
            for iid in changed:  # started/stopped from the CLI: reload their state
                self._states.pop(iid, None)
                self._next_fire.pop(iid, None)
        self._statuses = statuses
        due_sensors: list[tuple[Any, ...]] = []
        for loc, inst in self.instigators():
            iid = instigator_id(loc.name, inst.name)
            if not self.is_running(iid, inst, statuses):
                continue
            try:
                if inst.kind == "schedule":
                    self._schedule(loc, inst, iid, now, summary)
                else:
                    prepared = self._sensor_prepare(inst, iid, now)
                    if prepared is not None:
                        due_sensors.append((loc, inst, iid, prepared))
            except Exception as exc:  # noqa: BLE001 - one bad instigator never stops the rest
                logger.exception("evaluating %s failed", iid)
                summary.errors.append(f"{iid}: {type(exc).__name__}: {exc}")
        if due_sensors:
            try:
                self._evaluate_sensors(due_sensors, now, summary)
            except Exception as exc:  # noqa: BLE001
                logger.exception("evaluating sensors failed")
                summary.errors.append(f"sensors: {type(exc).__name__}: {exc}")
        try:
            from ..backfill import process_backfills

            summary.submitted += process_backfills(self.instance, self.locations, now)
        except Exception as exc:  # noqa: BLE001
            logger.exception("backfills failed")
            summary.errors.append(f"backfills: {type(exc).__name__}: {exc}")
        if self.run_queue:
            summary.ended = self.queue.poll()
            summary.launched = self.queue.dequeue()
        self.storage.kv_set("daemon", "heartbeat", {"pid": os.getpid(),
                                                    "host": socket.gethostname(), "ts": now})
        return summary

    def _reload_changed(self, summary: DaemonTickSummary) -> None:
        """Reload file code locations whose file changed; a file that no longer loads keeps
        the definitions it had (the error is logged and reported once per change)."""
        for loc in self.locations:
            mtime = loc.source_mtime()
            if mtime is None or mtime == self._mtimes.get(loc.name):
                continue
            self._mtimes[loc.name] = mtime
            try:
                loc.reload()
                self._check_unique(loc)
            except Exception as exc:  # noqa: BLE001 - keep serving the previous definitions
                logger.error("code location '%s' changed but does not load; keeping the "
                             "previous definitions: %s", loc.name, exc)
                summary.errors.append(f"reload {loc.name}: {type(exc).__name__}: {exc}")
                continue
            logger.info("reloaded code location '%s'", loc.name)
            for key in [k for k in self._next_fire if k.startswith(f"{loc.name}:")]:
                del self._next_fire[key]

    def _check_unique(self, loc: LoadedLocation) -> None:
        names = [i.name for i in list(loc.defs.schedules) + list(loc.defs.sensors)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise DefinitionError(f"code location '{loc.name}' defines two schedules/sensors "
                                  f"named {dupes[0]!r}; names must be unique")

    # -- schedules ------------------------------------------------------------------------
    def _schedule(self, loc: LoadedLocation, sd: Any, iid: str, now: float,
                  summary: DaemonTickSummary) -> None:
        nxt = self._next_fire.get(iid)
        if nxt is not None and nxt > now:
            return  # the fast path: nothing due
        st = self._state(iid)
        last = st.get("last_tick_ts")
        if last is None:  # first time running: start from now, nothing to catch up
            st["last_tick_ts"] = now
            st.setdefault("started_at", now)
            self._save(iid, st)
            last = now
        last_dt = datetime.fromtimestamp(last, UTC)
        first = sd.cron.next_after(last_dt)
        if first.timestamp() > now:
            self._next_fire[iid] = first.timestamp()
            return
        now_dt = datetime.fromtimestamp(now, UTC)
        limit = self.max_catchup_ticks + 1  # the newest tick plus up to N missed ones
        due: list[datetime] = []
        t = sd.cron.prev_at_or_before(now_dt)
        while t >= first and len(due) < limit:  # newest first, without walking every tick
            due.append(t)
            t = sd.cron.prev_at_or_before(t - timedelta(microseconds=1))
        due.reverse()
        if due[0] > first:
            last_missed = sd.cron.prev_at_or_before(due[0] - timedelta(microseconds=1))
            self._record_tick(iid, st, {
                "id": f"missed-{int(first.timestamp())}", "timestamp": last_missed.timestamp(),
                "status": TickStatus.SKIPPED.value, "run_ids": [],
                "skip_reason": f"ticks from {first.isoformat()} to {last_missed.isoformat()} "
                               f"were missed while no daemon ran (catch-up limit: "
                               f"{self.max_catchup_ticks} missed tick(s))"})
        for t in due:
            self._schedule_tick(loc, sd, iid, st, t, summary)
            st["last_tick_ts"] = t.timestamp()
            self._save(iid, st)
        self._next_fire[iid] = sd.cron.next_after(due[-1]).timestamp()

    def _schedule_tick(self, loc: LoadedLocation, sd: Any, iid: str, st: dict[str, Any],
                       t: datetime, summary: DaemonTickSummary) -> None:
        from ..schedules.definitions import ScheduleEvaluationContext

        ts = t.timestamp()
        tick: dict[str, Any] = {"id": f"{int(ts)}", "timestamp": ts,
                                "evaluated_at": self.clock(), "run_ids": [],
                                "status": TickStatus.STARTED.value}
        ctx = ScheduleEvaluationContext(self.instance, t.astimezone(sd.cron.tz), sd.name)
        try:
            result = sd.evaluate_tick(ctx)
            iso = t.isoformat()
            for i, req in enumerate(result.run_requests):
                key = req.run_key or (iso if i == 0 else f"{iso}#{i}")
                rid = self._submit(loc, sd, req, run_id_for(loc.name, "schedule", sd.name, key),
                                   {SCHEDULE_TAG: sd.name, SCHEDULED_TIME_TAG: iso,
                                    TICK_TAG: tick["id"]}, tick)
                if rid:
                    summary.submitted.append(rid)
            tick["status"] = (TickStatus.SUCCESS if tick["run_ids"] else
                              TickStatus.SKIPPED).value
            if not tick["run_ids"]:
                tick["skip_reason"] = result.skip_message or (
                    "run key(s) already requested" if tick.get("duplicate_run_keys")
                    else "no run requested")
        except Exception as exc:  # noqa: BLE001 - a failing schedule records a FAILURE tick
            tick["status"] = TickStatus.FAILURE.value
            tick["error"] = _error(exc)
            summary.errors.append(f"{iid}: {tick['error']['message']}")
        self._record_tick(iid, st, tick)
        summary.ticks.append({"instigator": iid, **tick})

    # -- sensors --------------------------------------------------------------------------
    def _sensor_prepare(self, sensor: Any, iid: str, now: float) -> tuple[Any, ...] | None:
        """(context, state, pending tick) when the sensor is due, else None."""
        from ..schedules.definitions import SensorEvaluationContext

        busy = self._busy.get(iid)
        if busy is not None:
            if busy.is_alive():
                return None  # an evaluation that timed out is still running
            del self._busy[iid]
        nxt = self._next_fire.get(iid)
        if nxt is not None and nxt > now:
            return None
        st = self._state(iid)
        last_eval = st.get("last_eval")
        if last_eval is not None and now - last_eval < sensor.minimum_interval_seconds:
            self._next_fire[iid] = last_eval + sensor.minimum_interval_seconds
            return None
        pending = st.get("pending_tick")
        if pending is None:  # mark the tick first: a crash mid-tick re-uses its id
            pending = st["pending_tick"] = {"id": f"{int(now * 1000)}", "timestamp": now}
            self._save(iid, st)
        ctx = SensorEvaluationContext(self.instance, st.get("cursor"), last_eval,
                                      st.get("last_run_key"), sensor.name, evaluation_time=now)
        return ctx, st, pending

    def _evaluate_sensors(self, due: list[tuple[Any, ...]], now: float,
                          summary: DaemonTickSummary) -> None:
        """Evaluate due sensors, up to ``sensor_workers`` at once, each within
        ``sensor_timeout`` seconds; then record their ticks in order."""
        outcomes: dict[str, tuple[str, Any]] = {}
        if self.sensor_workers <= 1 and self.sensor_timeout is None:
            for _loc, sensor, iid, (ctx, _st, _p) in due:
                try:
                    outcomes[iid] = ("ok", sensor.evaluate_tick(ctx))
                except Exception as exc:  # noqa: BLE001
                    outcomes[iid] = ("error", exc)
        else:
            self._evaluate_in_threads(due, outcomes)
        for loc, sensor, iid, (_ctx, st, pending) in due:
            if iid in outcomes:  # else: not started (every worker was stuck); next time
                self._sensor_finish(loc, sensor, iid, now, st, pending, outcomes[iid],
                                    summary)

    def _evaluate_in_threads(self, due: list[tuple[Any, ...]],
                             outcomes: dict[str, tuple[str, Any]]) -> None:
        """``sensor_workers`` threads (made for this iteration only, so none is left when
        runs are forked) take sensors from a queue; the caller waits until each is done
        or has run longer than the timeout."""
        import collections

        todo = collections.deque(due)
        started: dict[str, tuple[float, threading.Thread]] = {}
        cond = threading.Condition()
        closed = False
        timeout = self.sensor_timeout if self.sensor_timeout is not None else float("inf")

        def worker() -> None:
            me = threading.current_thread()
            while True:
                with cond:
                    if closed or not todo:
                        return
                    _loc, sensor, iid, (ctx, _st, _p) = todo.popleft()
                    started[iid] = (time.monotonic(), me)
                _evaluate_into(sensor, ctx, outcomes, iid)
                with cond:
                    cond.notify_all()

        threads = [threading.Thread(target=worker, name=f"sensors-{i}", daemon=True)
                   for i in range(max(1, min(self.sensor_workers, len(due))))]
        for th in threads:
            th.start()
        iids = [item[2] for item in due]
        with cond:
            while True:
                waiting = [i for i in iids if i not in outcomes]
                now_m = time.monotonic()
                running = [i for i in waiting if i in started]
                expired = [i for i in running if now_m - started[i][0] >= timeout]
                live = [i for i in running if i not in expired]
                if not waiting or (not live and (not todo or len(expired) >= len(threads))):
                    closed = True
                    break
                wait_for = min((started[i][0] + timeout - now_m for i in live), default=0.05)
                cond.wait(max(0.001, min(wait_for, 0.5)))
            for i in expired:
                if i not in outcomes:
                    outcomes[i] = ("timeout", None)
                    self._busy[i] = started[i][1]
        for th in threads:
            if not any(b is th for b in self._busy.values()):
                th.join()

    def _sensor_finish(self, loc: LoadedLocation, sensor: Any, iid: str, now: float,
                       st: dict[str, Any], pending: dict[str, Any], outcome: tuple[str, Any],
                       summary: DaemonTickSummary) -> None:
        tick: dict[str, Any] = {"id": pending["id"], "timestamp": now, "evaluated_at": now,
                                "run_ids": [], "status": TickStatus.STARTED.value}
        try:
            kind, value = outcome
            if kind == "error":
                raise value
            if kind == "timeout":
                raise OrchestratorError(
                    f"sensor '{sensor.name}' did not return within {self.sensor_timeout:g} s; "
                    f"it is not evaluated again until that evaluation ends (make it faster, "
                    f"or raise the daemon's sensor timeout)")
            result = value
            for i, req in enumerate(result.run_requests):
                key = req.run_key or f"tick:{pending['id']}:{i}"
                rid = self._submit(loc, sensor, req,
                                   run_id_for(loc.name, "sensor", sensor.name, key),
                                   {SENSOR_TAG: sensor.name, TICK_TAG: pending["id"]}, tick)
                if rid:
                    summary.submitted.append(rid)
                if req.run_key:
                    st["last_run_key"] = req.run_key
            if result.cursor is not NO_CURSOR:
                st["cursor"] = result.cursor
                tick["cursor"] = result.cursor
            tick["status"] = (TickStatus.SUCCESS if tick["run_ids"] else
                              TickStatus.SKIPPED).value
            if not tick["run_ids"]:
                tick["skip_reason"] = result.skip_message or (
                    "run key(s) already requested" if tick.get("duplicate_run_keys")
                    else "no run requested")
        except Exception as exc:  # noqa: BLE001 - the cursor is kept; retried next interval
            tick["status"] = TickStatus.FAILURE.value
            tick["error"] = _error(exc)
            summary.errors.append(f"{iid}: {tick['error']['message']}")
        st["last_eval"] = now
        st.pop("pending_tick", None)
        self._record_tick(iid, st, tick)
        self._save(iid, st)
        self._next_fire[iid] = now + sensor.minimum_interval_seconds
        summary.ticks.append({"instigator": iid, **tick})

    # -- runs -----------------------------------------------------------------------------
    def _submit(self, loc: LoadedLocation, inst: Any, req: RunRequest, run_id: str,
                origin_tags: dict[str, str], tick: dict[str, Any]) -> str | None:
        job_names = [inst.job_name] if inst.kind == "schedule" else inst.job_names
        job_name = req.job_name or (job_names[0] if job_names else None)
        where = f"{inst.kind} '{inst.name}'"
        if job_name is None:
            raise DefinitionError(f"{where} requested a run but targets no job; give it job= "
                                  f"(or RunRequest(job_name=...))")
        if job_names and job_name not in job_names:
            raise DefinitionError(f"{where} requested job '{job_name}', which it does not "
                                  f"target; its jobs: {job_names}")
        if self.storage.get_run(run_id) is not None:
            tick.setdefault("duplicate_run_keys", []).append(req.run_key or run_id)
            return None
        job = loc.job(job_name)
        if req.partition_key is not None:
            from ..execution.api import _partitions_def_of
            from ..execution.plan import build_asset_plan, build_graph_plan

            layer = getattr(job, "asset_layer", None)
            pdef = getattr(job, "partitions_def", None)
            if pdef is None and layer is not None:
                plan = build_asset_plan(layer.asset_graph, layer.selected_keys,
                                        layer.selected_checks, job.name, job.tags)
                pdef = _partitions_def_of(job, plan, layer.asset_graph)
            elif pdef is None:
                pdef = _partitions_def_of(job, build_graph_plan(job), None)
            if pdef is not None and hasattr(pdef, "validate_partition_key"):
                pdef.validate_partition_key(req.partition_key, f"{where}: ")
        try:
            loc.check_run_config(job_name, req.run_config)
        except ConfigError as exc:
            raise ConfigError(f"{where} requested a run of '{job_name}' with run config that "
                              f"does not fit: {exc}", exc.errors) from None
        layer = getattr(job, "asset_layer", None)
        selection = None
        if req.asset_selection is not None:
            from ..asset_key import AssetKey

            selection = sorted(AssetKey.from_coercible(k).to_user_string()
                               for k in req.asset_selection)
        elif layer is not None:
            selection = sorted(k.to_user_string() for k in layer.selected_keys)
        tags = {**job.tags, **dict(req.tags), **origin_tags}
        if req.run_key:
            tags[RUN_KEY_TAG] = req.run_key
        run, created = submit_run(self.instance, job_name=job_name, code_location=loc.pointer,
                                  run_config=req.run_config, tags=tags,
                                  partition=req.partition_key, asset_selection=selection,
                                  run_id=run_id, message=f"run requested by {where}")
        if not created:
            tick.setdefault("duplicate_run_keys", []).append(req.run_key or run_id)
            return None
        tick["run_ids"].append(run.run_id)
        return run.run_id

    def _record_tick(self, iid: str, st: dict[str, Any], tick: dict[str, Any]) -> None:
        self.store.record_tick(iid, st, tick)
        if tick.get("status") != TickStatus.STARTED.value:
            logger.info("%s tick %s: %s%s", iid, tick.get("id"), tick.get("status"),
                        f" ({len(tick['run_ids'])} run(s))" if tick.get("run_ids") else "")

    # -- the loop -------------------------------------------------------------------------
    def check_no_other_daemon(self) -> None:
        """Refuse to start when another daemon's heartbeat is fresh and its process lives."""
        hb = self.storage.kv_get("daemon", "heartbeat")
        if not hb or hb.get("pid") == os.getpid():
            return
        fresh = time.time() - float(hb.get("ts") or 0) < max(10.0, 5 * self.interval)
        if fresh and hb.get("host") == socket.gethostname():
            try:
                os.kill(int(hb["pid"]), 0)
            except (ProcessLookupError, ValueError, TypeError):
                return
            except PermissionError:
                pass
            raise OrchestratorError(
                f"another daemon (pid {hb['pid']}) is running on this instance "
                f"({self.instance.home}); stop it first (two daemons would start every run "
                f"twice as fast as the limits allow)")

    def stop(self) -> None:
        self._stop.set()

    def run_forever(self, *, max_iterations: int | None = None) -> None:
        """Iterate every ``interval`` seconds until :meth:`stop` (or SIGTERM/Ctrl-C in the
        CLI). Runs already started keep running in their own processes."""
        n = 0
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - storage hiccup: log, retry next iteration
                logger.exception("daemon iteration failed")
            n += 1
            if max_iterations is not None and n >= max_iterations:
                break
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))


def _evaluate_into(sensor: Any, ctx: Any, out: dict[str, tuple[str, Any]], iid: str) -> None:
    try:
        out[iid] = ("ok", sensor.evaluate_tick(ctx))
    except Exception as exc:  # noqa: BLE001 - reported on the tick
        out[iid] = ("error", exc)


def _error(exc: BaseException) -> dict[str, Any]:
    from ..execution.step import serialize_error

    err = serialize_error(exc)
    return {"type": err["type"], "message": err["message"], "stack": err["stack"][-10:]}
