"""The run store contract.

A run store keeps runs, each run's ordered event log, and the asset state derived from
it (latest materialization per asset and partition, history, check results). The core
talks to storage only through :class:`RunStorage`, so that a server-backed store
(PostgreSQL) can be added behind it. The embedded default is
:class:`orchestrator.storage.sqlite.SqliteRunStorage`.

Rules every implementation follows:

- ``store_events`` is atomic: the events, the run status they imply
  (``events.STATUS_FOR_EVENT``) and the asset index they update land together or not at
  all. Events get increasing ``storage_id`` s.
- Several processes and threads may write at once (a multiprocess run, a daemon, the CLI).
- Reads never block writers for long; a reader can tail a run with ``after=storage_id``.
- A finished run (``SUCCESS``, ``FAILURE``, ``CANCELED``) is not moved by a later
  lifecycle event (the event is still logged); ``update_run`` may set any status.
- Asset index semantics: a ``STEP_FAILURE`` whose data lists ``asset_keys`` (and optionally
  ``partitions``, else the event's partition) marks those (asset, partition) pairs FAILED,
  unless the failing run itself materialized that pair; a later materialization makes it
  MATERIALIZED again. A partition planned (``ASSET_MATERIALIZATION_PLANNED``) by a run that
  is still going is MATERIALIZING; planned by a run that failed or was canceled, FAILED.
- Bad input (an event without the asset key or check name its type needs, data that is not
  JSON) raises :class:`~orchestrator.errors.StorageError` and stores nothing of the batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..asset_key import AssetKey
from ..events import Event, EventType, RunRecord, RunStatus

__all__ = ["AssetRecord", "CheckRecord", "PartitionStatus", "RunStorage"]


class PartitionStatus:
    MATERIALIZED = "MATERIALIZED"
    FAILED = "FAILED"
    MATERIALIZING = "MATERIALIZING"
    MISSING = "MISSING"


@dataclass(slots=True)
class AssetRecord:
    """What the store knows about one asset: its latest materialization (any partition)."""

    asset_key: AssetKey
    last_materialization: Event | None
    last_run_id: str | None
    materialization_count: int


@dataclass(slots=True)
class CheckRecord:
    """The latest evaluation of one asset check."""

    asset_key: AssetKey
    check_name: str
    event: Event


class RunStorage(ABC):
    """Where runs, events and asset state live. See the module docstring for the rules."""

    # -- runs ------------------------------------------------------------------------
    @abstractmethod
    def add_run(self, run: RunRecord) -> None:
        """Insert a new run. Raises StorageError if the run id exists."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""

    @abstractmethod
    def get_runs(
        self,
        *,
        statuses: Iterable[RunStatus] | None = None,
        job_name: str | None = None,
        tags: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first, filtered by status, job name and tags (all must match)."""

    @abstractmethod
    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """Change a run's status (and started/ended times accordingly) or merge tags."""

    @abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Remove a run and its events (the asset index keeps other runs' entries)."""

    # -- events ------------------------------------------------------------------------
    @abstractmethod
    def store_events(self, events: Sequence[Event]) -> None:
        """Append events atomically, setting each event's ``storage_id``.

        The same transaction moves runs per ``events.STATUS_FOR_EVENT`` (setting
        ``started_at`` on ``RUN_START`` and ``ended_at`` on a final status, from the event's
        timestamp) and updates the asset index. Events of several runs may share a batch.
        """

    def store_event(self, event: Event) -> None:
        """Append one event (see :meth:`store_events`)."""
        self.store_events([event])

    @abstractmethod
    def get_events(
        self,
        run_id: str,
        *,
        after: int | None = None,
        event_types: Iterable[EventType] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """A run's events in order, optionally after a storage id and of some types."""

    @abstractmethod
    def get_all_events(
        self,
        *,
        after: int | None = None,
        event_types: Iterable[EventType] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events of every run in storage-id order (for daemons tailing the whole log)."""

    # -- assets ------------------------------------------------------------------------
    @abstractmethod
    def get_asset_records(self, keys: Iterable[AssetKey] | None = None) -> list[AssetRecord]:
        """Records of the given assets (or all materialized ones), sorted by key.

        Keys the store has never seen materialized are left out.
        """

    @abstractmethod
    def get_materializations(
        self,
        key: AssetKey,
        *,
        partitions: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Materialization events of an asset, newest first."""

    @abstractmethod
    def get_latest_materialization(
        self, key: AssetKey, partition: str | None = None
    ) -> Event | None:
        """The newest materialization of an asset (of one partition if given)."""

    @abstractmethod
    def get_partition_status(self, key: AssetKey) -> dict[str, str]:
        """Partition key → PartitionStatus for every partition the store has seen.

        The unpartitioned state of an asset is not included (see :meth:`get_asset_status`).
        """

    @abstractmethod
    def get_asset_status(self, key: AssetKey, partition: str | None = None) -> str:
        """The PartitionStatus of an unpartitioned asset, or of one partition of it."""

    @abstractmethod
    def get_latest_check_evaluations(self, key: AssetKey) -> list[CheckRecord]:
        """The newest evaluation of each check of an asset."""

    # -- key-value (cursors, daemon state) ------------------------------------------------
    @abstractmethod
    def kv_get(self, namespace: str, key: str) -> Any | None:
        """A JSON value stored under (namespace, key), or None."""

    @abstractmethod
    def kv_set(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON value under (namespace, key), replacing any previous one."""

    @abstractmethod
    def kv_delete(self, namespace: str, key: str) -> None:
        """Remove the value under (namespace, key), if any."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
