"""Schedules and sensors: when to ask for runs.

::

    nightly = ScheduleDefinition(job=etl_job, cron_schedule="0 3 * * *",
                                 execution_timezone="Europe/Paris",
                                 default_status=DefaultScheduleStatus.RUNNING)

    @schedule(job=etl_job, cron_schedule="*/15 * * * *")
    def every_quarter(context):
        return RunRequest(run_config={...}, tags={"slot": context.scheduled_execution_time
                                                  .strftime("%H:%M")})

    @sensor(job=ingest_job, minimum_interval_seconds=10)
    def new_files(context):
        seen = int(context.cursor or 0)
        ...
        context.update_cursor(str(latest))
        return [RunRequest(run_key=name, run_config=...) for name in new]

Test them without a daemon: ``every_quarter(build_schedule_context(scheduled_execution_time=
dt))`` and ``new_files.evaluate_tick(build_sensor_context(cursor="3"))``.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..asset_key import AssetKey
from ..errors import DefinitionError
from .requests import (
    NO_CURSOR,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    SkipReason,
    normalize_result,
)

__all__ = [
    "AssetSensorDefinition",
    "RunFailureSensorContext",
    "RunStatusSensorContext",
    "RunStatusSensorDefinition",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "SensorDefinition",
    "SensorEvaluationContext",
    "TickResult",
    "asset_sensor",
    "build_schedule_context",
    "build_schedule_from_partitioned_job",
    "build_sensor_context",
    "run_failure_sensor",
    "run_status_sensor",
    "schedule",
    "sensor",
]

logger = logging.getLogger("orchestrator.schedules")


@dataclass
class TickResult:
    """What one evaluation produced."""

    run_requests: list[RunRequest] = field(default_factory=list)
    skip_message: str | None = None
    cursor: Any = NO_CURSOR  # a new cursor (str or None), or NO_CURSOR when unchanged


def _job_name_of(job: Any, where: str) -> str | None:
    if job is None:
        return None
    name = getattr(job, "name", None)
    if not isinstance(name, str):
        raise DefinitionError(f"{where}: job= must be a job (define_asset_job, @job, "
                              f"JobDefinition), got {job!r}")
    return name


def _check_name(name: Any, where: str) -> str:
    from ..ops import _check_name as check

    if not isinstance(name, str) or not name:
        raise DefinitionError(f"{where}: a name is required (name=...)")
    check(name, where.split(" ")[0])
    return name


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` with as many leading positional args as it takes (context is optional)."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        has_var = any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(fn).parameters
                      .values())
    except (TypeError, ValueError):
        return fn(*args)
    return fn(*(args if has_var else args[:len(params)]))


# -- contexts ----------------------------------------------------------------------------------
class ScheduleEvaluationContext:
    """What a schedule function sees: ``context.scheduled_execution_time`` (an aware
    datetime in the schedule's timezone), ``context.instance``, ``context.log``."""

    def __init__(self, instance: Any = None, scheduled_execution_time: datetime | None = None,
                 schedule_name: str | None = None) -> None:
        self._instance = instance
        self._time = scheduled_execution_time
        self.schedule_name = schedule_name
        self.log = logger

    @property
    def instance(self) -> Any:
        if self._instance is None:
            from ..instance import Instance

            self._instance = Instance.ephemeral()
        return self._instance

    @property
    def scheduled_execution_time(self) -> datetime:
        if self._time is None:
            self._time = datetime.now(UTC)
        return self._time


def build_schedule_context(instance: Any = None,
                           scheduled_execution_time: datetime | None = None
                           ) -> ScheduleEvaluationContext:
    """A context to call a schedule function in a test (naive times are taken as UTC)."""
    if scheduled_execution_time is not None and scheduled_execution_time.tzinfo is None:
        scheduled_execution_time = scheduled_execution_time.replace(tzinfo=UTC)
    return ScheduleEvaluationContext(instance, scheduled_execution_time)


class SensorEvaluationContext:
    """What a sensor function sees: ``context.cursor`` (a string the sensor keeps between
    evaluations, ``None`` at first), ``context.update_cursor(value)``,
    ``context.last_tick_completion_time``, ``context.last_run_key``, ``context.instance``."""

    def __init__(self, instance: Any = None, cursor: str | None = None,
                 last_tick_completion_time: float | None = None,
                 last_run_key: str | None = None, sensor_name: str | None = None,
                 evaluation_time: float | None = None) -> None:
        self._instance = instance
        self._cursor = cursor
        self._new_cursor: Any = NO_CURSOR
        self.last_tick_completion_time = last_tick_completion_time
        self.last_run_key = last_run_key
        self.sensor_name = sensor_name
        self.evaluation_time = evaluation_time
        self.log = logger

    @property
    def instance(self) -> Any:
        if self._instance is None:
            from ..instance import Instance

            self._instance = Instance.ephemeral()
        return self._instance

    @property
    def cursor(self) -> str | None:
        return self._new_cursor if self._new_cursor is not NO_CURSOR else self._cursor

    def update_cursor(self, cursor: str | None) -> None:
        """Keep ``cursor`` for the next evaluation (saved only if the tick succeeds)."""
        if cursor is not None and not isinstance(cursor, str):
            raise DefinitionError(f"sensor '{self.sensor_name}': update_cursor takes a string "
                                  f"(serialize it, e.g. json.dumps), got {cursor!r}")
        self._new_cursor = cursor


def build_sensor_context(instance: Any = None, cursor: str | None = None,
                         last_tick_completion_time: float | None = None,
                         last_run_key: str | None = None,
                         sensor_name: str | None = None) -> SensorEvaluationContext:
    """A context to evaluate a sensor in a test."""
    return SensorEvaluationContext(instance, cursor, last_tick_completion_time, last_run_key,
                                   sensor_name)


# -- schedules ---------------------------------------------------------------------------------
class ScheduleDefinition:
    """Run a job on a cron schedule (evaluated in ``execution_timezone``, default UTC).

    Give ``run_config``/``tags`` (fixed) or ``execution_fn(context)`` returning RunRequests,
    a SkipReason or a run config dict. ``should_execute(context) -> bool`` can veto a tick.
    A tick requests each run once: its default run key is the tick's time.
    """

    kind = "schedule"

    def __init__(self, name: str | None = None, *, cron_schedule: str, job: Any = None,
                 job_name: str | None = None, run_config: Mapping[str, Any] | None = None,
                 run_config_fn: Callable[..., Any] | None = None,
                 tags: Mapping[str, str] | None = None,
                 tags_fn: Callable[..., Any] | None = None,
                 should_execute: Callable[..., bool] | None = None,
                 execution_timezone: str | None = None, description: str | None = None,
                 default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
                 execution_fn: Callable[..., Any] | None = None,
                 metadata: Mapping[str, Any] | None = None) -> None:
        from ..partitions._cron import Cron

        where = f"schedule '{name}'" if name else "ScheduleDefinition"
        self.job = job
        self.job_name = job_name or _job_name_of(job, where)
        if self.job_name is None:
            raise DefinitionError(f"{where}: give job= (or job_name=) to say what to run")
        self.name = _check_name(name or f"{self.job_name}_schedule", "schedule name")
        where = f"schedule '{self.name}'"
        self.cron_schedule = cron_schedule
        self.execution_timezone = execution_timezone
        try:
            self.cron = Cron(cron_schedule, execution_timezone)
        except DefinitionError as exc:
            raise DefinitionError(f"{where}: {exc}") from None
        if not isinstance(default_status, DefaultScheduleStatus):
            raise DefinitionError(f"{where}: default_status must be DefaultScheduleStatus."
                                  f"RUNNING or .STOPPED, got {default_status!r}")
        if execution_fn is not None and (run_config is not None or run_config_fn is not None):
            raise DefinitionError(f"{where}: give execution_fn or run_config/run_config_fn, "
                                  f"not both")
        self.run_config = dict(run_config or {})
        self.run_config_fn = run_config_fn
        self.tags = dict(tags or {})
        self.tags_fn = tags_fn
        self.should_execute = should_execute
        self.description = description
        self.default_status = default_status
        self.execution_fn = execution_fn
        self.metadata = dict(metadata or {})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the schedule function directly (tests): ``my_schedule(context)``."""
        if self.execution_fn is None:
            raise DefinitionError(f"schedule '{self.name}' has no function to call; use "
                                  f"evaluate_tick(context)")
        fn = getattr(self, "__wrapped__", None) or self.execution_fn
        if not args and not kwargs:
            args = (build_schedule_context(),)
        return _call(fn, *args) if not kwargs else fn(*args, **kwargs)

    def evaluate_tick(self, context: ScheduleEvaluationContext) -> TickResult:
        """Evaluate one tick: the run requests (or skip message) for this scheduled time."""
        where = f"schedule '{self.name}'"
        if self.should_execute is not None and not _call(self.should_execute, context):
            return TickResult([], "should_execute returned False")
        if self.execution_fn is not None:
            reqs, skip, _ = normalize_result(_call(self.execution_fn, context), where)
            return TickResult(reqs, skip)
        config = _call(self.run_config_fn, context) if self.run_config_fn else self.run_config
        tags = {**self.tags, **(_call(self.tags_fn, context) if self.tags_fn else {})}
        return TickResult([RunRequest(run_config=config or {}, tags=tags)])

    def next_tick_after(self, dt: datetime) -> datetime:
        return self.cron.next_after(dt)

    def __repr__(self) -> str:
        return f"<ScheduleDefinition {self.name!r} {self.cron_schedule!r} -> {self.job_name!r}>"


def schedule(cron_schedule: str, *, job: Any = None, job_name: str | None = None,
             name: str | None = None, execution_timezone: str | None = None,
             description: str | None = None, tags: Mapping[str, str] | None = None,
             default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
             should_execute: Callable[..., bool] | None = None,
             metadata: Mapping[str, Any] | None = None) -> Callable[..., ScheduleDefinition]:
    """Decorate ``fn(context)`` returning RunRequest(s), a SkipReason or a run config dict.
    Tags given here are added to every run the schedule requests."""

    def deco(fn: Callable[..., Any]) -> ScheduleDefinition:
        base_tags = dict(tags or {})

        def execution_fn(context: ScheduleEvaluationContext) -> Any:
            value = _call(fn, context)
            if not base_tags:
                return value
            reqs, skip, _ = normalize_result(value, f"schedule '{name or fn.__name__}'")
            if skip is not None:
                return SkipReason(skip)
            return [RunRequest(run_key=r.run_key, run_config=r.run_config,
                               tags={**base_tags, **r.tags}, job_name=r.job_name,
                               partition_key=r.partition_key,
                               asset_selection=r.asset_selection) for r in reqs]

        sd = ScheduleDefinition(name or fn.__name__, cron_schedule=cron_schedule, job=job,
                                job_name=job_name, execution_timezone=execution_timezone,
                                description=description or (fn.__doc__ or "").strip() or None,
                                default_status=default_status, execution_fn=execution_fn,
                                should_execute=should_execute, metadata=metadata)
        sd.__wrapped__ = fn  # type: ignore[attr-defined]
        return sd

    return deco


def build_schedule_from_partitioned_job(
        job: Any, *, description: str | None = None, name: str | None = None,
        minute_of_hour: int | None = None, hour_of_day: int | None = None,
        day_of_week: int | None = None, day_of_month: int | None = None,
        default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
        tags: Mapping[str, str] | None = None, cron_schedule: str | None = None,
        execution_timezone: str | None = None) -> ScheduleDefinition:
    """A schedule that runs a time-partitioned job for each partition once its window has
    ended: a daily job runs just after midnight for the day before. With a
    multi-partitioned job (a time dimension and a static one), one run per static key."""
    from ..partitions import MultiPartitionsDefinition, TimeWindowPartitionsDefinition

    jname = _job_name_of(job, "build_schedule_from_partitioned_job")
    pdef = getattr(job, "partitions_def", None)
    time_def = pdef.time_window_dimension.partitions_def if isinstance(
        pdef, MultiPartitionsDefinition) and pdef.time_window_dimension else pdef
    if not isinstance(time_def, TimeWindowPartitionsDefinition):
        raise DefinitionError(
            f"build_schedule_from_partitioned_job: job '{jname}' needs a time-window "
            f"partitions_def (e.g. define_asset_job(..., partitions_def="
            f"DailyPartitionsDefinition(...))); it has {pdef!r}")
    if cron_schedule is None:
        fields = time_def.cron.minute_expr.split() if hasattr(time_def, "cron") else \
            time_def.schedule_cron.minute_expr.split()
        for i, v in ((0, minute_of_hour), (1, hour_of_day), (2, day_of_month), (4, day_of_week)):
            if v is not None:
                fields[i] = str(v)
        cron_schedule = " ".join(fields)

    def execution_fn(context: ScheduleEvaluationContext) -> Any:
        last = time_def.get_last_partition_key(current_time=context.scheduled_execution_time)
        if last is None:
            return SkipReason("no partition has ended yet")
        if isinstance(pdef, MultiPartitionsDefinition):
            tname = pdef.time_window_dimension.name  # type: ignore[union-attr]
            keys = [k for k in pdef.get_partition_keys(context.scheduled_execution_time)
                    if k.keys_by_dimension[tname] == last]
        else:
            keys = [last]
        return [RunRequest(run_key=k, partition_key=k, tags=dict(tags or {})) for k in keys]

    return ScheduleDefinition(name or f"{jname}_schedule", cron_schedule=cron_schedule,
                              job=job, job_name=jname,
                              execution_timezone=execution_timezone or time_def.timezone,
                              description=description, default_status=default_status,
                              execution_fn=execution_fn)


# -- sensors -----------------------------------------------------------------------------------
class SensorDefinition:
    """Ask for runs in response to the world; evaluated every ``minimum_interval_seconds``
    (default 30) by the daemon. ``evaluation_fn(context)`` returns RunRequest(s), a
    SkipReason, a SensorResult or None; ``context.update_cursor`` keeps state."""

    kind = "sensor"

    def __init__(self, name: str | None = None, *,
                 evaluation_fn: Callable[..., Any] | None = None, job: Any = None,
                 job_name: str | None = None, jobs: Sequence[Any] | None = None,
                 minimum_interval_seconds: float | None = None,
                 description: str | None = None,
                 default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
                 metadata: Mapping[str, Any] | None = None) -> None:
        if evaluation_fn is None:
            raise DefinitionError(f"sensor '{name}': evaluation_fn= is required")
        self.name = _check_name(name or getattr(evaluation_fn, "__name__", None), "sensor name")
        where = f"sensor '{self.name}'"
        self.job = job
        self.jobs = list(jobs or ([job] if job is not None else []))
        names = [_job_name_of(j, where) for j in self.jobs]
        if job_name is not None:
            names = [job_name] + [n for n in names if n != job_name]
        self.job_names: list[str] = [n for n in names if n]
        self.job_name = self.job_names[0] if self.job_names else None
        interval = 30 if minimum_interval_seconds is None else minimum_interval_seconds
        if not isinstance(interval, (int, float)) or interval < 0:
            raise DefinitionError(f"{where}: minimum_interval_seconds must be a number >= 0, "
                                  f"got {minimum_interval_seconds!r}")
        self.minimum_interval_seconds = float(interval)
        if not isinstance(default_status, DefaultSensorStatus):
            raise DefinitionError(f"{where}: default_status must be DefaultSensorStatus."
                                  f"RUNNING or .STOPPED, got {default_status!r}")
        self.default_status = default_status
        self.description = description
        self.metadata = dict(metadata or {})
        self._fn = evaluation_fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the sensor function directly (tests)."""
        if not args and not kwargs:
            args = (build_sensor_context(sensor_name=self.name),)
        return _call(self._fn, *args) if not kwargs else self._fn(*args, **kwargs)

    def evaluate_tick(self, context: SensorEvaluationContext) -> TickResult:
        """Evaluate once: the run requests, skip message and new cursor."""
        context.sensor_name = context.sensor_name or self.name
        reqs, skip, cursor = normalize_result(_call(self._fn, context), f"sensor '{self.name}'")
        if cursor is NO_CURSOR:
            cursor = context._new_cursor
        return TickResult(reqs, skip, cursor)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} -> {self.job_names}>"


