"""What schedules and sensors return: run requests, skip reasons, sensor results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..errors import DefinitionError

__all__ = ["DefaultScheduleStatus", "DefaultSensorStatus", "RunRequest", "SensorResult",
           "SkipReason", "TickStatus"]


class DefaultScheduleStatus(str, Enum):
    """Whether a schedule runs as soon as a daemon loads it (``RUNNING``) or waits for
    ``orchestrator schedule start`` (``STOPPED``, the default)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class DefaultSensorStatus(str, Enum):
    """Like :class:`DefaultScheduleStatus`, for sensors."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class TickStatus(str, Enum):
    """The outcome of one evaluation of a schedule or sensor."""

    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    SKIPPED = "SKIPPED"
    FAILURE = "FAILURE"


@dataclass(frozen=True)
class RunRequest:
    """Ask for a run: ``RunRequest(run_key="file-a.csv", run_config={...}, tags={...},
    partition_key="2024-01-01")``.

    A ``run_key`` makes the request idempotent: a schedule or sensor asks for each key at
    most once (a second request with the same key is skipped, even after a restart).
    ``job_name`` picks one of a sensor's ``jobs=``; ``asset_selection`` runs a subset of an
    asset job (a list of asset keys).
    """

    run_key: str | None = None
    run_config: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    job_name: str | None = None
    partition_key: str | None = None
    asset_selection: Sequence[Any] | None = None

    def __post_init__(self) -> None:
        if self.run_key is not None and not isinstance(self.run_key, str):
            raise DefinitionError(f"RunRequest: run_key must be a string, got {self.run_key!r}")
        if not isinstance(self.run_config, Mapping):
            raise DefinitionError(f"RunRequest: run_config must be a dict, got "
                                  f"{type(self.run_config).__name__}")
        bad = {k: v for k, v in dict(self.tags or {}).items()
               if not isinstance(k, str) or not isinstance(v, str)}
        if bad:
            raise DefinitionError(f"RunRequest: tags must map strings to strings; bad: {bad!r}")
        if self.partition_key is not None and not isinstance(self.partition_key, str):
            raise DefinitionError(f"RunRequest: partition_key must be a string, got "
                                  f"{self.partition_key!r}")


@dataclass(frozen=True)
class SkipReason:
    """Return it from a schedule or sensor to record why no run was requested."""

    skip_message: str | None = None


@dataclass
class SensorResult:
    """A sensor's full answer: run requests, a skip reason and/or a new cursor."""

    run_requests: Sequence[RunRequest] | None = None
    skip_reason: SkipReason | str | None = None
    cursor: str | None = None


def normalize_result(value: Any, where: str) -> tuple[list[RunRequest], str | None, Any]:
    """(run requests, skip message, cursor or NO_CURSOR) from what a user function returned.

    Accepts a RunRequest, a SkipReason, a SensorResult, None, a run config dict (schedules),
    or an iterable (list, generator) of RunRequests and SkipReasons.
    """
    if value is None:
        return [], None, _NO_CURSOR
    if isinstance(value, RunRequest):
        return [value], None, _NO_CURSOR
    if isinstance(value, SkipReason):
        return [], value.skip_message or "skipped", _NO_CURSOR
    if isinstance(value, SensorResult):
        skip = value.skip_reason
        msg = skip.skip_message if isinstance(skip, SkipReason) else skip
        reqs = list(value.run_requests or [])
        for r in reqs:
            if not isinstance(r, RunRequest):
                raise DefinitionError(f"{where}: SensorResult.run_requests must hold "
                                      f"RunRequest objects, got {r!r}")
        return reqs, msg, (value.cursor if value.cursor is not None else _NO_CURSOR)
    if isinstance(value, Mapping):
        return [RunRequest(run_config=value)], None, _NO_CURSOR
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise DefinitionError(
            f"{where} returned {type(value).__name__} {value!r}; return (or yield) RunRequest "
            f"objects, a SkipReason, a SensorResult or None")
    reqs: list[RunRequest] = []
    skip_msg = None
    for item in value:
        if isinstance(item, RunRequest):
            reqs.append(item)
        elif isinstance(item, SkipReason):
            skip_msg = item.skip_message or "skipped"
        else:
            raise DefinitionError(f"{where} yielded {type(item).__name__} {item!r}; yield "
                                  f"RunRequest or SkipReason objects")
    return reqs, (skip_msg if not reqs else None), _NO_CURSOR


class _NoCursor:
    def __repr__(self) -> str:
        return "NO_CURSOR"


_NO_CURSOR: Any = _NoCursor()
NO_CURSOR = _NO_CURSOR
