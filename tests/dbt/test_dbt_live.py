"""Results arrive while dbt runs (every runner), and dbt source tests are checks on the sources.

The live test gates a slow dbt Python model on a file that a watcher thread creates only once it
sees an earlier model's materialization in the run store: if results were reported only when dbt
ends, the gate never opens and the model fails (after a bounded wait), failing the test.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from orchestrator_dbt import DbtCliResource, DbtProject, dbt_assets, dbt_source_specs

from orchestrator import AssetKey, materialize
from orchestrator.events import EventType
from orchestrator.instance import Instance

pytestmark = [pytest.mark.system, pytest.mark.slow]

EVENTS = AssetKey(["shop_raw", "events"])

# A dbt Python model (dbt-duckdb) downstream of `customers` that waits for the gate file.
GATE_MODEL = '''
import os
import time


def model(dbt, session):
    dbt.config(materialized="table")
    upstream = dbt.ref("customers")
    gate = os.environ["ORCH_TEST_DBT_GATE"]
    deadline = time.monotonic() + 60
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise RuntimeError("gate never opened: customers was not in the run store while "
                               "dbt was still running")
        time.sleep(0.05)
    return upstream
'''


def _build(project: DbtProject):
    @dbt_assets(manifest=project)
    def shop_dbt(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    return shop_dbt


def _watch(instance: Instance, run_id: str, key: AssetKey, gate, stop: threading.Event,
           seen: list[str]) -> None:
    """Open the gate once ``key``'s materialization of ``run_id`` is stored."""
    while not stop.wait(0.05):
        events = instance.run_storage.get_events(run_id)
        if any(e.event_type is EventType.ASSET_MATERIALIZATION and e.asset_key == key
               for e in events):
            running = [e.asset_key for e in events
                       if e.event_type is EventType.ASSET_MATERIALIZATION]
            seen.extend(k.to_user_string() for k in running)
            gate.write_text("open")
            return


@pytest.mark.parametrize("runner", ["in_process", "subprocess", "docker"])
def test_materializations_reach_the_run_store_while_dbt_still_runs(
        copy_test_project, monkeypatch, request, runner) -> None:
    pdir = copy_test_project("passing")
    (pdir / "models" / "reporting" / "gated_customers.py").write_text(GATE_MODEL)
    monkeypatch.chdir(pdir)
    gate = pdir / "gate"  # in the project: a container sees it at the same path
    monkeypatch.setenv("ORCH_TEST_DBT_GATE", str(gate))
    project = DbtProject(pdir)
    assets = _build(project)
    extra = {}
    if runner == "docker":
        extra = {"image": request.getfixturevalue("dbt_image"),
                 "env": {"ORCH_TEST_DBT_GATE": str(gate)}}
    instance = Instance.ephemeral()
    run_id = str(uuid.uuid4())
    seen: list[str] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(instance, run_id, AssetKey("customers"),
                                                    gate, stop, seen), daemon=True)
    watcher.start()
    try:
        result = materialize([assets, *dbt_source_specs(assets)], instance=instance,
                             run_id=run_id, raise_on_error=False,
                             resources={"dbt": DbtCliResource(project, runner=runner,
                                                              **extra)})
    finally:
        stop.set()
        watcher.join()
    assert result.success, [e.message for e in result.get_step_failure_events()]
    # the watcher saw customers stored before the gated model (downstream of it) was built
    assert "customers" in seen and "gated_customers" not in seen
    assert AssetKey("gated_customers") in result.materialized_keys


@pytest.mark.parametrize("runner", ["in_process", "subprocess"])
def test_failing_source_test_is_a_failed_check_on_the_source(copy_test_project, monkeypatch,
                                                             runner) -> None:
    pdir = copy_test_project("passing")
    sources = pdir / "models" / "staging" / "_sources.yml"
    text = sources.read_text()
    assert '["page_view", "add_to_cart", "checkout"]' in text
    sources.write_text(text.replace('["page_view", "add_to_cart", "checkout"]',
                                    '["page_view", "add_to_cart"]'))  # checkout rows fail it
    monkeypatch.chdir(pdir)
    project = DbtProject(pdir)
    assets = _build(project)
    result = materialize([assets, *dbt_source_specs(assets)], raise_on_error=False,
                         resources={"dbt": DbtCliResource(project, runner=runner)})
    assert not result.success
    on_source = {e.check_name: e for e in result.get_asset_check_evaluations()
                 if e.asset_key == EVENTS}
    assert set(on_source) == {"source_not_null_shop_raw_events_event_id",
                              "source_unique_shop_raw_events_event_id",
                              "source_accepted_values_shop_raw_events_event_type__page_view__"
                              "add_to_cart"}
    failed = on_source["source_accepted_values_shop_raw_events_event_type__page_view__add_to_cart"]
    assert not failed.passed and failed.severity.value == "ERROR"
    assert failed.metadata["failures"] == 1  # the one checkout value
    assert on_source["source_unique_shop_raw_events_event_id"].passed
    # dbt skips what reads the failed source; everything else is built
    materialized = {k.to_user_string() for k in result.materialized_keys}
    assert "stg_events" not in materialized and "customer_activity" not in materialized
    assert {"customers", "orders", "stg_orders"} <= materialized
    (failure,) = result.get_step_failure_events()
    assert "source_accepted_values_shop_raw_events" in failure.data["error"]["message"]


def test_source_tests_go_with_the_assets_that_read_the_source(copy_test_project, monkeypatch,
                                                              parsed_projects) -> None:
    pdir = copy_test_project("passing")
    monkeypatch.chdir(pdir)
    project = DbtProject(pdir)
    assets = _build(project)
    everything = [assets, *dbt_source_specs(assets)]
    resources = {"dbt": DbtCliResource(project)}
    assert materialize(everything, resources=resources).success  # tables for the tests below
    # stg_orders does not read shop_raw.events: no source checks in its run
    result = materialize(everything, resources=resources, selection=["raw_orders", "stg_orders"])
    assert result.success
    assert {e.asset_key for e in result.get_asset_check_evaluations()} == {AssetKey("stg_orders")}
    # stg_events reads it: its run reports the source's three tests too
    result = materialize(everything, resources=resources, selection=["stg_events"])
    assert result.success
    keys = [e.asset_key for e in result.get_asset_check_evaluations()]
    assert keys.count(EVENTS) == 3 and set(keys) == {EVENTS, AssetKey("stg_events")}
