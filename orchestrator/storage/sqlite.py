"""The embedded run store: one SQLite file in WAL mode.

::

    from orchestrator.storage.sqlite import SqliteRunStorage

    store = SqliteRunStorage(".orchestrator/runs.db")    # or ":memory:"
    store.add_run(RunRecord(run_id="r1", job_name="daily"))
    store.store_events([Event(EventType.RUN_START, "r1")])
    store.get_run("r1").status                          # RunStatus.STARTED

Design notes (the why of the code below):

- **One connection per process**, shared by its threads behind a lock
  (``check_same_thread=False``). After ``fork`` the child notices the pid change and opens
  its own connection; the inherited one is parked, never closed (closing a SQLite handle
  that another process also holds can drop that process's locks).
- **Writes** run in ``BEGIN IMMEDIATE`` transactions, so two writers never deadlock; a
  writer that finds the database locked (another process holds the write lock beyond
  ``busy_timeout``) rolls back, backs off and retries.
- **store_events** inserts the whole batch with one ``executemany`` (prepared once, cached
  by the connection). Storage ids come from an ``AUTOINCREMENT`` key: while the write lock
  is held, the ids of one batch are contiguous, so they are derived from
  ``last_insert_rowid()`` without a SELECT per event. The run status and the asset index
  are updated in the same transaction.
- **Asset keys** are stored in one place and one form: the JSON list of their parts
  (``["warehouse","orders"]``), so that parts containing ``/`` round-trip. See
  :func:`asset_key_to_db` / :func:`asset_key_from_db`.
- **Event data** is JSON with compact separators; ``NaN`` and ``Infinity`` are allowed
  (Python's json reads them back), so float metadata round-trips.
- **Schema** is versioned: ``schema_version`` records every applied migration of
  ``MIGRATIONS``; opening an older file upgrades it in place, opening a newer one fails
  with a clear error.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from ..asset_key import AssetKey
from ..errors import StorageError
from ..events import STATUS_FOR_EVENT, Event, EventType, RunRecord, RunStatus
from .base import AssetRecord, CheckRecord, PartitionStatus, RunStorage

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "InMemoryRunStorage",
    "SqliteRunStorage",
    "asset_key_from_db",
    "asset_key_to_db",
]

T = TypeVar("T")

# -- schema ------------------------------------------------------------------------------

#: Migrations in order: (version, description, statements). Append new versions; never edit
#: a released one. Each runs in its own transaction together with its schema_version row.
MIGRATIONS: list[tuple[int, str, tuple[str, ...]]] = [
    (
        1,
        "runs, events, asset index, checks, kv",
        (
            """CREATE TABLE runs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id TEXT NOT NULL UNIQUE,
                job_name TEXT NOT NULL,
                status TEXT NOT NULL,
                partition TEXT,
                parent_run_id TEXT,
                root_run_id TEXT,
                created_at REAL NOT NULL,
                started_at REAL,
                ended_at REAL,
                tags TEXT NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX runs_by_status ON runs (status, id)",
            "CREATE INDEX runs_by_job ON runs (job_name, id)",
            """CREATE TABLE run_tags (
                run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (run_id, key)
            ) WITHOUT ROWID""",
            "CREATE INDEX run_tags_by_value ON run_tags (key, value)",
            """CREATE TABLE events (
                storage_id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id TEXT NOT NULL,
                timestamp REAL NOT NULL,
                event_type TEXT NOT NULL,
                level INTEGER NOT NULL,
                step_key TEXT,
                asset_key TEXT,
                partition TEXT,
                message TEXT NOT NULL,
                data TEXT
            )""",
            "CREATE INDEX events_by_run ON events (run_id, storage_id)",
            """CREATE INDEX events_by_asset ON events (asset_key, event_type, storage_id)
               WHERE asset_key IS NOT NULL""",
            """CREATE INDEX events_step_failures ON events (storage_id)
               WHERE event_type = 'STEP_FAILURE'""",
            # Latest materialization of an asset over all partitions, plus a count.
            """CREATE TABLE assets (
                asset_key TEXT PRIMARY KEY,
                last_materialization_id INTEGER,
                last_run_id TEXT,
                materialization_count INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID""",
            # Per (asset, partition): latest materialization / failure / plan. '' means
            # "not partitioned". The status is derived from these ids when read.
            """CREATE TABLE asset_partitions (
                asset_key TEXT NOT NULL,
                partition TEXT NOT NULL,
                last_materialization_id INTEGER,
                last_materialization_run_id TEXT,
                materialization_count INTEGER NOT NULL DEFAULT 0,
                last_failure_id INTEGER,
                last_planned_id INTEGER,
                last_planned_run_id TEXT,
                PRIMARY KEY (asset_key, partition)
            ) WITHOUT ROWID""",
            """CREATE TABLE asset_checks (
                asset_key TEXT NOT NULL,
                check_name TEXT NOT NULL,
                last_evaluation_id INTEGER NOT NULL,
                last_run_id TEXT NOT NULL,
                PRIMARY KEY (asset_key, check_name)
            ) WITHOUT ROWID""",
            """CREATE TABLE kv (
                namespace TEXT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                updated_at REAL NOT NULL,
                PRIMARY KEY (namespace, key)
            ) WITHOUT ROWID""",
        ),
    ),
]

