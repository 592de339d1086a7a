"""Events: ordering, cursors, filters, atomicity, encoding edge cases."""

from __future__ import annotations

import logging
import math

import pytest

from orchestrator.asset_key import AssetKey
from orchestrator.errors import StorageError
from orchestrator.events import Event, EventType, RunRecord


def _logs(run_id, n, start=0):
    return [Event(EventType.LOG, run_id, message=f"line {i}") for i in range(start, start + n)]


def test_storage_ids_are_set_increasing_and_events_round_trip(store):
    store.add_run(RunRecord(run_id="r", job_name="j"))
    events = [
        Event(EventType.RUN_START, "r"),
        Event(
            EventType.STEP_START,
            "r",
            message="starting",
            step_key="load",
            level=logging.DEBUG,
            data={"pid": 42, "nested": {"a": [1, 2.5, None, True, "x"]}},
        ),
        Event(EventType.LOG, "r", message="héllo ✓ \n multi-line", step_key="load",
              level=logging.WARNING),
    ]
    store.store_events(events)
    ids = [e.storage_id for e in events]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 3
    got = store.get_events("r")
    assert got == events  # dataclass equality: every field, incl. storage_id


def test_storage_ids_increase_across_batches_and_runs(store):
    for rid in ("a", "b"):
        store.add_run(RunRecord(run_id=rid, job_name="j"))
    first = _logs("a", 3)
    second = _logs("b", 2) + _logs("a", 2, start=3)
    store.store_events(first)
    store.store_events(second)
    all_ids = [e.storage_id for e in first + second]
    assert all_ids == sorted(all_ids) and len(set(all_ids)) == 7
    assert [e.message for e in store.get_events("a")] == [f"line {i}" for i in range(5)]
    assert [e.message for e in store.get_events("b")] == ["line 0", "line 1"]
    assert [e.storage_id for e in store.get_all_events()] == all_ids


def test_get_events_after_types_limit(store):
    store.add_run(RunRecord(run_id="r", job_name="j"))
    events = [Event(EventType.RUN_START, "r"), *_logs("r", 5), Event(EventType.RUN_SUCCESS, "r")]
    store.store_events(events)
    cursor = events[2].storage_id
    after = store.get_events("r", after=cursor)
    assert [e.storage_id for e in after] == [e.storage_id for e in events[3:]]
    assert [e.message for e in store.get_events("r", after=cursor, limit=2)] == [
        "line 2",
        "line 3",
    ]
    lifecycle = store.get_events("r", event_types=[EventType.RUN_START, EventType.RUN_SUCCESS])
    assert [e.event_type for e in lifecycle] == [EventType.RUN_START, EventType.RUN_SUCCESS]
    assert store.get_events("r", event_types=[]) == []
    assert store.get_events("other") == []
    assert len(store.get_all_events(event_types=[EventType.LOG], limit=3)) == 3


def test_tailing_with_a_cursor_sees_each_event_once(store):
    store.add_run(RunRecord(run_id="r", job_name="j"))
    seen = []
    cursor = None
    for chunk in range(4):
        store.store_events(_logs("r", 3, start=chunk * 3))
        new = store.get_events("r", after=cursor)
        seen.extend(e.message for e in new)
        cursor = new[-1].storage_id
    assert seen == [f"line {i}" for i in range(12)]


def test_events_for_a_run_that_was_never_added_are_kept(store):
    store.store_events(_logs("orphan", 2))
    assert len(store.get_events("orphan")) == 2


def test_nan_and_infinity_in_metadata_round_trip(store):
    store.add_run(RunRecord(run_id="r", job_name="j"))
    meta = {
        "nan": {"type": "float", "raw_value": float("nan")},
        "inf": {"type": "float", "raw_value": float("inf")},
        "ninf": {"type": "float", "raw_value": float("-inf")},
    }
    store.store_events(
        [Event(EventType.ASSET_MATERIALIZATION, "r", asset_key=AssetKey("a"),
               data={"metadata": meta})]
    )
    (event,) = store.get_events("r")
    got = event.data["metadata"]
    assert math.isnan(got["nan"]["raw_value"])
    assert got["inf"]["raw_value"] == math.inf and got["ninf"]["raw_value"] == -math.inf
    latest = store.get_latest_materialization(AssetKey("a"))
    assert math.isnan(latest.data["metadata"]["nan"]["raw_value"])


