"""Runs recorded in a real file run store: ordered events, asset state, concurrent runs,
user tracebacks."""

from __future__ import annotations

import threading

import pytest

from orchestrator import (
    AssetCheckResult,
    AssetKey,
    EventType,
    Instance,
    MaterializeResult,
    RunStatus,
    asset,
    asset_check,
    materialize,
)
from orchestrator.storage.base import PartitionStatus

THIS_FILE = __file__


@pytest.fixture
def instance(tmp_path):
    inst = Instance.from_home(tmp_path / "home")
    yield inst
    inst.close()


@asset
def source(context) -> list[int]:
    context.log.info("loading %d rows", 3)
    context.log.debug("debug detail")
    return [1, 2, 3]


@asset
def derived(context, source: list[int]) -> MaterializeResult:
    context.log.warning("derived from %s", source)
    return MaterializeResult(metadata={"sum": sum(source)})


@asset_check(asset=source)
def source_not_empty(source):
    return AssetCheckResult(passed=bool(source))


def test_all_events_in_order_with_logs_and_messages(instance):
    result = materialize([source, derived, source_not_empty], instance=instance)
    events = result.all_events
    assert events == instance.get_events(result.run_id)
    ids = [e.storage_id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e.run_id == result.run_id for e in events)
    assert all(isinstance(e.message, str) and e.message for e in events)
    kinds = [(e.event_type.value, e.step_key) for e in events
             if e.event_type not in (EventType.TYPE_CHECK, EventType.HANDLED_OUTPUT,
                                     EventType.LOADED_INPUT)]
    assert kinds == [
        ("RUN_START", None),
        ("STEP_START", "source"),
        ("LOG", "source"), ("LOG", "source"),
        ("ASSET_MATERIALIZATION", "source"),
        ("STEP_SUCCESS", "source"),
        ("STEP_START", "derived"),
        ("LOG", "derived"),
        ("ASSET_MATERIALIZATION", "derived"),
        ("STEP_SUCCESS", "derived"),
        ("STEP_START", "source_source_not_empty"),
        ("ASSET_CHECK_EVALUATION", "source_source_not_empty"),
        ("STEP_SUCCESS", "source_source_not_empty"),
        ("RUN_SUCCESS", None),
    ]
    logs = [e for e in events if e.event_type is EventType.LOG]
    assert [(e.level, e.message) for e in logs] == [
        (20, "loading 3 rows"), (10, "debug detail"), (30, "derived from [1, 2, 3]")]
    assert logs[0].asset_key == AssetKey("source")
    # a log is stored after what the step did before it (bookkeeping flushed first)
    pos = {id(e): i for i, e in enumerate(events)}
    handled = next(e for e in events if e.event_type is EventType.LOADED_INPUT
                   and e.step_key == "derived")
    assert pos[id(handled)] < pos[id(logs[2])]


def test_asset_state_after_materialize(instance):
    r1 = materialize([source, derived], instance=instance)
    r2 = materialize([source, derived], selection="derived", instance=instance)
    latest = instance.get_latest_materialization("derived")
    assert latest.run_id == r2.run_id and latest.metadata["sum"] == 6
    assert instance.get_latest_materialization("source").run_id == r1.run_id
    history = instance.run_storage.get_materializations(AssetKey("derived"))
    assert [e.run_id for e in history] == [r2.run_id, r1.run_id]
    records = {r.asset_key.to_user_string(): r for r in
               instance.run_storage.get_asset_records()}
    assert records["derived"].materialization_count == 2
    assert records["source"].last_run_id == r1.run_id
    assert instance.run_storage.get_asset_status(AssetKey("derived")) == \
        PartitionStatus.MATERIALIZED


