"""Events and runs: what the run store keeps.

Every thing that happens in a run is an :class:`Event` appended to the run's ordered event
log: run and step lifecycle, logs, materializations with metadata, check results, type
checks and engine events. A :class:`RunRecord` holds a run's identity and status.

Event ``data`` is a JSON-serialisable dict whose keys depend on the event type; the keys
the core relies on are documented on :class:`EventType`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .asset_key import AssetKey

__all__ = ["Event", "EventType", "RunRecord", "RunStatus", "level_name"]


class EventType(str, Enum):
    """Kinds of events. The value is what the run store keeps.

    Data keys the core relies on:

    - ``RUN_*``: none required. ``RUN_FAILURE`` may carry ``error``.
    - ``STEP_FAILURE``: ``error`` (``{"type", "message", "stack", "cause"}``) and
      ``asset_keys`` (user strings of the assets the step should have produced).
    - ``ASSET_MATERIALIZATION``: ``metadata`` (name → ``{"type", "raw_value"}``),
      optional ``data_version`` and ``code_version``; the event's ``asset_key`` and
      ``partition`` say what was materialized.
    - ``ASSET_CHECK_EVALUATION``: ``check_name``, ``passed``, ``severity``, ``metadata``.
    - ``TYPE_CHECK``: ``label`` (input or output name), ``type_name``, ``success``.
    - ``EXTERNAL_LAUNCHED``: ``launcher``, ``handle`` (a JSON object from which the
      launcher can reattach) and optional ``console_url`` / ``log_locator``.
    """

    RUN_ENQUEUED = "RUN_ENQUEUED"
    RUN_START = "RUN_START"
    RUN_SUCCESS = "RUN_SUCCESS"
    RUN_FAILURE = "RUN_FAILURE"
    RUN_CANCELING = "RUN_CANCELING"
    RUN_CANCELED = "RUN_CANCELED"
    STEP_START = "STEP_START"
    STEP_SUCCESS = "STEP_SUCCESS"
    STEP_FAILURE = "STEP_FAILURE"
    STEP_SKIPPED = "STEP_SKIPPED"
    STEP_UP_FOR_RETRY = "STEP_UP_FOR_RETRY"
    STEP_RESTARTED = "STEP_RESTARTED"
    STEP_OUTPUT = "STEP_OUTPUT"
    HANDLED_OUTPUT = "HANDLED_OUTPUT"
    LOADED_INPUT = "LOADED_INPUT"
    ASSET_MATERIALIZATION = "ASSET_MATERIALIZATION"
    ASSET_MATERIALIZATION_PLANNED = "ASSET_MATERIALIZATION_PLANNED"
    ASSET_OBSERVATION = "ASSET_OBSERVATION"
    ASSET_CHECK_EVALUATION = "ASSET_CHECK_EVALUATION"
    TYPE_CHECK = "TYPE_CHECK"
    LOG = "LOG"
    ENGINE_EVENT = "ENGINE_EVENT"
    EXTERNAL_LAUNCHED = "EXTERNAL_LAUNCHED"
    PROGRESS = "PROGRESS"

    def __str__(self) -> str:
        return self.value


RUN_TERMINAL_EVENTS = frozenset(
    {EventType.RUN_SUCCESS, EventType.RUN_FAILURE, EventType.RUN_CANCELED}
)


class RunStatus(str, Enum):
    """Where a run is in its life. ``SUCCESS``, ``FAILURE`` and ``CANCELED`` are final."""

    QUEUED = "QUEUED"
    NOT_STARTED = "NOT_STARTED"
    STARTING = "STARTING"
    STARTED = "STARTED"
    CANCELING = "CANCELING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        return self in (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED)

    def __str__(self) -> str:
        return self.value


#: The run status each run lifecycle event moves a run to (applied by the store in the same
#: transaction that appends the event, so status and log never disagree).
STATUS_FOR_EVENT: dict[EventType, RunStatus] = {
    EventType.RUN_ENQUEUED: RunStatus.QUEUED,
    EventType.RUN_START: RunStatus.STARTED,
    EventType.RUN_SUCCESS: RunStatus.SUCCESS,
    EventType.RUN_FAILURE: RunStatus.FAILURE,
    EventType.RUN_CANCELING: RunStatus.CANCELING,
    EventType.RUN_CANCELED: RunStatus.CANCELED,
}


def level_name(level: int) -> str:
    """``logging.INFO`` → ``"INFO"``."""
    return logging.getLevelName(level) if isinstance(level, int) else str(level)


@dataclass(slots=True)
class Event:
    """One entry of a run's event log.

    ``storage_id`` is assigned by the run store when the event is stored; it orders the
    events of a run and is the cursor for tailing a run's log.
    """

    event_type: EventType
    run_id: str
    message: str = ""
    step_key: str | None = None
    asset_key: AssetKey | None = None
    partition: str | None = None
    level: int = logging.INFO
    data: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)
    storage_id: int | None = None

    # Dagster-shaped conveniences -------------------------------------------------------
    @property
    def event_type_value(self) -> str:
        return self.event_type.value

    @property
    def is_step_success(self) -> bool:
        return self.event_type is EventType.STEP_SUCCESS

    @property
    def is_step_failure(self) -> bool:
        return self.event_type is EventType.STEP_FAILURE

    @property
    def is_failure(self) -> bool:
        return self.event_type in (EventType.STEP_FAILURE, EventType.RUN_FAILURE)

    @property
    def is_asset_materialization(self) -> bool:
        return self.event_type is EventType.ASSET_MATERIALIZATION

    @property
    def metadata(self) -> dict[str, Any]:
        """Metadata of a materialization or check event, as plain values."""
        from .metadata import metadata_from_wire  # local: keeps events import-light

        return metadata_from_wire(self.data.get("metadata") or {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "storage_id": self.storage_id,
            "run_id": self.run_id,
            "timestamp": self.timestamp,
            "event_type": self.event_type.value,
            "level": level_name(self.level),
            "step_key": self.step_key,
            "asset_key": self.asset_key.to_user_string() if self.asset_key else None,
            "partition": self.partition,
            "message": self.message,
            "data": self.data,
        }


@dataclass(slots=True)
class RunRecord:
    """A run: which job, which assets or steps, what config, where it stands."""

    run_id: str
    job_name: str
    status: RunStatus = RunStatus.NOT_STARTED
    tags: dict[str, str] = field(default_factory=dict)
    run_config: dict[str, Any] = field(default_factory=dict)  # secrets already redacted
    asset_selection: list[str] | None = None  # user strings of selected asset keys
    step_keys_to_execute: list[str] | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None
    partition: str | None = None  # a key, or "start...end" for a range run
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    code_location: str | None = None  # how to load the definitions again (for re-execution)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job_name": self.job_name,
            "status": self.status.value,
            "tags": self.tags,
            "run_config": self.run_config,
            "asset_selection": self.asset_selection,
            "step_keys_to_execute": self.step_keys_to_execute,
            "parent_run_id": self.parent_run_id,
            "root_run_id": self.root_run_id,
            "partition": self.partition,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "code_location": self.code_location,
        }
