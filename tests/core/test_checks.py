"""Asset checks: @asset_check, check_specs on assets, blocking checks, severities."""

from __future__ import annotations

import pytest

from orchestrator import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    CheckFailedError,
    Definitions,
    EventType,
    MaterializeResult,
    RunStatus,
    asset,
    asset_check,
    define_asset_job,
    materialize,
)


@asset
def orders() -> list[dict]:
    return [{"id": 1, "amount": 5}, {"id": None, "amount": -1}]


@asset
def revenue(orders: list[dict]) -> int:
    return sum(o["amount"] for o in orders)


def test_asset_check_receives_the_asset_value_and_records_its_result():
    @asset_check(asset=orders, description="every order has an id")
    def orders_have_ids(orders) -> AssetCheckResult:
        missing = sum(1 for o in orders if o["id"] is None)
        return AssetCheckResult(passed=missing == 0, metadata={"missing": missing},
                                severity=AssetCheckSeverity.WARN)

    result = materialize([orders, revenue, orders_have_ids])
    assert result.success  # a failed WARN check does not fail the run
    (ev,) = result.get_asset_check_evaluations()
    assert ev.asset_key == AssetKey("orders")
    assert ev.check_name == "orders_have_ids"
    assert ev.passed is False
    assert ev.severity is AssetCheckSeverity.WARN
    assert ev.metadata == {"missing": 1}
    assert result.output_for_node("revenue") == 4


def test_passing_check():
    @asset_check(asset="orders")
    def non_empty(orders):
        return AssetCheckResult(passed=len(orders) > 0)

    result = materialize([orders, non_empty])
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]


def test_blocking_check_stops_downstream_and_fails_the_run():
    calls = []

    @asset
    def tracked_revenue(orders: list[dict]) -> int:
        calls.append("revenue")
        return 0

    @asset
    def unrelated() -> int:
        calls.append("unrelated")
        return 1

    @asset_check(asset=orders, blocking=True)
    def amounts_positive(orders):
        return AssetCheckResult(passed=all(o["amount"] > 0 for o in orders))

    result = materialize([orders, tracked_revenue, unrelated, amounts_positive],
                         raise_on_error=False)
    assert not result.success
    assert result.run.status is RunStatus.FAILURE
    assert calls == ["unrelated"]
    assert result.get_skipped_step_keys() == {"tracked_revenue"}
    skip = result.events_of_type(EventType.STEP_SKIPPED)[0]
    assert "amounts_positive" in skip.message
    end = result.events_of_type(EventType.RUN_FAILURE)[0]
    assert "orders:amounts_positive" in end.message
    # orders itself was materialized
    assert AssetKey("orders") in result.materialized_keys

    with pytest.raises(CheckFailedError, match="amounts_positive"):
        materialize([orders, tracked_revenue, amounts_positive])


def test_blocking_check_with_warn_severity_never_blocks():
    @asset_check(asset=orders, blocking=True)
    def soft(orders):
        return AssetCheckResult(passed=False, severity="WARN")

    result = materialize([orders, revenue, soft])
    assert result.success
    assert AssetKey("revenue") in result.materialized_keys


def test_check_specs_on_asset_reported_in_materialize_result():
    @asset(check_specs=[AssetCheckSpec("positive", asset="scores"),
                        AssetCheckSpec("small", asset="scores", blocking=True)])
    def scores() -> MaterializeResult:
        values = [1, 2, 300]
        return MaterializeResult(
            metadata={"n": len(values)},
            check_results=[
                AssetCheckResult(check_name="positive", passed=min(values) > 0),
                AssetCheckResult(check_name="small", passed=max(values) < 100,
                                 metadata={"max": max(values)}),
            ])

    @asset
    def after_scores(scores) -> int:
        return 1

    result = materialize([scores, after_scores], raise_on_error=False)
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evals["positive"].passed and not evals["small"].passed
    assert evals["small"].blocking and evals["small"].metadata == {"max": 300}
    assert result.get_skipped_step_keys() == {"after_scores"}
    assert not result.success


def test_check_spec_defaults_to_its_asset():
    @asset(check_specs=[AssetCheckSpec("ok", asset=None)])
    def implicit():
        return MaterializeResult(check_results=[AssetCheckResult(passed=True)])

    result = materialize([implicit])
    (ev,) = result.get_asset_check_evaluations()
    assert ev.asset_key == AssetKey("implicit") and ev.check_name == "ok"


def test_undeclared_check_result_is_an_error():
    @asset
    def plain():
        return MaterializeResult(check_results=[AssetCheckResult(check_name="surprise",
                                                                 passed=True)])

    result = materialize([plain], raise_on_error=False)
    assert not result.success
    err = result.get_step_failure_events()[0].data["error"]
    assert err["type"] == "DefinitionError"
    assert "surprise" in err["message"] and "does not declare" in err["message"]


def test_declared_check_not_reported_is_an_error():
    @asset(check_specs=[AssetCheckSpec("forgotten", asset="lazy")])
    def lazy():
        return 1

    result = materialize([lazy], raise_on_error=False)
    assert not result.success
    err = result.get_step_failure_events()[0].data["error"]
    assert "lazy:forgotten" in err["message"] and "did not report" in err["message"]


def test_check_on_unknown_asset_is_reported_by_validate():
    @asset_check(asset="nowhere")
    def lost(nowhere):
        return AssetCheckResult(passed=True)

    from orchestrator import DefinitionError

    with pytest.raises(DefinitionError, match="'nowhere'"):
        Definitions(assets=[orders], asset_checks=[lost]).validate()


def test_check_that_raises_fails_its_step_only():
    @asset_check(asset=orders)
    def broken(orders):
        raise ValueError("boom")

    result = materialize([orders, revenue, broken], raise_on_error=False)
    assert not result.success
    assert result.get_failed_step_keys() == {"orders_broken"}
    assert AssetKey("revenue") in result.materialized_keys


def test_checks_in_a_job_from_definitions():
    @asset_check(asset=orders)
    def two_orders(orders):
        return AssetCheckResult(passed=len(orders) == 2)

    defs = Definitions(assets=[orders], asset_checks=[two_orders],
                       jobs=[define_asset_job("j", "orders")])
    result = defs.get_job_def("j").execute_in_process()
    assert [(e.check_name, e.passed) for e in result.get_asset_check_evaluations()] == [
        ("two_orders", True)]
