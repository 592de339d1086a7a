"""Measure the embedded run store: events/s by batch size, and one step's transaction.

Run: ``python benchmarks/bench_run_store.py [--dir DIR] [--events N]``

Prints, for a file-backed store (WAL, synchronous=NORMAL) and for ``:memory:``:

- events/s when storing LOG events in batches of 1, 10 and 1000;
- the cost of one 5-event step transaction (STEP_START, ASSET_MATERIALIZATION with
  metadata, STEP_OUTPUT, HANDLED_OUTPUT, STEP_SUCCESS, with the asset index update);
- the cost of reading a 10,000-event run back.

The targets it checks (exit status 1 when missed): >30,000 events/s in batches of 1000 and
a step transaction well under the orchestrator's 1.5 ms per-asset budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.asset_key import AssetKey
from orchestrator.events import Event, EventType, RunRecord
from orchestrator.storage.sqlite import SqliteRunStorage


def _log_events(run_id: str, n: int) -> list[Event]:
    return [
        Event(EventType.LOG, run_id, message=f"line {i}: processed chunk", step_key="load")
        for i in range(n)
    ]


def bench_batches(store: SqliteRunStorage, batch: int, total: int) -> float:
    """Events per second storing ``total`` LOG events in batches of ``batch``."""
    run_id = f"batch-{batch}-{time.time_ns()}"
    store.add_run(RunRecord(run_id=run_id, job_name="bench"))
    batches = [_log_events(run_id, batch) for _ in range(max(1, total // batch))]
    start = time.perf_counter()
    for events in batches:
        store.store_events(events)
    elapsed = time.perf_counter() - start
    return len(batches) * batch / elapsed


def _step_events(run_id: str, i: int) -> list[Event]:
    key = AssetKey(["warehouse", f"asset_{i % 200}"])
    meta = {
        "row_count": {"type": "int", "raw_value": 1000 + i},
        "preview": {"type": "md", "raw_value": "| a | b |\n|---|---|\n| 1 | 2 |"},
    }
    step = f"warehouse__asset_{i % 200}"
    return [
        Event(EventType.STEP_START, run_id, step_key=step),
        Event(
            EventType.ASSET_MATERIALIZATION,
            run_id,
            step_key=step,
            asset_key=key,
            data={"metadata": meta, "data_version": str(i)},
        ),
        Event(EventType.STEP_OUTPUT, run_id, step_key=step, data={"output_name": "result"}),
        Event(EventType.HANDLED_OUTPUT, run_id, step_key=step, data={"io_manager": "fs"}),
        Event(EventType.STEP_SUCCESS, run_id, step_key=step, data={"duration_ms": 3.2}),
    ]


def bench_steps(store: SqliteRunStorage, steps: int) -> list[float]:
    """Seconds per 5-event step transaction, one sample per step."""
    run_id = f"steps-{time.time_ns()}"
    store.add_run(RunRecord(run_id=run_id, job_name="bench"))
    prepared = [_step_events(run_id, i) for i in range(steps)]
    samples = []
    for events in prepared:
        start = time.perf_counter()
        store.store_events(events)
        samples.append(time.perf_counter() - start)
    return samples


def bench_read(store: SqliteRunStorage, n: int) -> float:
    run_id = f"read-{time.time_ns()}"
    store.add_run(RunRecord(run_id=run_id, job_name="bench"))
    store.store_events(_log_events(run_id, n))
    start = time.perf_counter()
    events = store.get_events(run_id)
    elapsed = time.perf_counter() - start
    assert len(events) == n
    return n / elapsed


def _writer(path: str, writer: int, total: int, batch: int) -> None:
    store = SqliteRunStorage(path)
    run_id = f"proc-{writer}"
    for start in range(0, total, batch):
        store.store_events(_log_events(run_id, min(batch, total - start)))
    store.close()


def bench_processes(path: str, procs: int, total: int, batch: int) -> float:
    """Aggregate events/s with ``procs`` processes writing to one file at once."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_writer, args=(path, w, total, batch)) for w in range(procs)]
    start = time.perf_counter()
    for p in workers:
        p.start()
    for p in workers:
        p.join()
    elapsed = time.perf_counter() - start
    if any(p.exitcode != 0 for p in workers):
        raise SystemExit("a writer process failed")
    with SqliteRunStorage(path) as store:
        stored = sum(len(store.get_events(f"proc-{w}")) for w in range(procs))
    assert stored == procs * total, (stored, procs * total)
    return procs * total / elapsed


def run(label: str, store: SqliteRunStorage, total: int) -> dict[str, float]:
    results: dict[str, float] = {}
    for batch in (1, 10, 1000):
        count = min(total, 2_000) if batch == 1 else total
        results[f"batch{batch}"] = bench_batches(store, batch, count)
    samples = bench_steps(store, 2_000)
    results["step_median_ms"] = statistics.median(samples) * 1000
    results["step_p95_ms"] = statistics.quantiles(samples, n=20)[18] * 1000
    results["read_eps"] = bench_read(store, 10_000)
    print(f"{label}:")
    for batch in (1, 10, 1000):
        print(f"  store LOG events, batches of {batch:>4}: {results[f'batch{batch}']:>10,.0f} ev/s")
    print(
        f"  5-event step transaction (incl. asset index): median "
        f"{results['step_median_ms']:.3f} ms, p95 {results['step_p95_ms']:.3f} ms"
    )
    print(f"  read a 10,000-event run back: {results['read_eps']:>10,.0f} ev/s")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="directory for the database file (default: a temp dir)")
    parser.add_argument("--events", type=int, default=20_000, help="events per batch size")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        with SqliteRunStorage(Path(tmp) / "runs.db") as store:
            file_results = run(f"file {store.path} (WAL, synchronous=NORMAL)", store, args.events)
        for batch in (10, 100):
            eps = bench_processes(str(Path(tmp) / f"procs{batch}.db"), 4, 10_000, batch)
            print(f"  4 processes writing one file at once, batches of {batch:>3}: "
                  f"{eps:>10,.0f} ev/s in total (incl. process start-up)")
    with SqliteRunStorage(":memory:") as store:
        run(":memory:", store, args.events)
    ok = file_results["batch1000"] > 30_000 and file_results["step_median_ms"] < 1.5
    print("targets (file): >30,000 ev/s in batches of 1000, step < 1.5 ms:",
          "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
