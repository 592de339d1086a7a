"""Runtime type checks inside runs: annotations, DagsterType, TYPE_CHECK events, failures."""

from __future__ import annotations

from orchestrator import (
    AssetOut,
    DagsterType,
    EventType,
    In,
    Out,
    TypeCheck,
    asset,
    job,
    materialize,
    multi_asset,
    op,
)

NonEmptyList = DagsterType(
    type_check_fn=lambda _ctx, v: isinstance(v, list) and len(v) > 0,
    name="NonEmptyList",
    description="A list with at least one element.",
)


def _rows_check(_ctx, rows):
    if not isinstance(rows, list):
        return TypeCheck(False, description=f"expected a list of rows, got {type(rows).__name__}")
    return TypeCheck(len(rows) > 0, description=None if rows else "no rows",
                     metadata={"row_count": len(rows)})


Rows = DagsterType(type_check_fn=_rows_check, name="Rows")


def type_checks(result):
    return [(e.step_key, e.data["label"], e.data["type_name"], e.data["success"])
            for e in result.all_events if e.event_type is EventType.TYPE_CHECK]


def test_annotated_inputs_and_outputs_checked_and_recorded():
    @asset
    def numbers() -> list[int]:
        return [1, 2]

    @asset
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    result = materialize([numbers, total])
    assert result.success
    checks = type_checks(result)
    assert ("numbers", "result", "list", True) in [(s, name, t.split("[")[0], ok)
                                                  for s, name, t, ok in checks]
    assert [(s, name, ok) for s, name, _, ok in checks] == [
        ("numbers", "result", True), ("total", "numbers", True), ("total", "result", True)]


def test_unannotated_means_any():
    @asset
    def anything():
        return object()

    result = materialize([anything])
    assert result.success and type_checks(result) == []


def test_wrong_output_type_fails_the_step_with_a_clear_message():
    @asset
    def says_int() -> int:
        return "not an int"

    result = materialize([says_int], raise_on_error=False)
    assert not result.success
    err = result.get_step_failure_events()[0].data["error"]
    assert err["type"] == "TypeCheckError"
    assert "output 'result' of asset 'says_int'" in err["message"]
    assert "int" in err["message"] and "str" in err["message"]
    assert result.materialized_keys == set()
    assert [ok for *_, ok in type_checks(result)] == [False]


def test_wrong_input_type_fails_before_the_function_runs():
    called = []

    @asset
    def text() -> str:
        return "abc"

    @asset
    def wants_list(text: list) -> int:
        called.append(1)
        return len(text)

    result = materialize([text, wants_list], raise_on_error=False)
    assert called == []
    err = result.get_step_failure_events()[0].data["error"]
    assert "input 'text' of asset 'wants_list'" in err["message"]


def test_custom_dagster_type_non_empty_list():
    @op(out=Out(NonEmptyList))
    def produce(context) -> list:
        return context.op_config or []

    @op(ins={"items": In(NonEmptyList)})
    def consume(items) -> int:
        return len(items)

    @job
    def j():
        consume(produce())

    ok = j.execute_in_process(run_config={"ops": {"produce": {"config": [1, 2]}}})
    assert ok.output_for_node("consume") == 2
    assert [(s, name, t, y) for s, name, t, y in type_checks(ok)] == [
        ("produce", "result", "NonEmptyList", True), ("consume", "items", "NonEmptyList", True),
        ("consume", "result", "int", True)]

    bad = j.execute_in_process(raise_on_error=False)
    assert not bad.success
    (fail,) = bad.get_step_failure_events()
    assert fail.step_key == "produce"
    assert fail.data["error"]["type"] == "TypeCheckError"
    assert fail.data["error"]["message"] == (
        "output 'result' of op 'produce': value of type list ([]) failed the 'NonEmptyList' "
        "type check")
    assert bad.get_skipped_step_keys() == {"consume"}


def test_dagster_type_as_annotation_with_description_and_metadata():
    @asset
    def rows() -> Rows:
        return []

    result = materialize([rows], raise_on_error=False)
    (ev,) = [e for e in result.all_events if e.event_type is EventType.TYPE_CHECK]
    assert ev.data["success"] is False
    assert ev.data["description"] == "no rows"
    assert ev.data["metadata"]["row_count"]["raw_value"] == 0
    err = result.get_step_failure_events()[0].data["error"]["message"]
    assert "no rows" in err


def test_multi_asset_out_types():
    @multi_asset(outs={"good": AssetOut(dagster_type=int), "bad": AssetOut(dagster_type=int)})
    def pair():
        return 1, "two"

    result = materialize([pair], raise_on_error=False)
    assert not result.success
    assert "output 'bad'" in result.get_step_failure_events()[0].data["error"]["message"]
