"""Several processes and threads writing to one store at once: nothing lost, ids ordered."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import pytest

from orchestrator.errors import StorageError
from orchestrator.events import Event, EventType, RunRecord, RunStatus
from orchestrator.storage import sqlite as sqlite_store
from orchestrator.storage.sqlite import InMemoryRunStorage, SqliteRunStorage

WRITERS = 4
EVENTS_EACH = 2_000


def _batches(writer: int, run_id: str, total: int):
    """Batches of varying size (1..37) of LOG events numbered per writer."""
    seq, size = 0, 1
    while seq < total:
        n = min(size, total - seq)
        yield [
            Event(EventType.LOG, run_id, message=f"{writer}:{seq + i}", step_key=f"w{writer}")
            for i in range(n)
        ]
        seq += n
        size = size % 37 + 1


def _write_from_path(path: str, writer: int, total: int) -> None:
    store = SqliteRunStorage(path)
    _write(store, writer, total)
    store.close()


def _write(store: SqliteRunStorage, writer: int, total: int) -> None:
    own = f"own-{writer}"
    store.add_run(RunRecord(run_id=own, job_name="w"))
    store.store_events([Event(EventType.RUN_START, own)])
    for i, batch in enumerate(_batches(writer, "shared", total)):
        store.store_events(batch)
        # interleave some events of the writer's own run, in their own batches
        if i % 10 == 0:
            store.store_events([Event(EventType.LOG, own, message=str(i))])
    store.store_events([Event(EventType.RUN_SUCCESS, own)])


def _check(store: SqliteRunStorage, writers: int, total: int) -> None:
    shared = store.get_events("shared")
    assert len(shared) == writers * total
    ids = [e.storage_id for e in shared]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    per_writer: dict[str, list[int]] = {}
    for e in shared:
        w, seq = e.message.split(":")
        per_writer.setdefault(w, []).append(int(seq))
    # each writer's events are all there, in the order it wrote them
    assert per_writer == {str(w): list(range(total)) for w in range(writers)}
    all_ids = [e.storage_id for e in store.get_all_events()]
    assert len(all_ids) == len(set(all_ids))
    for w in range(writers):
        run = store.get_run(f"own-{w}")
        assert run.status is RunStatus.SUCCESS
        own = store.get_events(f"own-{w}")
        assert own[0].event_type is EventType.RUN_START
        assert own[-1].event_type is EventType.RUN_SUCCESS


def _run_processes(ctx_name: str, target, args_for) -> None:
    ctx = multiprocessing.get_context(ctx_name)
    procs = [ctx.Process(target=target, args=args_for(w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    for p in procs:
        if p.is_alive():
            p.kill()
    assert [p.exitcode for p in procs] == [0] * WRITERS


@pytest.mark.slow
def test_processes_opening_the_same_file_lose_nothing(tmp_path):
    path = str(tmp_path / "runs.db")
    SqliteRunStorage(path).close()  # create the schema first; the writers race on the rest
    _run_processes("spawn", _write_from_path, lambda w: (path, w, EVENTS_EACH))
    with SqliteRunStorage(path) as store:
        _check(store, WRITERS, EVENTS_EACH)


@pytest.mark.slow
def test_processes_racing_to_create_the_file(tmp_path):
    path = str(tmp_path / "fresh" / "runs.db")
    _run_processes("spawn", _write_from_path, lambda w: (path, w, 200))
    with SqliteRunStorage(path) as store:
        _check(store, WRITERS, 200)
        assert store.schema_version() == sqlite_store.SCHEMA_VERSION


_INHERITED: SqliteRunStorage | None = None


def _write_inherited(writer: int, total: int) -> None:
    assert _INHERITED is not None
    _write(_INHERITED, writer, total)


def test_forked_children_reconnect_with_an_inherited_store(tmp_path):
    global _INHERITED
    store = SqliteRunStorage(tmp_path / "runs.db")
    store.store_events([Event(EventType.LOG, "parent", message="before fork")])  # connection open
    _INHERITED = store
    try:
        _run_processes("fork", _write_inherited, lambda w: (w, 500))
    finally:
        _INHERITED = None
    # the parent's connection still works after the children used (and left) the file
    store.store_events([Event(EventType.LOG, "parent", message="after fork")])
    _check(store, WRITERS, 500)
    assert [e.message for e in store.get_events("parent")] == ["before fork", "after fork"]
    store.close()


def _use_inherited_memory(queue) -> None:
    try:
        _INHERITED.get_runs()
    except StorageError as exc:
        queue.put(str(exc))
    else:
        queue.put("no error")


def test_in_memory_store_refuses_use_from_a_forked_child():
    global _INHERITED
    _INHERITED = InMemoryRunStorage()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    try:
        p = ctx.Process(target=_use_inherited_memory, args=(queue,))
        p.start()
        message = queue.get(timeout=60)
        p.join(timeout=60)
    finally:
        _INHERITED.close()
        _INHERITED = None
    assert "in-memory run store" in message and "forked" in message


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_threads_writing_at_once(tmp_path, kind):
    store = SqliteRunStorage(tmp_path / "runs.db") if kind == "file" else InMemoryRunStorage()
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            _write(store, w, 1_000)
            # readers interleave with writers
            store.get_events("shared", limit=50)
            store.get_runs(limit=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    _check(store, 6, 1_000)
    store.close()


def test_writer_waits_out_a_lock_held_longer_than_busy_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "_BUSY_TIMEOUT_MS", 20)
    path = tmp_path / "runs.db"
    store = SqliteRunStorage(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # hold the write lock
    blocker.execute("INSERT INTO kv VALUES ('held', 'k', '1', 0)")
    started = threading.Event()
    done: list[object] = []

    def write() -> None:
        started.set()
        e = Event(EventType.LOG, "r", message="waited")
        store.store_events([e])
        done.append(e.storage_id)

    t = threading.Thread(target=write)
    t.start()
    started.wait()
    t.join(timeout=0.5)  # gives the writer time to hit the lock (and retry) several times
    assert not done  # still blocked: the lock is held
    blocker.execute("COMMIT")
    blocker.close()
    t.join(timeout=60)
    assert done and isinstance(done[0], int)
    assert [e.message for e in store.get_events("r")] == ["waited"]
    assert store.kv_get("held", "k") == 1
    store.close()