def sensor(job: Any = None, *, name: str | None = None, job_name: str | None = None,
           jobs: Sequence[Any] | None = None, minimum_interval_seconds: float | None = None,
           description: str | None = None,
           default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
           metadata: Mapping[str, Any] | None = None) -> Callable[..., SensorDefinition]:
    """Decorate ``fn(context)`` into a :class:`SensorDefinition`."""

    def deco(fn: Callable[..., Any]) -> SensorDefinition:
        return SensorDefinition(name or fn.__name__, evaluation_fn=fn, job=job,
                                job_name=job_name, jobs=jobs,
                                minimum_interval_seconds=minimum_interval_seconds,
                                description=description or (fn.__doc__ or "").strip() or None,
                                default_status=default_status, metadata=metadata)

    return deco


def _load_cursor(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class AssetSensorDefinition(SensorDefinition):
    """Runs ``fn(context, asset_event)`` for each new materialization of ``asset_key``
    (oldest first; at first, the latest existing one). ``asset_event`` is the
    ASSET_MATERIALIZATION :class:`~orchestrator.events.Event` (``.run_id``, ``.partition``,
    ``.metadata``)."""

    def __init__(self, name: str, *, asset_key: Any, fn: Callable[..., Any], **kwargs: Any):
        self.asset_key = AssetKey.from_coercible(asset_key)
        self._asset_fn = fn
        super().__init__(name, evaluation_fn=self._evaluate, **kwargs)

    def _evaluate(self, context: SensorEvaluationContext) -> Any:
        from ..events import EventType

        storage = context.instance.run_storage
        state = _load_cursor(context.cursor)
        after = state.get("storage_id")
        if after is None:
            latest = storage.get_latest_materialization(self.asset_key)
            events = [latest] if latest is not None else []
        else:
            events = [e for e in storage.get_all_events(
                after=after, event_types=[EventType.ASSET_MATERIALIZATION])
                if e.asset_key == self.asset_key]
        reqs: list[RunRequest] = []
        skip = None
        for ev in events:
            r, s, _ = normalize_result(_call(self._asset_fn, context, ev),
                                       f"asset sensor '{self.name}'")
            reqs += r
            skip = s or skip
            after = ev.storage_id
        context.update_cursor(json.dumps({"storage_id": after}))
        if not events:
            return SkipReason(f"no new materialization of "
                              f"'{self.asset_key.to_user_string()}'")
        return reqs if reqs else SkipReason(skip or "sensor function requested no run")


def asset_sensor(asset_key: Any, *, job: Any = None, name: str | None = None,
                 job_name: str | None = None, jobs: Sequence[Any] | None = None,
                 minimum_interval_seconds: float | None = None,
                 description: str | None = None,
                 default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED
                 ) -> Callable[..., AssetSensorDefinition]:
    """Decorate ``fn(context, asset_event)``: called for each new materialization of
    ``asset_key``; return RunRequest(s) to start the job."""

    def deco(fn: Callable[..., Any]) -> AssetSensorDefinition:
        return AssetSensorDefinition(name or fn.__name__, asset_key=asset_key, fn=fn, job=job,
                                     job_name=job_name, jobs=jobs,
                                     minimum_interval_seconds=minimum_interval_seconds,
                                     description=description, default_status=default_status)

    return deco


class RunStatusSensorContext:
    """``context.dagster_run`` (the RunRecord) and ``context.dagster_event`` (the run's
    final Event) of a run that reached the watched status."""

    def __init__(self, sensor_name: str, dagster_run: Any, dagster_event: Any,
                 instance: Any, log: Any = logger) -> None:
        self.sensor_name = sensor_name
        self.dagster_run = dagster_run
        self.dagster_event = dagster_event
        self.instance = instance
        self.log = log

    @property
    def run(self) -> Any:
        return self.dagster_run


class RunFailureSensorContext(RunStatusSensorContext):
    """Adds ``failure_event`` and ``get_step_failure_events()``."""

    @property
    def failure_event(self) -> Any:
        return self.dagster_event

    def get_step_failure_events(self) -> list[Any]:
        from ..events import EventType

        return self.instance.run_storage.get_events(self.dagster_run.run_id,
                                                    event_types=[EventType.STEP_FAILURE])


_RUN_STATUS_EVENTS = {"SUCCESS": "RUN_SUCCESS", "FAILURE": "RUN_FAILURE",
                      "CANCELED": "RUN_CANCELED", "STARTED": "RUN_START",
                      "QUEUED": "RUN_ENQUEUED", "CANCELING": "RUN_CANCELING"}


class RunStatusSensorDefinition(SensorDefinition):
    """Calls ``fn(context)`` for each run (of ``monitored_jobs``, default all) that reaches
    ``run_status`` after the sensor starts; returned RunRequests start ``request_job``."""

    def __init__(self, name: str, *, run_status: Any, fn: Callable[..., Any],
                 monitored_jobs: Sequence[Any] | None = None, request_job: Any = None,
                 request_jobs: Sequence[Any] | None = None,
                 minimum_interval_seconds: float | None = None,
                 description: str | None = None,
                 default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
                 context_class: type = RunStatusSensorContext) -> None:
        from ..events import EventType, RunStatus

        status = RunStatus(getattr(run_status, "value", run_status))
        if status.value not in _RUN_STATUS_EVENTS:
            raise DefinitionError(f"run_status_sensor '{name}': cannot watch status "
                                  f"{status.value}; use one of {sorted(_RUN_STATUS_EVENTS)}")
        self.run_status = status
        self._event_type = EventType(_RUN_STATUS_EVENTS[status.value])
        self.monitored_job_names = {_job_name_of(j, name) if not isinstance(j, str) else j
                                    for j in (monitored_jobs or [])}
        self._status_fn = fn
        self._context_class = context_class
        jobs = list(request_jobs or ([request_job] if request_job is not None else []))
        super().__init__(name, evaluation_fn=self._evaluate, jobs=jobs,
                         minimum_interval_seconds=minimum_interval_seconds,
                         description=description, default_status=default_status)

    def _evaluate(self, context: SensorEvaluationContext) -> Any:
        storage = context.instance.run_storage
        state = _load_cursor(context.cursor)
        after = state.get("storage_id")
        since = state.get("since")
        if after is None and since is None:
            since = context.evaluation_time or datetime.now(UTC).timestamp()
        reqs: list[RunRequest] = []
        seen = 0
        while True:
            events = storage.get_all_events(after=after, event_types=[self._event_type],
                                            limit=500)
            for ev in events:
                after = ev.storage_id
                if since is not None and ev.timestamp < since:
                    continue
                run = storage.get_run(ev.run_id)
                if run is None or (self.monitored_job_names and
                                   run.job_name not in self.monitored_job_names):
                    continue
                if run.tags.get("orchestrator/sensor") == self.name:
                    continue  # do not react to runs this sensor started
                seen += 1
                ctx = self._context_class(self.name, run, ev, context.instance)
                r, _, _ = normalize_result(_call(self._status_fn, ctx),
                                           f"run status sensor '{self.name}'")
                reqs += [RunRequest(run_key=rq.run_key or f"{run.run_id}:{i}",
                                    run_config=rq.run_config, tags=rq.tags,
                                    job_name=rq.job_name, partition_key=rq.partition_key,
                                    asset_selection=rq.asset_selection)
                         for i, rq in enumerate(r)]
            if len(events) < 500:
                break
        cursor: dict[str, Any] = {"storage_id": after}
        if after is None:
            cursor["since"] = since
        context.update_cursor(json.dumps(cursor))
        if reqs:
            return reqs
        return SkipReason(f"{seen} run(s) reached {self.run_status.value}; no run requested"
                          if seen else f"no run reached {self.run_status.value}")


def run_status_sensor(run_status: Any, *, name: str | None = None,
                      monitored_jobs: Sequence[Any] | None = None, request_job: Any = None,
                      request_jobs: Sequence[Any] | None = None,
                      minimum_interval_seconds: float | None = None,
                      description: str | None = None,
                      default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED
                      ) -> Callable[..., RunStatusSensorDefinition]:
    """Decorate ``fn(context: RunStatusSensorContext)``, called for each run that reaches
    ``run_status`` (a RunStatus)."""

    def deco(fn: Callable[..., Any]) -> RunStatusSensorDefinition:
        return RunStatusSensorDefinition(name or fn.__name__, run_status=run_status, fn=fn,
                                         monitored_jobs=monitored_jobs,
                                         request_job=request_job, request_jobs=request_jobs,
                                         minimum_interval_seconds=minimum_interval_seconds,
                                         description=description, default_status=default_status)

    return deco


def run_failure_sensor(fn: Callable[..., Any] | None = None, *, name: str | None = None,
                       monitored_jobs: Sequence[Any] | None = None, request_job: Any = None,
                       minimum_interval_seconds: float | None = None,
                       description: str | None = None,
                       default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED
                       ) -> Any:
    """Decorate ``fn(context: RunFailureSensorContext)``, called for each failed run."""
    from ..events import RunStatus

    def deco(f: Callable[..., Any]) -> RunStatusSensorDefinition:
        return RunStatusSensorDefinition(name or f.__name__, run_status=RunStatus.FAILURE, fn=f,
                                         monitored_jobs=monitored_jobs, request_job=request_job,
                                         minimum_interval_seconds=minimum_interval_seconds,
                                         description=description, default_status=default_status,
                                         context_class=RunFailureSensorContext)

    return deco(fn) if fn is not None else deco