#: The schema version this code writes.
SCHEMA_VERSION = MIGRATIONS[-1][0]

_BUSY_TIMEOUT_MS = 2_000
_LOCK_RETRY_SECONDS = 120.0  # give up on a locked database after this long

# -- encoding --------------------------------------------------------------------------

_encode_json = json.JSONEncoder(separators=(",", ":"), allow_nan=True).encode
_decode_json = json.loads

_KEY_TO_DB: dict[AssetKey, str] = {}
_KEY_FROM_DB: dict[str, AssetKey] = {}
_KEY_CACHE_MAX = 50_000


def asset_key_to_db(key: AssetKey) -> str:
    """How the store writes an asset key: the JSON list of its parts (``["a","b/c"]``)."""
    text = _KEY_TO_DB.get(key)
    if text is None:
        text = _encode_json(list(key.parts))
        if len(_KEY_TO_DB) < _KEY_CACHE_MAX:
            _KEY_TO_DB[key] = text
    return text


def asset_key_from_db(text: str) -> AssetKey:
    """The inverse of :func:`asset_key_to_db`."""
    key = _KEY_FROM_DB.get(text)
    if key is None:
        key = AssetKey(_decode_json(text))
        if len(_KEY_FROM_DB) < _KEY_CACHE_MAX:
            _KEY_FROM_DB[text] = key
    return key


_EVENT_TYPES: dict[str, EventType] = {t.value: t for t in EventType}
_RUN_STATUSES: dict[str, RunStatus] = {s.value: s for s in RunStatus}
_FINISHED = tuple(s.value for s in RunStatus if s.is_finished)
_STATUS_FOR_EVENT = {t.value: s for t, s in STATUS_FOR_EVENT.items()}

_MAT = EventType.ASSET_MATERIALIZATION
_PLANNED = EventType.ASSET_MATERIALIZATION_PLANNED
_CHECK = EventType.ASSET_CHECK_EVALUATION
_STEP_FAILURE = EventType.STEP_FAILURE
_INDEXED_TYPES = frozenset({_MAT, _PLANNED, _CHECK, _STEP_FAILURE})

