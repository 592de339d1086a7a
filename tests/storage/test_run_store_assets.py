"""The asset index: latest materialization, counts, partitions, failures, checks, keys."""

from __future__ import annotations

import pytest

from orchestrator.asset_key import AssetKey
from orchestrator.events import Event, EventType, RunRecord, RunStatus
from orchestrator.storage import PartitionStatus

A = AssetKey(["warehouse", "orders"])
B = AssetKey("raw")


def mat(run_id, key, partition=None, **data):
    return Event(EventType.ASSET_MATERIALIZATION, run_id, asset_key=key, partition=partition,
                 data=data)


def fail(run_id, keys, partition=None, partitions=None):
    data = {"error": {"type": "ValueError", "message": "boom", "stack": [], "cause": None},
            "asset_keys": keys}
    if partitions is not None:
        data["partitions"] = partitions
    return Event(EventType.STEP_FAILURE, run_id, partition=partition, data=data)


def planned(run_id, key, partition=None):
    return Event(EventType.ASSET_MATERIALIZATION_PLANNED, run_id, asset_key=key,
                 partition=partition)


def add_runs(store, *ids):
    for rid in ids:
        store.add_run(RunRecord(run_id=rid, job_name="j"))


def test_latest_materialization_count_and_record(store):
    add_runs(store, "r1", "r2")
    store.store_events([mat("r1", A, v=1), mat("r1", B)])
    store.store_events([mat("r2", A, v=2), Event(EventType.LOG, "r2")])
    latest = store.get_latest_materialization(A)
    assert latest.run_id == "r2" and latest.data == {"v": 2}
    records = store.get_asset_records()
    assert [r.asset_key for r in records] == [B, A]  # sorted by key parts
    rec_a = store.get_asset_records([A])[0]
    assert rec_a.materialization_count == 2 and rec_a.last_run_id == "r2"
    assert rec_a.last_materialization.storage_id == latest.storage_id
    assert store.get_asset_records([AssetKey("never")]) == []
    assert store.get_latest_materialization(AssetKey("never")) is None


def test_materialization_history_newest_first(store):
    add_runs(store, "r1")
    store.store_events([mat("r1", A, "p1", n=1), mat("r1", A, "p2", n=2), mat("r1", A, "p1", n=3),
                        mat("r1", B, n=0)])
    assert [e.data["n"] for e in store.get_materializations(A)] == [3, 2, 1]
    assert [e.data["n"] for e in store.get_materializations(A, limit=2)] == [3, 2]
    assert [e.data["n"] for e in store.get_materializations(A, partitions=["p1"])] == [3, 1]
    assert store.get_materializations(A, partitions=[]) == []
    assert store.get_materializations(AssetKey("none")) == []


def test_latest_per_partition_and_any_partition(store):
    add_runs(store, "r1", "r2")
    store.store_events([mat("r1", A, "2024-01-01", n=1), mat("r1", A, "2024-01-02", n=2)])
    store.store_events([mat("r2", A, "2024-01-01", n=3)])
    assert store.get_latest_materialization(A, "2024-01-01").data["n"] == 3
    assert store.get_latest_materialization(A, "2024-01-02").data["n"] == 2
    assert store.get_latest_materialization(A, "2024-01-03") is None
    assert store.get_latest_materialization(A).data["n"] == 3
    assert store.get_materialization_counts(A) == {"2024-01-01": 2, "2024-01-02": 1}
    assert store.get_partition_status(A) == {
        "2024-01-01": PartitionStatus.MATERIALIZED,
        "2024-01-02": PartitionStatus.MATERIALIZED,
    }


def test_step_failure_marks_listed_assets_failed_until_materialized(store):
    add_runs(store, "r1", "r2", "r3")
    store.store_events([mat("r1", A, "p1"), mat("r1", A, "p2")])
    store.store_events([fail("r2", ["warehouse/orders", "raw"], partition="p1")])
    assert store.get_partition_status(A) == {
        "p1": PartitionStatus.FAILED,
        "p2": PartitionStatus.MATERIALIZED,
    }
    assert store.get_partition_status(B) == {"p1": PartitionStatus.FAILED}
    # the failure did not remove the earlier materialization
    assert store.get_latest_materialization(A, "p1").run_id == "r1"
    store.store_events([mat("r3", A, "p1")])
    assert store.get_partition_status(A)["p1"] == PartitionStatus.MATERIALIZED


def test_failure_does_not_override_what_the_same_run_materialized(store):
    # a multi-asset step wrote A, then failed on B: A is materialized, B failed
    add_runs(store, "r1")
    store.store_events([mat("r1", A), fail("r1", ["warehouse/orders", "raw"])])
    assert store.get_asset_status(A) == PartitionStatus.MATERIALIZED
    assert store.get_asset_status(B) == PartitionStatus.FAILED
    assert store.get_asset_status(AssetKey("other")) == PartitionStatus.MISSING


def test_failure_of_a_range_lists_partitions(store):
    add_runs(store, "r1")
    store.store_events([fail("r1", ["raw"], partitions=["a", "b", "c"])])
    assert store.get_partition_status(B) == dict.fromkeys("abc", PartitionStatus.FAILED)