def test_failed_materialization_state_and_other_assets_unaffected(instance):
    materialize([source, derived], instance=instance)

    @asset(name="derived")
    def derived_broken(source: list[int]) -> int:
        raise RuntimeError("now broken")

    result = materialize([source, derived_broken], instance=instance, raise_on_error=False)
    assert instance.get_run(result.run_id).status is RunStatus.FAILURE
    assert instance.run_storage.get_asset_status(AssetKey("derived")) == PartitionStatus.FAILED
    assert instance.get_latest_materialization("source").run_id == result.run_id


def test_concurrent_runs_in_threads_do_not_disturb_each_other(instance):
    @asset
    def per_partition(context) -> str:
        context.log.info("working on %s", context.partition_key)
        if context.partition_key == "p3":
            raise ValueError("p3 is broken")
        return context.partition_key.upper()

    @asset
    def consumer(context, per_partition: str) -> str:
        return per_partition + "!"

    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def run(pk: str) -> None:
        try:
            results[pk] = materialize([per_partition, consumer], instance=instance,
                                      partition_key=pk, tags={"pk": pk},
                                      raise_on_error=False)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"p{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(results) == 6
    for pk, res in results.items():
        run = instance.get_run(res.run_id)
        assert run.tags == {"pk": pk}
        events = res.all_events
        assert all(e.run_id == res.run_id for e in events)
        logs = [e.message for e in events if e.event_type is EventType.LOG]
        assert logs == [f"working on {pk}"]
        if pk == "p3":
            assert run.status is RunStatus.FAILURE
            assert res.get_skipped_step_keys() == {"consumer"}
        else:
            assert run.status is RunStatus.SUCCESS
            assert res.output_for_node("consumer") == pk.upper() + "!"
            assert {e.partition for e in res.get_asset_materialization_events()} == {pk}
    statuses = instance.run_storage.get_partition_status(AssetKey("consumer"))
    assert statuses == {f"p{i}": PartitionStatus.MATERIALIZED for i in range(6) if i != 3}


def _helper_that_raises(value: int) -> int:
    raise ZeroDivisionError(f"cannot divide {value}")


def test_step_failure_records_the_users_traceback_first(instance):
    @asset
    def divides() -> int:
        return _helper_that_raises(1)

    result = materialize([divides], instance=instance, raise_on_error=False)
    (fail,) = instance.get_events(result.run_id, event_types=[EventType.STEP_FAILURE])
    err = fail.data["error"]
    assert err["type"] == "ZeroDivisionError" and err["message"] == "cannot divide 1"
    first_frame = err["stack"][0]
    assert first_frame.strip().startswith(f'File "{THIS_FILE}"'), first_frame
    assert "in divides" in first_frame
    assert "in _helper_that_raises" in err["stack"][-1]
    assert "orchestrator/execution" not in "".join(err["stack"])
    assert err["stack_text"].endswith("ZeroDivisionError: cannot divide 1")


def test_failure_with_cause_keeps_the_chain(instance):
    @asset
    def wraps() -> int:
        try:
            {}["key"]
        except KeyError as exc:
            raise RuntimeError("lookup failed") from exc

    result = materialize([wraps], instance=instance, raise_on_error=False)
    err = result.get_step_failure_events()[0].data["error"]
    assert err["cause"]["type"] == "KeyError"
    assert "The above was caused by" in err["stack_text"]


def test_run_store_consistent_after_failure(instance):
    @asset
    def fine() -> int:
        return 1

    @asset
    def fails() -> int:
        raise RuntimeError("x")

    result = materialize([fine, fails], instance=instance, raise_on_error=False)
    run = instance.get_run(result.run_id)
    assert run.status is RunStatus.FAILURE and run.ended_at is not None
    types = [e.event_type for e in result.all_events]
    assert types[0] is EventType.RUN_START and types[-1] is EventType.RUN_FAILURE
    assert types.count(EventType.STEP_START) == 2
    assert types.count(EventType.STEP_SUCCESS) + types.count(EventType.STEP_FAILURE) == 2
    # a later run is not affected
    assert materialize([fine], instance=instance).success