def test_event_data_is_stored_as_compact_json(store, tmp_path):
    import sqlite3

    from orchestrator.storage.sqlite import SqliteRunStorage

    path = tmp_path / "compact.db"
    s = SqliteRunStorage(path)
    s.store_events([Event(EventType.LOG, "r", data={"a": 1, "b": [1, 2]})])
    s.close()
    raw = sqlite3.connect(path).execute("SELECT data FROM events").fetchone()[0]
    assert raw == '{"a":1,"b":[1,2]}'


@pytest.mark.parametrize(
    "bad, match",
    [
        (Event(EventType.LOG, "r", data={"x": object()}), "event #2 .*not JSON serialisable"),
        ("not an event", "item #2 is a str, not an Event"),
        (Event(EventType.ASSET_MATERIALIZATION, "r"), "event #2 .*has no asset_key"),
        (
            Event(EventType.ASSET_CHECK_EVALUATION, "r", asset_key=AssetKey("a"), data={}),
            "event #2 .*check_name",
        ),
        (
            Event(EventType.STEP_FAILURE, "r", data={"asset_keys": "a"}),
            "event #2 .*asset_keys",
        ),
        (Event(EventType.LOG, "r", asset_key="a"), "event #2 .*AssetKey"),
        (Event(EventType.LOG, None), "event #2 .*run_id None"),
        (Event(EventType.LOG, "r", message=["x"]), "event #2 .*message \\['x'\\] \\(list\\)"),
        (Event(EventType.LOG, "r", timestamp=None), "event #2 .*timestamp None"),
        (Event(EventType.LOG, "r", data=[1]), "event #2 .*data \\[1\\]"),
        (Event("LOG", "r"), "event #2 .*EventType member"),
    ],
)
def test_batch_with_a_bad_item_leaves_nothing_behind(store, bad, match):
    store.add_run(RunRecord(run_id="r", job_name="j"))
    good = [
        Event(EventType.RUN_START, "r"),
        Event(EventType.ASSET_MATERIALIZATION, "r", asset_key=AssetKey("a")),
    ]
    with pytest.raises(StorageError, match=match):
        store.store_events([*good, bad, Event(EventType.RUN_SUCCESS, "r")])
    assert store.get_events("r") == []
    assert store.get_run("r").status.value == "NOT_STARTED"
    assert store.get_asset_records() == []
    assert store.get_latest_materialization(AssetKey("a")) is None
    assert all(e.storage_id is None for e in good)
    # the store is still usable afterwards
    store.store_events(good)
    assert len(store.get_events("r")) == 2


def test_empty_batch_is_a_no_op(store):
    store.store_events([])
    assert store.get_all_events() == []


def test_store_event_single(store):
    e = Event(EventType.LOG, "r", message="one")
    store.store_event(e)
    assert e.storage_id is not None
    assert store.get_events("r")[0].message == "one"


def test_undecodable_text_is_kept_with_replacement_characters(store):
    raw = b"bad \xff byte".decode("utf-8", "surrogateescape")  # how subprocess text arrives
    events = [Event(EventType.LOG, "r", message=raw), Event(EventType.LOG, "r", message="fine")]
    store.store_events(events)
    got = store.get_events("r")
    assert [e.message for e in got] == ["bad \ufffd byte", "fine"]
    assert [e.storage_id for e in events] == [e.storage_id for e in got]


def test_a_generator_of_events_is_accepted(store):
    store.store_events(Event(EventType.LOG, "r", message=str(i)) for i in range(3))
    assert [e.message for e in store.get_events("r")] == ["0", "1", "2"]