_EVENT_COLUMNS = (
    "storage_id, run_id, timestamp, event_type, level, step_key, asset_key, partition, "
    "message, data"
)
_INSERT_EVENT = (
    "INSERT INTO events (run_id, timestamp, event_type, level, step_key, asset_key, "
    "partition, message, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_E_COLUMNS = ", ".join("e." + c.strip() for c in _EVENT_COLUMNS.split(","))
_RUN_COLUMNS = (
    "run_id, job_name, status, partition, parent_run_id, root_run_id, created_at, "
    "started_at, ended_at, tags, body"
)

# Asset index statements (upserts; no SELECT per event).
_UPSERT_ASSET = (
    "INSERT INTO assets (asset_key, last_materialization_id, last_run_id, "
    "materialization_count) VALUES (?, ?, ?, 1) ON CONFLICT (asset_key) DO UPDATE SET "
    "last_materialization_id = excluded.last_materialization_id, "
    "last_run_id = excluded.last_run_id, materialization_count = materialization_count + 1"
)
_UPSERT_PARTITION_MAT = (
    "INSERT INTO asset_partitions (asset_key, partition, last_materialization_id, "
    "last_materialization_run_id, materialization_count) VALUES (?, ?, ?, ?, 1) "
    "ON CONFLICT (asset_key, partition) DO UPDATE SET "
    "last_materialization_id = excluded.last_materialization_id, "
    "last_materialization_run_id = excluded.last_materialization_run_id, "
    "materialization_count = materialization_count + 1"
)
# A failure does not count against a partition that the failing run itself materialized
# (a multi-asset step that wrote one asset and then failed on another).
_UPSERT_PARTITION_FAIL = (
    "INSERT INTO asset_partitions (asset_key, partition, last_failure_id) VALUES (?, ?, ?) "
    "ON CONFLICT (asset_key, partition) DO UPDATE SET last_failure_id = CASE "
    "WHEN last_materialization_run_id IS ? THEN last_failure_id "
    "ELSE excluded.last_failure_id END"
)
_UPSERT_PARTITION_PLANNED = (
    "INSERT INTO asset_partitions (asset_key, partition, last_planned_id, last_planned_run_id) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (asset_key, partition) DO UPDATE SET "
    "last_planned_id = excluded.last_planned_id, "
    "last_planned_run_id = excluded.last_planned_run_id"
)
_UPSERT_CHECK = (
    "INSERT INTO asset_checks (asset_key, check_name, last_evaluation_id, last_run_id) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (asset_key, check_name) DO UPDATE SET "
    "last_evaluation_id = excluded.last_evaluation_id, last_run_id = excluded.last_run_id"
)

_UPDATE_STATUS_FROM_EVENT = (
    "UPDATE runs SET status = ?, "
    "started_at = CASE WHEN ? THEN COALESCE(started_at, ?) ELSE started_at END, "
    "ended_at = CASE WHEN ? THEN COALESCE(ended_at, ?) ELSE ended_at END "
    "WHERE run_id = ? AND status NOT IN ('SUCCESS', 'FAILURE', 'CANCELED')"
)

# Connections abandoned in forked children; kept referenced so they are never closed there.
_PARKED_CONNECTIONS: list[sqlite3.Connection] = []


def _clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (SQLite stores UTF-8 only)."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _not_a_dict(value: Any) -> NoReturn:
    raise TypeError(f"event data must be a dict, got {type(value).__name__}")


def _is_locked(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _event_from_row(row: tuple[Any, ...]) -> Event:
    sid, run_id, ts, etype, level, step_key, key, partition, message, data = row
    return Event(
        event_type=_EVENT_TYPES[etype],
        run_id=run_id,
        message=message,
        step_key=step_key,
        asset_key=asset_key_from_db(key) if key is not None else None,
        partition=partition,
        level=level,
        data=_decode_json(data) if data else {},
        timestamp=ts,
        storage_id=sid,
    )


def _run_from_row(row: tuple[Any, ...]) -> RunRecord:
    (run_id, job_name, status, partition, parent, root, created, started, ended, tags,
     body) = row
    extra = _decode_json(body)
    return RunRecord(
        run_id=run_id,
        job_name=job_name,
        status=_RUN_STATUSES[status],
        tags=_decode_json(tags),
        run_config=extra.get("run_config") or {},
        asset_selection=extra.get("asset_selection"),
        step_keys_to_execute=extra.get("step_keys_to_execute"),
        parent_run_id=parent,
        root_run_id=root,
        partition=partition,
        created_at=created,
        started_at=started,
        ended_at=ended,
        code_location=extra.get("code_location"),
    )


def _failure_targets(event: Event, index: int) -> list[tuple[str, str]]:
    """(asset key, partition) pairs a STEP_FAILURE event marks failed."""
    data = event.data
    keys = data.get("asset_keys") if isinstance(data, dict) else None
    if not keys:
        return []
    if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
        raise StorageError(
            f"event #{index} (STEP_FAILURE of run {event.run_id!r}) has data['asset_keys'] = "
            f"{keys!r}; expected a list of asset key strings like ['warehouse/orders']"
        )
    partitions = data.get("partitions")
    if partitions is None:
        partitions = [event.partition or ""]
    elif isinstance(partitions, str) or not isinstance(partitions, (list, tuple)):
        raise StorageError(
            f"event #{index} (STEP_FAILURE of run {event.run_id!r}) has data['partitions'] = "
            f"{partitions!r}; expected a list of partition keys"
        )
    targets = []
    for raw in keys:
        if isinstance(raw, AssetKey):
            key = raw
        elif isinstance(raw, str):
            key = AssetKey.from_user_string(raw)
        elif isinstance(raw, (list, tuple)):  # parts, for keys whose parts contain '/'
            key = AssetKey(raw)
        else:
            raise StorageError(
                f"event #{index} (STEP_FAILURE of run {event.run_id!r}) lists asset key "
                f"{raw!r}; expected a string like 'warehouse/orders' or a list of parts"
            )
        db_key = asset_key_to_db(key)
        for partition in partitions:
            targets.append((db_key, partition or ""))
    return targets


def _partition_status(
    mat_id: int | None,
    fail_id: int | None,
    planned_id: int | None,
    planned_run_status: str | None,
) -> str:
    mat = mat_id or 0
    fail = fail_id or 0
    if planned_id and planned_id > mat and planned_id > fail:
        if planned_run_status is not None and planned_run_status not in _FINISHED:
            return PartitionStatus.MATERIALIZING
        if planned_run_status in (RunStatus.FAILURE.value, RunStatus.CANCELED.value):
            return PartitionStatus.FAILED
    if fail > mat:
        return PartitionStatus.FAILED
    if mat:
        return PartitionStatus.MATERIALIZED
    return PartitionStatus.MISSING


class SqliteRunStorage(RunStorage):
    """The embedded run store: a SQLite file (WAL mode) or ``":memory:"``.

    Safe to share between threads; several processes may open the same file and write at
    once. ``":memory:"`` keeps everything in this process (one shared connection) and is
    meant for tests; it cannot be used from a forked child.

    ::

        store = SqliteRunStorage("/tmp/runs.db")
        store.add_run(RunRecord(run_id="r1", job_name="daily"))
        store.store_events([Event(EventType.RUN_START, "r1"),
                            Event(EventType.LOG, "r1", message="hello")])
        [e.storage_id for e in store.get_events("r1")]     # increasing ids
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        raw = os.fspath(path)
        self._memory = raw == ":memory:" or raw == ""
        self._path = ":memory:" if self._memory else str(Path(raw).expanduser().absolute())
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        if not self._memory:
            try:
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the directory of run store {self._path}: {exc}. "
                    "Choose a writable location (ORCHESTRATOR_HOME) or fix the permissions."
                ) from exc
        with self._lock:
            self._connection()

    # -- plumbing ----------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The database file (absolute), or ``":memory:"``."""
        return self._path

    def __repr__(self) -> str:
        return f"SqliteRunStorage({self._path!r})"

    def __getstate__(self) -> dict[str, Any]:
        if self._memory:
            raise StorageError(
                "an in-memory run store cannot be sent to another process; "
                "use SqliteRunStorage(<file>) for multi-process runs"
            )
        return {"path": self._path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def _describe(self) -> str:
        return "in-memory run store" if self._memory else f"run store {self._path}"

    def _connection(self) -> sqlite3.Connection:
        """This process's connection (call with ``self._lock`` held)."""
        if self._closed:
            raise StorageError(f"{self._describe()} is closed; open a new one to use it")
        if self._conn is not None:
            return self._conn
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,
                cached_statements=256,
            )
        except sqlite3.Error as exc:
            raise StorageError(
                f"cannot open {self._describe()}: {exc}. Check that the path is a writable "
                "file location (set ORCHESTRATOR_HOME to move the instance)."
            ) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            if not self._memory:
                self._retry_locked(lambda: self._enable_wal(conn))
            conn.execute("PRAGMA synchronous = NORMAL")
            self._retry_locked(lambda: self._migrate(conn))
        except sqlite3.DatabaseError as exc:
            conn.close()
            if _is_locked(exc):
                raise StorageError(
                    f"{self._describe()} stayed locked by another process for "
                    f"{_LOCK_RETRY_SECONDS:.0f}s while opening it: {exc}"
                ) from exc
            raise StorageError(
                f"{self._describe()} is not a SQLite database or is corrupt ({exc}). "
                "Move the file away (or delete it) to start a fresh run store, or set "
                "ORCHESTRATOR_HOME to another directory."
            ) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    @staticmethod
    def _enable_wal(conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
            "description TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
        if current == SCHEMA_VERSION:
            return
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"{self._describe()} has schema version {current}, newer than this "
                f"orchestrator understands ({SCHEMA_VERSION}). Upgrade the orchestrator "
                "package, or use another ORCHESTRATOR_HOME."
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
            for version, description, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    (version, description, time.time()),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _check_pid(self) -> None:
        pid = os.getpid()
        if pid == self._pid:
            return
        # Forked: the lock may have been held by a thread that does not exist here, and the
        # parent's connection must not be used (or closed) by this process.
        self._lock = threading.RLock()
        if self._conn is not None:
            _PARKED_CONNECTIONS.append(self._conn)
            self._conn = None
        self._pid = pid
        if self._memory:
            self._closed = True
            raise StorageError(
                "an in-memory run store was inherited by a forked process and cannot be "
                "shared with it; use SqliteRunStorage(<file>) (or Instance.get()) for "
                "multi-process runs"
            )

    def _retry_locked(self, fn: Callable[[], T]) -> T:
        delay = 0.002
        deadline = time.monotonic() + _LOCK_RETRY_SECONDS
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a ``BEGIN IMMEDIATE`` transaction, retrying while locked."""
        delay = 0.002
        deadline = time.monotonic() + _LOCK_RETRY_SECONDS
        while True:
            self._check_pid()
            with self._lock:
                conn = self._connection()
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    result = fn(conn)
                    conn.execute("COMMIT")
                    return result
                except BaseException as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    if not _is_locked(exc) or time.monotonic() > deadline:
                        self._raise(exc)
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        delay = 0.002
        deadline = time.monotonic() + _LOCK_RETRY_SECONDS
        while True:
            self._check_pid()
            with self._lock:
                conn = self._connection()
                try:
                    return fn(conn)
                except BaseException as exc:
                    if not _is_locked(exc) or time.monotonic() > deadline:
                        self._raise(exc)
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _raise(self, exc: BaseException) -> NoReturn:
        """Re-raise ``exc``, turning SQLite errors into StorageError."""
        if isinstance(exc, UnicodeEncodeError):
            raise StorageError(
                f"{self._describe()}: text with characters that are not valid UTF-8 "
                f"({exc}); decode bytes with errors='replace' before storing them"
            ) from exc
        if not isinstance(exc, sqlite3.Error):
            raise exc
        if _is_locked(exc):
            raise StorageError(
                f"{self._describe()} stayed locked by another process for more than "
                f"{_LOCK_RETRY_SECONDS:.0f}s ({exc}). Look for a hung orchestrator process."
            ) from exc
        raise StorageError(f"{self._describe()}: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Close this process's connection. The store cannot be used afterwards."""
        if os.getpid() != self._pid:  # inherited by fork: leave the parent's handle alone
            if self._conn is not None:
                _PARKED_CONNECTIONS.append(self._conn)
            self._conn = None
            self._closed = True
            return
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._closed = True

    def __enter__(self) -> SqliteRunStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        return self._read(
            lambda c: c.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        )

    # -- runs ------------------------------------------------------------------------------
    def add_run(self, run: RunRecord) -> None:
        if not isinstance(run, RunRecord):
            raise StorageError(f"add_run expects a RunRecord, got {type(run).__name__}")
        if not isinstance(run.run_id, str) or not run.run_id:
            raise StorageError(
                f"add_run: run_id {run.run_id!r} is not a non-empty string; use e.g. "
                "str(uuid.uuid4())"
            )
        if not isinstance(run.job_name, str) or not run.job_name:
            raise StorageError(
                f"add_run: run {run.run_id!r} has job_name {run.job_name!r}; give the name "
                "of the job as a non-empty string"
            )
        tags = dict(run.tags or {})
        for k, v in tags.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise StorageError(
                    f"run {run.run_id!r} has tag {k!r}: {v!r}; tag keys and values must be "
                    "strings (convert the value with str() or json.dumps())"
                )
        try:
            body = _encode_json(
                {
                    "run_config": run.run_config,
                    "asset_selection": run.asset_selection,
                    "step_keys_to_execute": run.step_keys_to_execute,
                    "code_location": run.code_location,
                }
            )
        except (TypeError, ValueError) as exc:
            raise StorageError(
                f"run {run.run_id!r} cannot be stored: its run config is not JSON "
                f"serialisable ({exc}). Pass plain dicts, lists, strings and numbers."
            ) from exc
        row = (
            run.run_id,
            run.job_name,
            RunStatus(run.status).value,
            run.partition,
            run.parent_run_id,
            run.root_run_id,
            run.created_at,
            run.started_at,
            run.ended_at,
            _encode_json(tags),
            body,
        )

        def txn(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", row
                )
            except sqlite3.IntegrityError as exc:
                raise StorageError(
                    f"run id {run.run_id!r} already exists in {self._describe()}; "
                    "give each run a new id (uuid4) or use update_run() to change it"
                ) from exc
            if tags:
                conn.executemany(
                    "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)",
                    [(run.run_id, k, v) for k, v in tags.items()],
                )

        self._write(txn)

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._read(
            lambda c: c.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        )
        return _run_from_row(row) if row else None

    def get_runs(
        self,
        *,
        statuses: Iterable[RunStatus] | None = None,
        job_name: str | None = None,
        tags: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        where: list[str] = []
        params: list[Any] = []
        if statuses is not None:
            values = [RunStatus(s).value for s in statuses]
            where.append(f"status IN ({','.join('?' * len(values))})" if values else "0")
            params.extend(values)
        if job_name is not None:
            where.append("job_name = ?")
            params.append(job_name)
        for k, v in (tags or {}).items():
            where.append("run_id IN (SELECT run_id FROM run_tags WHERE key = ? AND value = ?)")
            params.extend((k, v))
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._read(lambda c: c.execute(sql, params).fetchall())
        return [_run_from_row(r) for r in rows]

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        new_status = RunStatus(status) if status is not None else None
        for k, v in (tags or {}).items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise StorageError(
                    f"update_run({run_id!r}) got tag {k!r}: {v!r}; tag keys and values "
                    "must be strings"
                )

        def txn(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT tags FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise StorageError(
                    f"update_run: no run {run_id!r} in {self._describe()}; add it with "
                    "add_run() first (or check the run id)"
                )
            if new_status is not None:
                now = time.time()
                conn.execute(
                    "UPDATE runs SET status = ?, "
                    "started_at = CASE WHEN ? THEN COALESCE(started_at, ?) ELSE started_at END, "
                    "ended_at = CASE WHEN ? THEN COALESCE(ended_at, ?) ELSE ended_at END "
                    "WHERE run_id = ?",
                    (
                        new_status.value,
                        new_status is RunStatus.STARTED,
                        now,
                        new_status.is_finished,
                        now,
                        run_id,
                    ),
                )
            if tags:
                merged = _decode_json(row[0])
                merged.update(tags)
                conn.execute(
                    "UPDATE runs SET tags = ? WHERE run_id = ?", (_encode_json(merged), run_id)
                )
                conn.executemany(
                    "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                    [(run_id, k, v) for k, v in tags.items()],
                )

        self._write(txn)

    def delete_run(self, run_id: str) -> None:
        def txn(conn: sqlite3.Connection) -> None:
            keys = {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT asset_key FROM events "
                    "WHERE run_id = ? AND asset_key IS NOT NULL",
                    (run_id,),
                )
            }
            for (data,) in conn.execute(
                "SELECT data FROM events WHERE event_type = 'STEP_FAILURE' AND run_id = ?",
                (run_id,),
            ):
                event = Event(_STEP_FAILURE, run_id, data=_decode_json(data) if data else {})
                keys.update(k for k, _ in _failure_targets(event, 0))
            conn.execute("DELETE FROM events WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            if keys:
                self._rebuild_index(conn, keys)

        self._write(txn)

    # -- events ------------------------------------------------------------------------------
    def store_events(self, events: Sequence[Event]) -> None:
        if not isinstance(events, (list, tuple)):
            events = list(events)
        if not events:
            return
        rows = self._event_rows(events)

        def txn(conn: sqlite3.Connection) -> int:
            conn.executemany(_INSERT_EVENT, rows)
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            first = last - len(rows) + 1
            self._apply_index(conn, events, first, None)
            return first

        try:
            first = self._write(txn)
        except StorageError as exc:
            if isinstance(exc.__cause__, (sqlite3.IntegrityError, sqlite3.InterfaceError,
                                          sqlite3.ProgrammingError)):
                self._check_events(events)  # raises a precise error if it finds the culprit
            if not isinstance(exc.__cause__, UnicodeEncodeError):
                raise
            # Text with lone surrogates (undecodable bytes of a subprocess's output): keep
            # the event, with those characters replaced, rather than lose a log line.
            rows = [tuple(_clean_text(v) if isinstance(v, str) else v for v in r) for r in rows]
            first = self._write(txn)
        for offset, event in enumerate(events):
            event.storage_id = first + offset

    def _event_rows(self, events: Sequence[Event]) -> list[tuple[Any, ...]]:
        try:
            return [
                (
                    e.run_id,
                    e.timestamp,
                    e.event_type.value,
                    e.level,
                    e.step_key,
                    asset_key_to_db(e.asset_key) if e.asset_key is not None else None,
                    e.partition,
                    e.message,
                    (_encode_json(e.data) if e.data else None)
                    if isinstance(e.data, dict)
                    else _not_a_dict(e.data),
                )
                for e in events
            ]
        except Exception:
            pass
        self._check_events(events)
        raise StorageError(
            f"store_events: a batch of {len(events)} events could not be encoded; nothing "
            "was stored. Check that every event's fields have the types Event declares."
        )

    @staticmethod
    def _check_events(events: Sequence[Event]) -> None:
        """Slow path after a failure: find the bad event and say what is wrong with it."""
        for i, e in enumerate(events):
            if not isinstance(e, Event):
                raise StorageError(
                    f"store_events: item #{i} is a {type(e).__name__}, not an Event; "
                    "nothing of this batch was stored"
                )
            kind = getattr(e.event_type, "value", e.event_type)
            where = f"event #{i} ({kind} of run {e.run_id!r})"
            if not isinstance(e.run_id, str) or not e.run_id:
                raise StorageError(
                    f"store_events: {where} has run_id {e.run_id!r}; every event needs the "
                    "id (a non-empty string) of the run it belongs to. Nothing of this batch "
                    "was stored."
                )
            for field_name, ok in (
                ("message", isinstance(e.message, str)),
                ("step_key", e.step_key is None or isinstance(e.step_key, str)),
                ("partition", e.partition is None or isinstance(e.partition, str)),
                ("level", isinstance(e.level, int)),
                ("timestamp", isinstance(e.timestamp, (int, float))
                 and not isinstance(e.timestamp, bool)),
                ("data", isinstance(e.data, dict)),
            ):
                if not ok:
                    value = getattr(e, field_name)
                    raise StorageError(
                        f"store_events: {where} has {field_name} {value!r} "
                        f"({type(value).__name__}); see orchestrator.events.Event for the "
                        "types. Nothing of this batch was stored."
                    )
            if not isinstance(e.event_type, EventType):
                raise StorageError(
                    f"store_events: {where} has event_type {e.event_type!r}; use an "
                    "EventType member. Nothing of this batch was stored."
                )
            if e.asset_key is not None and not isinstance(e.asset_key, AssetKey):
                raise StorageError(
                    f"store_events: {where} has asset_key {e.asset_key!r}; use "
                    "AssetKey(...). Nothing of this batch was stored."
                )
            try:
                _encode_json(e.data) if e.data else None
            except (TypeError, ValueError) as exc:
                raise StorageError(
                    f"store_events: {where} has data that is not JSON serialisable ({exc}); "
                    "convert values to str, numbers, lists or dicts. Nothing of this batch "
                    "was stored."
                ) from exc

    def _apply_index(
        self,
        conn: sqlite3.Connection,
        events: Sequence[Event],
        first_id: int,
        only_keys: set[str] | None,
    ) -> None:
        """Update run status and the asset index for events stored with ids from first_id."""
        status_of = _STATUS_FOR_EVENT
        ops: list[tuple[str, tuple[Any, ...]]] = []
        for i, e in enumerate(events):
            etype = e.event_type
            if only_keys is None:
                status = status_of.get(etype.value)
                if status is not None:
                    ops.append(self._status_op(status, e))
            if etype not in _INDEXED_TYPES:
                continue
            sid = first_id + i
            if etype is _STEP_FAILURE:
                for key, partition in _failure_targets(e, i):
                    if only_keys is None or key in only_keys:
                        ops.append((_UPSERT_PARTITION_FAIL, (key, partition, sid, e.run_id)))
                continue
            if e.asset_key is None:
                raise StorageError(
                    f"store_events: event #{i} ({etype.value} of run {e.run_id!r}) has no "
                    "asset_key; set Event.asset_key to the asset it is about. Nothing of "
                    "this batch was stored."
                )
            key = asset_key_to_db(e.asset_key)
            if only_keys is not None and key not in only_keys:
                continue
            partition = e.partition or ""
            if etype is _MAT:
                ops.append((_UPSERT_ASSET, (key, sid, e.run_id)))
                ops.append((_UPSERT_PARTITION_MAT, (key, partition, sid, e.run_id)))
            elif etype is _PLANNED:
                ops.append((_UPSERT_PARTITION_PLANNED, (key, partition, sid, e.run_id)))
            else:  # check evaluation
                name = e.data.get("check_name") if isinstance(e.data, dict) else None
                if not isinstance(name, str) or not name:
                    raise StorageError(
                        f"store_events: event #{i} (ASSET_CHECK_EVALUATION of run "
                        f"{e.run_id!r}, asset {e.asset_key.to_user_string()!r}) has no "
                        "data['check_name']; set it to the check's name. Nothing of this "
                        "batch was stored."
                    )
                ops.append((_UPSERT_CHECK, (key, name, sid, e.run_id)))
        if not ops:
            return
        # Group consecutive identical statements into one executemany (order preserved).
        start = 0
        while start < len(ops):
            sql = ops[start][0]
            end = start + 1
            while end < len(ops) and ops[end][0] is sql:
                end += 1
            if end - start == 1:
                conn.execute(sql, ops[start][1])
            else:
                conn.executemany(sql, [p for _, p in ops[start:end]])
            start = end

    @staticmethod
    def _status_op(status: RunStatus, e: Event) -> tuple[str, tuple[Any, ...]]:
        # A finished run stays finished: a late lifecycle event is logged but does not
        # move it (update_run can still set any status explicitly).
        return (
            _UPDATE_STATUS_FROM_EVENT,
            (
                status.value,
                status is RunStatus.STARTED,
                e.timestamp,
                status.is_finished,
                e.timestamp,
                e.run_id,
            ),
        )

    def _rebuild_index(self, conn: sqlite3.Connection, keys: set[str] | None) -> None:
        """Recompute the asset index (of some keys, or all) by replaying stored events."""
        if keys is None:
            for table in ("assets", "asset_partitions", "asset_checks"):
                conn.execute(f"DELETE FROM {table}")
            sql = (
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_type IN (?, ?, ?, ?) "
                "ORDER BY storage_id"
            )
            params: tuple[Any, ...] = tuple(t.value for t in _INDEXED_TYPES)
        else:
            key_list = _encode_json(sorted(keys))
            for table in ("assets", "asset_partitions", "asset_checks"):
                conn.execute(
                    f"DELETE FROM {table} WHERE asset_key IN (SELECT value FROM json_each(?))",
                    (key_list,),
                )
            sql = (
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE (asset_key IN "
                "(SELECT value FROM json_each(?)) AND event_type IN (?, ?, ?)) "
                "OR event_type = 'STEP_FAILURE' ORDER BY storage_id"
            )
            params = (key_list, _MAT.value, _PLANNED.value, _CHECK.value)
        for row in conn.execute(sql, params).fetchall():
            event = _event_from_row(row)
            self._apply_index(conn, [event], event.storage_id or 0, keys)

    def rebuild_asset_index(self) -> None:
        """Recompute the whole asset index from the event log (after a manual repair)."""
        self._write(lambda c: self._rebuild_index(c, None))

    def get_events(
        self,
        run_id: str,
        *,
        after: int | None = None,
        event_types: Iterable[EventType] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE run_id = ?"
        params: list[Any] = [run_id]
        return self._query_events(sql, params, after, event_types, limit)

    def get_all_events(
        self,
        *,
        after: int | None = None,
        event_types: Iterable[EventType] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE 1"
        return self._query_events(sql, [], after, event_types, limit)

    def _query_events(
        self,
        sql: str,
        params: list[Any],
        after: int | None,
        event_types: Iterable[EventType] | None,
        limit: int | None,
    ) -> list[Event]:
        if after is not None:
            sql += " AND storage_id > ?"
            params.append(int(after))
        if event_types is not None:
            values = [EventType(t).value for t in event_types]
            sql += f" AND event_type IN ({','.join('?' * len(values))})" if values else " AND 0"
            params.extend(values)
        sql += " ORDER BY storage_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._read(lambda c: c.execute(sql, params).fetchall())
        return [_event_from_row(r) for r in rows]

    # -- assets ------------------------------------------------------------------------------
    def _event_by_id(self, conn: sqlite3.Connection, storage_id: int | None) -> Event | None:
        if storage_id is None:
            return None
        row = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE storage_id = ?", (storage_id,)
        ).fetchone()
        return _event_from_row(row) if row else None

    def get_asset_records(self, keys: Iterable[AssetKey] | None = None) -> list[AssetRecord]:
        sql = (
            f"SELECT a.asset_key, a.last_run_id, a.materialization_count, "
            f"{_E_COLUMNS} "
            "FROM assets a LEFT JOIN events e ON e.storage_id = a.last_materialization_id"
        )
        params: tuple[Any, ...] = ()
        if keys is not None:
            sql += " WHERE a.asset_key IN (SELECT value FROM json_each(?))"
            params = (_encode_json([asset_key_to_db(AssetKey.from_coercible(k)) for k in keys]),)
        rows = self._read(lambda c: c.execute(sql, params).fetchall())
        records = [
            AssetRecord(
                asset_key=asset_key_from_db(r[0]),
                last_materialization=_event_from_row(r[3:]) if r[3] is not None else None,
                last_run_id=r[1],
                materialization_count=r[2],
            )
            for r in rows
        ]
        records.sort(key=lambda rec: rec.asset_key.parts)
        return records

    def get_materializations(
        self,
        key: AssetKey,
        *,
        partitions: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        db_key = asset_key_to_db(AssetKey.from_coercible(key))
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE asset_key = ? AND event_type = ?"
        )
        params: list[Any] = [db_key, _MAT.value]
        if partitions is not None:
            values = list(partitions)
            sql += f" AND partition IN ({','.join('?' * len(values))})" if values else " AND 0"
            params.extend(values)
        sql += " ORDER BY storage_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._read(lambda c: c.execute(sql, params).fetchall())
        return [_event_from_row(r) for r in rows]

    def get_latest_materialization(
        self, key: AssetKey, partition: str | None = None
    ) -> Event | None:
        db_key = asset_key_to_db(AssetKey.from_coercible(key))

        def read(conn: sqlite3.Connection) -> Event | None:
            if partition is None:
                row = conn.execute(
                    "SELECT last_materialization_id FROM assets WHERE asset_key = ?", (db_key,)
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT last_materialization_id FROM asset_partitions "
                    "WHERE asset_key = ? AND partition = ?",
                    (db_key, partition),
                ).fetchone()
            return self._event_by_id(conn, row[0]) if row else None

        return self._read(read)

    def get_materialization_counts(self, key: AssetKey) -> dict[str, int]:
        """Partition key → number of materializations ('' for an unpartitioned asset)."""
        db_key = asset_key_to_db(AssetKey.from_coercible(key))
        rows = self._read(
            lambda c: c.execute(
                "SELECT partition, materialization_count FROM asset_partitions "
                "WHERE asset_key = ? AND materialization_count > 0",
                (db_key,),
            ).fetchall()
        )
        return dict(rows)

    def get_partition_status(self, key: AssetKey) -> dict[str, str]:
        db_key = asset_key_to_db(AssetKey.from_coercible(key))
        rows = self._read(
            lambda c: c.execute(
                "SELECT p.partition, p.last_materialization_id, p.last_failure_id, "
                "p.last_planned_id, r.status FROM asset_partitions p "
                "LEFT JOIN runs r ON r.run_id = p.last_planned_run_id "
                "WHERE p.asset_key = ? AND p.partition != '' ORDER BY p.partition",
                (db_key,),
            ).fetchall()
        )
        return {r[0]: _partition_status(r[1], r[2], r[3], r[4]) for r in rows}

    def get_asset_status(self, key: AssetKey, partition: str | None = None) -> str:
        """The :class:`PartitionStatus` of an asset (or of one partition of it)."""
        db_key = asset_key_to_db(AssetKey.from_coercible(key))
        row = self._read(
            lambda c: c.execute(
                "SELECT p.last_materialization_id, p.last_failure_id, p.last_planned_id, "
                "r.status FROM asset_partitions p "
                "LEFT JOIN runs r ON r.run_id = p.last_planned_run_id "
                "WHERE p.asset_key = ? AND p.partition = ?",
                (db_key, partition or ""),
            ).fetchone()
        )
        return _partition_status(*row) if row else PartitionStatus.MISSING

    def get_latest_check_evaluations(self, key: AssetKey) -> list[CheckRecord]:
        asset_key = AssetKey.from_coercible(key)
        db_key = asset_key_to_db(asset_key)
        rows = self._read(
            lambda c: c.execute(
                f"SELECT k.check_name, "
                f"{_E_COLUMNS} "
                "FROM asset_checks k JOIN events e ON e.storage_id = k.last_evaluation_id "
                "WHERE k.asset_key = ? ORDER BY k.check_name",
                (db_key,),
            ).fetchall()
        )
        return [CheckRecord(asset_key, r[0], _event_from_row(r[1:])) for r in rows]

    # -- kv ------------------------------------------------------------------------------
    def kv_get(self, namespace: str, key: str) -> Any | None:
        row = self._read(
            lambda c: c.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        )
        return _decode_json(row[0]) if row else None

    def kv_set(self, namespace: str, key: str, value: Any) -> None:
        try:
            text = _encode_json(value)
        except (TypeError, ValueError) as exc:
            raise StorageError(
                f"kv_set({namespace!r}, {key!r}): value is not JSON serialisable ({exc}); "
                "store dicts, lists, strings, numbers, booleans or None"
            ) from exc
        self._write(
            lambda c: c.execute(
                "INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (namespace, key, text, time.time()),
            )
        )

    def kv_delete(self, namespace: str, key: str) -> None:
        self._write(
            lambda c: c.execute(
                "DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            )
        )


class InMemoryRunStorage(SqliteRunStorage):
    """A run store that lives in this process only (for tests and ephemeral instances).

    ::

        store = InMemoryRunStorage()
    """

    def __init__(self) -> None:
        super().__init__(":memory:")

    def __setstate__(self, state: dict[str, Any]) -> None:  # pragma: no cover - never pickled
        raise StorageError("an in-memory run store cannot be unpickled")
