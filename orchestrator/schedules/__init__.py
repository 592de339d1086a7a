"""Schedules and sensors: run requests on a timetable and in response to the world.

See :mod:`orchestrator.schedules.definitions`; the daemon (``orchestrator daemon``)
evaluates them.
"""

from __future__ import annotations

from .definitions import (
                          AssetSensorDefinition,
                          RunFailureSensorContext,
                          RunStatusSensorContext,
                          RunStatusSensorDefinition,
                          ScheduleDefinition,
                          ScheduleEvaluationContext,
                          SensorDefinition,
                          SensorEvaluationContext,
                          TickResult,
                          asset_sensor,
                          build_schedule_context,
                          build_schedule_from_partitioned_job,
                          build_sensor_context,
                          run_failure_sensor,
                          run_status_sensor,
                          schedule,
                          sensor,
)
from .requests import (
                          DefaultScheduleStatus,
                          DefaultSensorStatus,
                          RunRequest,
                          SensorResult,
                          SkipReason,
                          TickStatus,
)

__all__ = [
    "AssetSensorDefinition",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "RunFailureSensorContext",
    "RunRequest",
    "RunStatusSensorContext",
    "RunStatusSensorDefinition",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "SkipReason",
    "TickResult",
    "TickStatus",
    "asset_sensor",
    "build_schedule_context",
    "build_schedule_from_partitioned_job",
    "build_sensor_context",
    "run_failure_sensor",
    "run_status_sensor",
    "schedule",
    "sensor",
]