def test_unpartitioned_status_is_not_listed_as_a_partition(store):
    add_runs(store, "r1")
    store.store_events([mat("r1", A), fail("r1", ["raw"])])
    assert store.get_partition_status(A) == {}
    assert store.get_asset_status(A) == PartitionStatus.MATERIALIZED
    assert store.get_asset_status(B) == PartitionStatus.FAILED


def test_planned_partitions_are_materializing_while_the_run_goes(store):
    add_runs(store, "r1", "r2")
    store.store_events([Event(EventType.RUN_START, "r1"), planned("r1", A, "p1"),
                        planned("r1", A, "p2")])
    assert store.get_partition_status(A) == {
        "p1": PartitionStatus.MATERIALIZING,
        "p2": PartitionStatus.MATERIALIZING,
    }
    store.store_events([mat("r1", A, "p1"), Event(EventType.RUN_FAILURE, "r1")])
    assert store.get_partition_status(A) == {
        "p1": PartitionStatus.MATERIALIZED,
        "p2": PartitionStatus.FAILED,  # planned by a run that failed, never materialized
    }
    # a later successful run that plans but does not produce p3 leaves it missing
    store.store_events([planned("r2", A, "p3"), Event(EventType.RUN_SUCCESS, "r2")])
    assert store.get_partition_status(A)["p3"] == PartitionStatus.MISSING
    assert store.get_run("r2").status is RunStatus.SUCCESS


def test_check_evaluations_latest_per_check(store):
    add_runs(store, "r1", "r2")

    def check(run_id, name, passed, key=A):
        return Event(EventType.ASSET_CHECK_EVALUATION, run_id, asset_key=key,
                     data={"check_name": name, "passed": passed, "severity": "ERROR",
                           "metadata": {}})

    store.store_events([check("r1", "not_null", False), check("r1", "unique", True),
                        check("r1", "fresh", True, key=B)])
    store.store_events([check("r2", "not_null", True)])
    records = store.get_latest_check_evaluations(A)
    assert [(r.check_name, r.event.data["passed"], r.event.run_id) for r in records] == [
        ("not_null", True, "r2"),
        ("unique", True, "r1"),
    ]
    assert all(r.asset_key == A for r in records)
    assert [r.check_name for r in store.get_latest_check_evaluations(B)] == ["fresh"]
    assert store.get_latest_check_evaluations(AssetKey("none")) == []


@pytest.mark.parametrize(
    "key",
    [
        AssetKey(["a/b", "c"]),
        AssetKey(["a", "b/c"]),
        AssetKey("x/y"),
        AssetKey(["quote\"s", "back\\slash", "ünï", "[json]"]),
    ],
)
def test_keys_with_slashes_and_odd_characters_round_trip(store, key):
    add_runs(store, "r1")
    lookalike = AssetKey(["a", "b", "c"])
    store.store_events([mat("r1", key, n=1), mat("r1", lookalike, n=2)])
    assert store.get_latest_materialization(key).data["n"] == 1
    assert store.get_latest_materialization(key).asset_key == key
    assert store.get_latest_materialization(lookalike).data["n"] == 2
    assert {r.asset_key for r in store.get_asset_records()} == {key, lookalike}
    assert store.get_events("r1")[0].asset_key == key


def test_failure_can_name_keys_with_slashes_as_part_lists(store):
    add_runs(store, "r1")
    key = AssetKey(["a/b", "c"])
    store.store_events([fail("r1", [["a/b", "c"]], partition="p")])
    assert store.get_partition_status(key) == {"p": PartitionStatus.FAILED}
    assert store.get_partition_status(AssetKey(["a", "b", "c"])) == {}


def test_delete_run_rebuilds_the_index_from_other_runs(store):
    add_runs(store, "r1", "r2", "r3")
    store.store_events([mat("r1", A, "p", n=1)])
    store.store_events([mat("r2", A, "p", n=2), mat("r2", B)])
    store.store_events([fail("r3", ["warehouse/orders"], partition="p")])
    assert store.get_partition_status(A) == {"p": PartitionStatus.FAILED}
    store.delete_run("r3")
    assert store.get_partition_status(A) == {"p": PartitionStatus.MATERIALIZED}
    store.delete_run("r2")
    rec = store.get_asset_records([A])[0]
    assert rec.last_run_id == "r1" and rec.materialization_count == 1
    assert store.get_latest_materialization(A, "p").data == {"n": 1}
    assert store.get_asset_records([B]) == []
    store.delete_run("r1")
    assert store.get_asset_records() == []
    assert store.get_partition_status(A) == {}


def test_rebuild_asset_index_reproduces_incremental_state(store):
    add_runs(store, "r1", "r2")
    store.store_events([planned("r1", A, "p1"), mat("r1", A, "p1"), fail("r1", ["raw"], "p1"),
                        Event(EventType.ASSET_CHECK_EVALUATION, "r1", asset_key=A,
                              data={"check_name": "c", "passed": True})])
    store.store_events([mat("r2", A, "p2"), mat("r2", B, "p1")])

    def snapshot():
        return (
            [(r.asset_key, r.materialization_count, r.last_run_id,
              r.last_materialization.storage_id) for r in store.get_asset_records()],
            store.get_partition_status(A),
            store.get_partition_status(B),
            [(c.check_name, c.event.storage_id) for c in store.get_latest_check_evaluations(A)],
        )

    before = snapshot()
    store.rebuild_asset_index()
    assert snapshot() == before
