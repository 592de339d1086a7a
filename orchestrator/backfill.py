"""Backfills: materialize a selection over many partitions, tracked and resumable.

::

    from orchestrator.backfill import launch_backfill, get_backfill, cancel_backfill

    bf = launch_backfill(instance, location, asset_selection=["events", "daily_stats"],
                         partition_range=("2024-01-01", "2024-03-31"),
                         only_missing=True, max_concurrent_runs=4)
    # the daemon submits the runs; then:
    get_backfill(instance, bf.backfill_id).partition_statuses(instance)

How the partitions are split into runs: when every partitioned asset of the selection has
a :class:`~orchestrator.partitions.BackfillPolicy`, contiguous keys go together in runs of
at most the smallest ``max_partitions_per_run`` (``single_run()``: one run per contiguous
range); otherwise one run per partition. Each chunk's run id is derived from (backfill,
chunk, attempt), so a daemon that restarts in the middle neither loses nor repeats a run.
Cancel marks queued runs CANCELED and asks started ones to stop; resume re-runs the chunks
whose runs did not succeed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import DefinitionError, OrchestratorError

__all__ = ["BackfillRecord", "BackfillStatus", "cancel_backfill", "get_backfill",
           "get_backfills", "launch_backfill", "process_backfills", "resume_backfill"]

NS, INDEX = "backfill", "__index__"
BACKFILL_TAG = "orchestrator/backfill"
ASSET_BACKFILL_JOB = "__asset_backfill__"


class BackfillStatus:
    REQUESTED = "REQUESTED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    COMPLETED_SUCCESS = "COMPLETED_SUCCESS"
    COMPLETED_FAILED = "COMPLETED_FAILED"
    FINISHED = ("CANCELED", "COMPLETED_SUCCESS", "COMPLETED_FAILED")


@dataclass
class BackfillRecord:
    """A backfill as stored: what to run, how it is split, and the run of each chunk."""

    backfill_id: str
    status: str
    location: str
    code_location: str | None
    job_name: str
    asset_selection: list[str] | None
    partition_keys: list[str]
    chunks: list[str]  # a key, or "start...end" for a range run
    max_concurrent_runs: int | None = None
    run_config: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    attempt: int = 0
    runs: dict[str, str] = field(default_factory=dict)  # chunk -> latest run id
    created_at: float = field(default_factory=time.time)
    ended_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BackfillRecord:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def run_id_for(self, chunk: str, attempt: int | None = None) -> str:
        from .daemon.core import run_id_for

        return run_id_for("backfill", self.backfill_id, chunk,
                          str(self.attempt if attempt is None else attempt))

    def chunk_statuses(self, instance: Any) -> dict[str, str]:
        """Chunk → status of its latest run (``NOT_SUBMITTED`` before it has one)."""
        storage = instance.run_storage
        out = {}
        for chunk in self.chunks:
            rid = self.runs.get(chunk)
            run = storage.get_run(rid) if rid else None
            out[chunk] = run.status.value if run is not None else "NOT_SUBMITTED"
        return out

    def partition_statuses(self, instance: Any) -> dict[str, str]:
        """Partition key → status of the run that covers it."""
        out: dict[str, str] = {}
        by_chunk = self.chunk_statuses(instance)
        index = {k: i for i, k in enumerate(self.partition_keys)}
        for chunk, status in by_chunk.items():
            if "..." in chunk:
                a, _, b = chunk.partition("...")
                for k in self.partition_keys[index[a]:index[b] + 1]:
                    out[k] = status
            else:
                out[chunk] = status
        return out


def _save(instance: Any, rec: BackfillRecord) -> None:
    instance.run_storage.kv_set(NS, rec.backfill_id, rec.to_dict())


def get_backfill(instance: Any, backfill_id: str) -> BackfillRecord:
    raw = instance.run_storage.kv_get(NS, backfill_id)
    if raw is None:
        ids = instance.run_storage.kv_get(NS, INDEX) or []
        raise OrchestratorError(f"no backfill {backfill_id!r} in the instance at "
                                f"{instance.home}; backfills: {ids[-5:] or 'none'}")
    return BackfillRecord.from_dict(raw)


def get_backfills(instance: Any, statuses: Sequence[str] | None = None) -> list[BackfillRecord]:
    """Backfills, newest first."""
    ids = instance.run_storage.kv_get(NS, INDEX) or []
    out = []
    for bid in reversed(ids):
        raw = instance.run_storage.kv_get(NS, bid)
        if raw is not None and (statuses is None or raw.get("status") in statuses):
            out.append(BackfillRecord.from_dict(raw))
    return out


def _selection_partitions(defs: Any, job_name: str | None,
                          asset_selection: Sequence[Any] | None) -> tuple[Any, Any, list[Any]]:
    """(job, partitions def, assets defs of the partitioned selected assets)."""
    if (job_name is None) == (asset_selection is None):
        raise DefinitionError("a backfill needs exactly one of job_name= or asset_selection=")
    if job_name is not None:
        job = defs.get_job_def(job_name)
    else:
        job = defs.asset_job(list(asset_selection), name=ASSET_BACKFILL_JOB)
    layer = getattr(job, "asset_layer", None)
    assets = []
    if layer is not None:
        seen = set()
        for k in layer.selected_keys:
            ad = layer.asset_graph.get(k)
            if ad.partitions_def is not None and id(ad) not in seen:
                seen.add(id(ad))
                assets.append((k, ad))
    pdef = getattr(job, "partitions_def", None)
    if pdef is None:
        defs_found = []
        for _, ad in assets:
            if all(ad.partitions_def != p for p in defs_found):
                defs_found.append(ad.partitions_def)
        if len(defs_found) > 1:
            raise DefinitionError(
                f"the selection has assets with different partitions definitions "
                f"({', '.join(repr(p) for p in defs_found[:3])}); launch one backfill per "
                f"partitions definition")
        pdef = defs_found[0] if defs_found else None
    if pdef is None:
        raise DefinitionError(f"nothing to backfill: job '{job.name}' has no partitioned "
                              f"assets and no partitions_def")
    return job, pdef, assets


def launch_backfill(instance: Any, location: Any, *, job_name: str | None = None,
                    asset_selection: Sequence[Any] | None = None,
                    partition_keys: Sequence[str] | None = None,
                    partition_range: Sequence[str] | None = None,
                    all_partitions: bool = False, only_missing: bool = False,
                    only_failed: bool = False, max_concurrent_runs: int | None = None,
                    run_config: Mapping[str, Any] | None = None,
                    tags: Mapping[str, str] | None = None, backfill_policy: Any = None,
                    backfill_id: str | None = None) -> BackfillRecord:
    """Record a backfill for the daemon to run; returns it (status REQUESTED).

    ``location`` is a :class:`~orchestrator.daemon.LoadedLocation` (or a
    CodeLocationOrigin). Pick partitions with ``partition_keys``, ``partition_range``
    (inclusive) or ``all_partitions``; ``only_missing``/``only_failed`` keep the keys where
    some selected asset is not materialized / failed. ``backfill_policy`` overrides the
    assets' policies for this backfill.
    """
    from .daemon.core import LoadedLocation
    from .partitions import PartitionKeyRange, contiguous_ranges
    from .storage.base import PartitionStatus

    if not isinstance(location, LoadedLocation):
        location = LoadedLocation(location.name, location.load(), location.pointer)
    job, pdef, assets = _selection_partitions(location.defs, job_name, asset_selection)
    chosen = sum(x is not None and x is not False for x in (partition_keys, partition_range,
                                                            all_partitions or None))
    if chosen != 1:
        raise DefinitionError("say which partitions to backfill: exactly one of "
                              "partition_keys=, partition_range=(start, end) or "
                              "all_partitions=True")
    if partition_keys is not None:
        keys = list(dict.fromkeys(partition_keys))
        for k in keys:
            pdef.validate_partition_key(k, "backfill: ")
    elif partition_range is not None:
        keys = pdef.get_partition_keys_in_range(PartitionKeyRange(*partition_range))
    else:
        keys = pdef.get_partition_keys()
    if max_concurrent_runs is not None and (not isinstance(max_concurrent_runs, int) or
                                            max_concurrent_runs < 1):
        raise DefinitionError(f"max_concurrent_runs must be a positive int, got "
                              f"{max_concurrent_runs!r}")
    if only_missing or only_failed:
        storage = instance.run_storage
        statuses = [storage.get_partition_status(k) for k, _ in assets]
        wanted = set()
        for key in keys:
            st = [s.get(key, PartitionStatus.MISSING) for s in statuses]
            if only_missing and any(x in (PartitionStatus.MISSING, PartitionStatus.FAILED)
                                    for x in st):
                wanted.add(key)
            if only_failed and any(x == PartitionStatus.FAILED for x in st):
                wanted.add(key)
        keys = [k for k in keys if k in wanted]
    # how to split: the assets' backfill policies (all must have one), else per partition
    policies = [backfill_policy] if backfill_policy is not None else \
        [ad.backfill_policy for _, ad in assets]
    if policies and all(p is not None for p in policies) and not hasattr(pdef,
                                                                          "partitions_defs"):
        sizes = [p.max_partitions_per_run for p in policies]
        limit = None if all(s is None for s in sizes) else min(s for s in sizes if s)
        chunks = [r.start if r.start == r.end else f"{r.start}...{r.end}"
                  for r in contiguous_ranges(pdef, keys, limit)]
    else:
        chunks = list(keys)
    layer = getattr(job, "asset_layer", None)
    selection = sorted(k.to_user_string() for k in layer.selected_keys) if layer else None
    rec = BackfillRecord(
        backfill_id=backfill_id or uuid.uuid4().hex[:8], status=BackfillStatus.REQUESTED,
        location=location.name, code_location=location.pointer,
        job_name=job.name, asset_selection=selection, partition_keys=keys, chunks=chunks,
        max_concurrent_runs=max_concurrent_runs, run_config=dict(run_config or {}),
        tags=dict(tags or {}))
    if not chunks:
        rec.status = BackfillStatus.COMPLETED_SUCCESS
        rec.ended_at = time.time()
    storage = instance.run_storage
    if storage.kv_get(NS, rec.backfill_id) is not None:
        raise OrchestratorError(f"backfill {rec.backfill_id!r} already exists")
    _save(instance, rec)
    ids = storage.kv_get(NS, INDEX) or []
    storage.kv_set(NS, INDEX, ids + [rec.backfill_id])
    return rec


def cancel_backfill(instance: Any, backfill_id: str) -> BackfillRecord:
    """Stop a backfill: no new runs; the daemon cancels its queued and started runs."""
    rec = get_backfill(instance, backfill_id)
    if rec.status in BackfillStatus.FINISHED:
        raise OrchestratorError(f"backfill {backfill_id} is already {rec.status}; nothing to "
                                f"cancel")
    rec.status = BackfillStatus.CANCELING
    _save(instance, rec)
    _advance_canceling(instance, rec, time.time())
    return rec


def resume_backfill(instance: Any, backfill_id: str) -> BackfillRecord:
    """Run again the chunks of a finished backfill whose runs did not succeed."""
    rec = get_backfill(instance, backfill_id)
    if rec.status not in BackfillStatus.FINISHED:
        raise OrchestratorError(f"backfill {backfill_id} is {rec.status}; it is still going "
                                f"(cancel it first to resume it later)")
    statuses = rec.chunk_statuses(instance)
    retry = [c for c, s in statuses.items() if s != "SUCCESS"]
    if not retry:
        raise OrchestratorError(f"backfill {backfill_id}: every partition succeeded; nothing "
                                f"to resume")
    rec.attempt += 1
    for c in retry:
        rec.runs.pop(c, None)
    rec.status = BackfillStatus.REQUESTED
    rec.ended_at = None
    _save(instance, rec)
    return rec


def _advance_canceling(instance: Any, rec: BackfillRecord, now: float) -> None:
    from .events import Event, EventType, RunStatus
    from .execution.cancel import cancel_run

    storage = instance.run_storage
    still = 0
    for rid in rec.runs.values():
        run = storage.get_run(rid)
        if run is None or run.status.is_finished:
            continue
        if run.status is RunStatus.QUEUED:
            storage.store_event(Event(EventType.RUN_CANCELED, rid,
                                      message=f"backfill {rec.backfill_id} canceled"))
            continue
        still += 1
        if run.status is not RunStatus.CANCELING:
            try:
                cancel_run(instance, rid, reason=f"backfill {rec.backfill_id} canceled")
            except OrchestratorError:
                pass
    if still == 0:
        rec.status = BackfillStatus.CANCELED
        rec.ended_at = now
        _save(instance, rec)


def process_backfills(instance: Any, locations: Sequence[Any], now: float) -> list[str]:
    """One daemon step: submit the next runs of each active backfill (within its
    concurrency limit), finish completed ones, cancel canceling ones. Returns submitted
    run ids."""
    from .daemon.queue import IN_PROGRESS, submit_run
    from .events import RunStatus

    storage = instance.run_storage
    ids = storage.kv_get(NS, INDEX) or []
    submitted: list[str] = []
    by_name = {loc.name: loc for loc in locations}
    for bid in ids:
        raw = storage.kv_get(NS, bid)
        if raw is None or raw.get("status") in BackfillStatus.FINISHED:
            continue
        rec = BackfillRecord.from_dict(raw)
        if rec.status == BackfillStatus.CANCELING:
            _advance_canceling(instance, rec, now)
            continue
        if rec.location not in by_name and rec.code_location is None:
            continue
        in_flight = 0
        done_ok = done_bad = 0
        for chunk in rec.chunks:
            rid = rec.runs.get(chunk)
            run = storage.get_run(rid) if rid else None
            if run is None:
                continue
            if run.status in IN_PROGRESS or run.status is RunStatus.QUEUED:
                in_flight += 1
            elif run.status is RunStatus.SUCCESS:
                done_ok += 1
            else:
                done_bad += 1
        room = (rec.max_concurrent_runs - in_flight) if rec.max_concurrent_runs else None
        changed = False
        for chunk in rec.chunks:
            if room is not None and room <= 0:
                break
            rid = rec.runs.get(chunk)
            if rid is not None and storage.get_run(rid) is not None:
                continue
            rid = rec.run_id_for(chunk)
            tags = {**rec.tags, BACKFILL_TAG: rec.backfill_id}
            run, created = submit_run(instance, job_name=rec.job_name,
                                      code_location=rec.code_location,
                                      run_config=rec.run_config, tags=tags, partition=chunk,
                                      asset_selection=rec.asset_selection, run_id=rid,
                                      message=f"run of backfill {rec.backfill_id} [{chunk}]")
            rec.runs[chunk] = rid
            changed = True
            if created:
                submitted.append(rid)
            if room is not None:
                room -= 1
            in_flight += 1
        if (done_ok + done_bad == len(rec.chunks) and not in_flight and
                len(rec.runs) == len(rec.chunks)):
            rec.status = (BackfillStatus.COMPLETED_SUCCESS if not done_bad
                          else BackfillStatus.COMPLETED_FAILED)
            rec.ended_at = now
            changed = True
        if changed:
            _save(instance, rec)
    return submitted
