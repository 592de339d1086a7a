"""Running dbt projects as assets: real `dbt build` on DuckDB through @dbt_assets.

Every test works on its own copy of a test project and runs from inside it (the DuckDB file in
the profile is a relative path, resolved by dbt against the current directory).
"""

from __future__ import annotations

import re

import pytest
from orchestrator_dbt import (
    DbtCliResource,
    DbtProject,
    DbtProjectError,
    dbt_assets,
    dbt_source_specs,
)

from orchestrator import AssetKey, asset, materialize
from orchestrator.errors import DefinitionError

pytestmark = [pytest.mark.system, pytest.mark.slow]


@pytest.fixture
def shop(copy_test_project, monkeypatch, parsed_projects):
    pdir = copy_test_project("passing")
    monkeypatch.chdir(pdir)
    return DbtProject(pdir)


@pytest.fixture
def failing(copy_test_project, monkeypatch, parsed_projects):
    pdir = copy_test_project("failing")
    monkeypatch.chdir(pdir)
    return DbtProject(pdir)


def _duck(project: DbtProject, sql: str):
    import duckdb

    db = project.project_dir / f"{project.load_manifest().project_name}.duckdb"
    # read-only: works only because the resource closes dbt-duckdb's database after each run
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _build_assets(project: DbtProject, **kwargs):
    @dbt_assets(manifest=project, **kwargs)
    def dbt_project_assets(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    return dbt_project_assets


def _checks(result) -> dict[str, tuple[bool, str]]:
    return {e.check_name: (e.passed, e.severity.value)
            for e in result.get_asset_check_evaluations()}


def _materialized(result) -> set[str]:
    return {k.to_user_string() for k in result.materialized_keys}


RUNNERS = pytest.mark.parametrize("runner", ["in_process", "subprocess"])


@RUNNERS
def test_full_build_materializes_every_node_and_reports_every_test(shop, runner) -> None:
    assets = _build_assets(shop)
    result = materialize([assets, *dbt_source_specs(assets)],
                         resources={"dbt": DbtCliResource(shop, runner=runner)})
    assert result.success
    assert _materialized(result) == {
        "raw_customers", "raw_orders", "country_codes", "stg_customers", "stg_orders",
        "stg_events", "customers", "orders", "daily_orders", "customer_activity",
        "customers_snapshot"}
    checks = _checks(result)
    # 17 data tests on the assets + 1 unit test + 3 tests of the source the assets read
    assert len(checks) == 21
    assert all(passed for passed, _ in checks.values())
    source_checks = {e.check_name for e in result.get_asset_check_evaluations()
                     if e.asset_key == AssetKey(["shop_raw", "events"])}
    assert source_checks == {"source_not_null_shop_raw_events_event_id",
                             "source_unique_shop_raw_events_event_id",
                             "source_accepted_values_shop_raw_events_event_type__page_view__"
                             "add_to_cart__checkout"}
    assert "test_customers_sums_orders" in checks
    # the data really is in DuckDB
    assert _duck(shop, "select count(*) from customers") == [(5,)]
    assert _duck(shop, "select sum(order_count) from customers") == [(7,)]


@RUNNERS
def test_materialization_metadata(shop, runner) -> None:
    assets = _build_assets(shop)
    result = materialize([assets, *dbt_source_specs(assets)],
                         resources={"dbt": DbtCliResource(shop, runner=runner)})
    by_key = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    seed_md = by_key["raw_orders"].metadata
    assert seed_md["rows_affected"] == 7  # dbt-duckdb reports rows for seeds
    assert seed_md["relation_name"] == '"passing_shop"."main"."raw_orders"'
    assert seed_md["dbt/unique_id"] == "seed.passing_shop.raw_orders"
    assert seed_md["execution_time"] > 0
    model_md = by_key["customers"].metadata
    compiled = model_md["compiled_sql"]
    assert compiled.endswith("target/compiled/passing_shop/models/marts/customers.sql")
    with open(compiled) as f:
        assert '"passing_shop"."main"."stg_orders"' in f.read()  # refs resolved: real SQL


def test_results_are_streamed_while_dbt_runs(shop) -> None:
    seen: list[tuple[str, bool | None]] = []

    @dbt_assets(manifest=shop)
    def streamed(context, dbt: DbtCliResource):
        invocation = dbt.cli(["build"], context=context)
        for item in invocation.stream():
            key = getattr(item, "asset_key", None)
            seen.append((key.to_user_string() if key else "?", invocation.success))
            yield item

    assert materialize([streamed, *dbt_source_specs(streamed)],
                       resources={"dbt": DbtCliResource(shop)}).success
    # every result was handed over before dbt had finished (success is set at the end)
    assert len(seen) == 32 and all(done is None for _, done in seen)


@RUNNERS
def test_failures_skip_only_what_depends_on_them(failing, runner) -> None:
    assets = _build_assets(failing)

    @asset(deps=[AssetKey("healthy_customers")])
    def after_healthy() -> int:
        return 1

    @asset(deps=[AssetKey("broken_totals")])
    def after_broken() -> int:
        return 2

    @asset(deps=[AssetKey("payments")])
    def after_payments() -> int:  # payments' blocking not_null check fails
        return 3

    result = materialize([assets, after_healthy, after_broken, after_payments],
                         resources={"dbt": DbtCliResource(failing, runner=runner)},
                         raise_on_error=False)
    assert not result.success  # as dbt: the build failed
    assert _materialized(result) == {"raw_payments", "healthy_customers", "payments",
                                     "after_healthy"}
    checks = _checks(result)
    assert checks["not_null_payments_paid_at"] == (False, "ERROR")
    assert checks["accepted_values_payments_method__card__voucher"] == (False, "WARN")
    assert checks["not_null_healthy_customers_customer_id"] == (True, "ERROR")
    assert set(result.get_skipped_step_keys()) >= {"after_broken", "after_payments"}
    assert "after_healthy" not in result.get_skipped_step_keys()
    (failure,) = result.get_step_failure_events()
    message = str(failure.data["error"]["message"])
    assert "model.failing_shop.broken_totals: error" in message
    assert "amount_that_does_not_exist" in message
    assert "test.failing_shop.not_null_payments_paid_at" in message


@RUNNERS
def test_subset_run_builds_only_the_selection(shop, runner) -> None:
    assets = _build_assets(shop)
    resources = {"dbt": DbtCliResource(shop, runner=runner)}
    everything = [assets, *dbt_source_specs(assets)]
    assert materialize(everything, resources=resources).success
    result = materialize(everything, resources=resources, selection=["stg_orders", "orders"])
    assert result.success
    assert _materialized(result) == {"stg_orders", "orders"}
    assert {e.asset_key.to_user_string() for e in result.get_asset_check_evaluations()} == {
        "stg_orders", "orders"}
    assert len(_checks(result)) == 7


def test_run_of_most_assets_excludes_the_rest(shop) -> None:
    calls: list[list[str]] = []

    @dbt_assets(manifest=shop)
    def most(context, dbt: DbtCliResource):
        invocation = dbt.cli(["build"], context=context)
        calls.append(invocation.args)
        yield from invocation.stream()

    everything = [most, *dbt_source_specs(most)]
    resources = {"dbt": DbtCliResource(shop)}
    assert materialize(everything, resources=resources).success
    wanted = [k for k in most.keys if k != AssetKey("customer_activity")]
    result = materialize(everything, resources=resources, selection=wanted)
    assert result.success
    assert _materialized(result) == {k.to_user_string() for k in wanted}
    args = calls[-1]
    assert args[args.index("--select") + 1] == "fqn:*"
    excluded = args[args.index("--exclude") + 1:]
    assert excluded[:1] == ["fqn:passing_shop.reporting.customer_activity"]
    assert "not_null_customer_activity_customer_id" not in _checks(result)
    assert calls[0][calls[0].index("--select"):][:2] == ["--select", "fqn:*"]
    assert "--exclude" not in calls[0]


def test_definition_time_selection(shop) -> None:
    staging = _build_assets(shop, select="staging", exclude="stg_events")
    assert {k.to_user_string() for k in staging.keys} == {"stg_customers", "stg_orders"}
    marts = _build_assets(shop, select="+customers")
    assert {k.to_user_string() for k in marts.keys} == {
        "customers", "stg_orders", "stg_customers", "raw_orders", "raw_customers",
        "country_codes"}
    tagged = _build_assets(shop, select="tag:finance,config.materialized:incremental")
    assert {k.to_user_string() for k in tagged.keys} == {"orders"}
    with pytest.raises(DefinitionError, match="matches no model"):
        _build_assets(shop, select="tag:does_not_exist")
    with pytest.raises(DefinitionError, match=r"method 'state' is not supported"):
        _build_assets(shop, select="state:modified")


def test_daily_partition_passes_its_window_as_vars(shop) -> None:
    from orchestrator.partitions import DailyPartitionsDefinition

    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assets = _build_assets(shop, partitions_def=daily)
    resources = {"dbt": DbtCliResource(shop)}
    result = materialize([assets, *dbt_source_specs(assets)], resources=resources,
                         partition_key="2024-01-03")
    assert result.success
    assert _duck(shop, "select order_id from daily_orders") == [(102,)]


def test_partition_range_is_one_invocation(shop) -> None:
    from orchestrator.partitions import DailyPartitionsDefinition, PartitionKeyRange

    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    calls: list[list[str]] = []

    @dbt_assets(manifest=shop, partitions_def=daily)
    def ranged(context, dbt: DbtCliResource):
        invocation = dbt.cli(["build"], context=context)
        calls.append(invocation.args)
        yield from invocation.stream()

    result = materialize([ranged, *dbt_source_specs(ranged)],
                         resources={"dbt": DbtCliResource(shop)},
                         partition_key_range=PartitionKeyRange("2024-01-03", "2024-01-05"))
    assert result.success
    assert len(calls) == 1
    assert sorted(_duck(shop, "select order_id from daily_orders")) == [(102,), (103,), (104,)]
    vars_arg = calls[0][calls[0].index("--vars") + 1]
    assert '"min_date": "2024-01-03T00:00:00' in vars_arg
    assert '"max_date": "2024-01-06T00:00:00' in vars_arg


def test_vars_threads_target_and_defer(shop, tmp_path) -> None:
    assets = _build_assets(shop)
    assert materialize([assets, *dbt_source_specs(assets)],
                       resources={"dbt": DbtCliResource(shop)}).success
    import shutil

    state = tmp_path / "state"
    shutil.copytree(shop.project_dir / "target", state)
    dbt = DbtCliResource(shop, target="dev", threads=1, state_path=state,
                         vars={"min_date": "2024-01-07"})
    invocation = dbt.cli(["build", "--select", "daily_orders"])
    args = invocation.args
    assert args[args.index("--threads") + 1] == "1"
    assert args[args.index("--target") + 1] == "dev"
    assert args[args.index("--state") + 1] == str(state) and "--defer" in args
    results = {r.unique_id: r.status for r in invocation.stream_raw()}
    assert invocation.success
    assert results == {"model.passing_shop.daily_orders": "success"}
    assert sorted(_duck(shop, "select order_id from daily_orders")) == [(105,), (106,), (107,)]


def test_subprocess_runner_crash_is_reported(shop) -> None:
    assets = _build_assets(shop)
    dbt = DbtCliResource(shop, runner="subprocess", env={"PYTHONPATH": "/nonexistent"},
                         python="/bin/false")
    result = materialize([assets, *dbt_source_specs(assets)], resources={"dbt": dbt},
                         raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "dbt runner process" in failure.data["error"]["message"]
    assert "exit code 1" in failure.data["error"]["message"]


def test_bad_resource_settings(shop, tmp_path) -> None:
    with pytest.raises(DbtProjectError, match="holds no manifest.json"):
        DbtCliResource(shop, state_path=tmp_path)
    with pytest.raises(DbtProjectError, match="threads must be a positive integer"):
        DbtCliResource(shop, threads=0)
    with pytest.raises(DbtProjectError, match="needs a command"):
        DbtCliResource(shop).cli([])
    with pytest.raises(DbtProjectError, match="needs the asset context"):
        list(DbtCliResource(shop).cli(["build"]).stream())
    with pytest.raises(DbtProjectError, match="runner must be 'in_process', 'subprocess' or"):
        DbtCliResource(shop, runner="k8s")
    with pytest.raises(DbtProjectError, match=r"runner='docker'\) needs image="):
        DbtCliResource(shop, runner="docker")
    with pytest.raises(DbtProjectError, match="are for runner='docker'"):
        DbtCliResource(shop, runner="subprocess", image="my-dbt:1")
    with pytest.raises(DbtProjectError, match="with runner='subprocess' use stream()"):
        list(DbtCliResource(shop, runner="subprocess").cli(["build"]).stream_raw())


def test_unknown_profile_fails_the_run_with_dbts_message(shop) -> None:
    assets = _build_assets(shop)
    text = (shop.project_dir / "profiles.yml").read_text().replace("passing_shop:", "other:")
    (shop.project_dir / "profiles.yml").write_text(text)
    result = materialize([assets, *dbt_source_specs(assets)],
                         resources={"dbt": DbtCliResource(shop)}, raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "passing_shop" in str(failure.data["error"]["message"])  # the missing profile


def test_dbt_init_starter_project_fails_one_test_by_design(tmp_path, monkeypatch,
                                                           parsed_projects) -> None:
    """dbt's own starter project: its not_null test fails, so dbt skips the model after it."""
    from dbt.cli.main import dbtRunner

    monkeypatch.chdir(tmp_path)
    res = dbtRunner().invoke(["init", "--skip-profile-setup", "starter", "--profiles-dir",
                              str(tmp_path), "--log-level", "none"])
    assert res.success, res.exception
    pdir = tmp_path / "starter"
    (pdir / "profiles.yml").write_text(
        "starter:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: starter.duckdb\n      threads: 1\n")
    monkeypatch.chdir(pdir)
    project = DbtProject(pdir)
    assets = _build_assets(project)

    @asset(deps=[AssetKey("my_second_dbt_model")])
    def report() -> int:
        return 1

    result = materialize([assets, report], resources={"dbt": DbtCliResource(project)},
                         raise_on_error=False)
    assert not result.success
    assert _materialized(result) == {"my_first_dbt_model"}
    checks = _checks(result)
    assert checks["not_null_my_first_dbt_model_id"] == (False, "ERROR")
    assert checks["unique_my_first_dbt_model_id"] == (True, "ERROR")
    assert "report" in result.get_skipped_step_keys()
    (failure,) = result.get_step_failure_events()
    assert re.search(r"test\.starter\.not_null_my_first_dbt_model_id\.\w+: fail",
                     failure.data["error"]["message"])


def test_dbt_source_maps_onto_an_upstream_python_asset(shop) -> None:
    """A translator maps the dbt source onto a Python asset: it runs first and dbt reads it."""
    from orchestrator_dbt import DbtTranslator

    class SourcesArePython(DbtTranslator):
        def get_asset_key(self, node):
            if node.is_source:
                return AssetKey(node.alias)  # the table's name: raw_events
            return super().get_asset_key(node)

    @asset
    def raw_events() -> None:
        import duckdb

        with duckdb.connect("passing_shop.duckdb") as con:
            con.execute("create or replace table main.raw_events as select * from (values "
                        "(10, 1, 'page_view', timestamp '2024-02-01 08:00:00'), "
                        "(11, 2, 'checkout', timestamp '2024-02-01 09:00:00')) "
                        "as t(event_id, customer_id, event_type, occurred_at)")

    @dbt_assets(manifest=shop, translator=SourcesArePython())
    def shop_dbt(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    assert dbt_source_specs(shop_dbt)[0].key == AssetKey("raw_events")  # not to be passed
    result = materialize([raw_events, shop_dbt], resources={"dbt": DbtCliResource(shop)})
    assert result.success
    order = [e.step_key for e in result.get_step_success_events()]
    assert order == ["raw_events", "shop_dbt"]
    assert _duck(shop, "select count(*), min(event_id) from stg_events") == [(2, 10)]


def test_run_then_test_in_one_function(shop) -> None:
    @dbt_assets(manifest=shop)
    def two_steps(context, dbt: DbtCliResource):
        yield from dbt.cli(["seed"], context=context).stream()
        yield from dbt.cli(["run"], context=context).stream()
        yield from dbt.cli(["snapshot"], context=context).stream()
        yield from dbt.cli(["test"], context=context).stream()

    result = materialize([two_steps, *dbt_source_specs(two_steps)],
                         resources={"dbt": DbtCliResource(shop)})
    assert result.success
    assert len(_materialized(result)) == 11
    assert len(_checks(result)) == 21  # with the 3 source tests


def test_selection_that_matches_nothing(shop) -> None:
    from orchestrator_dbt import DbtRunError

    invocation = DbtCliResource(shop).cli(["build", "--select", "does_not_exist"])
    with pytest.raises(DbtRunError, match=r"selected nothing it was asked for: .*does_not_exist"
                                          r".*dbt ls --select"):
        invocation.wait()
    assert invocation.unmatched and invocation.node_results == []


@RUNNERS
def test_stale_manifest_is_named_as_the_cause(shop, runner) -> None:
    assets = _build_assets(shop)  # the manifest knows customer_activity...
    (shop.project_dir / "models" / "reporting" / "customer_activity.sql").unlink()
    (shop.project_dir / "models" / "reporting" / "_reporting.yml").unlink()
    resources = {"dbt": DbtCliResource(shop, runner=runner)}
    everything = [assets, *dbt_source_specs(assets)]
    for selection in (None, ["customer_activity"]):  # a full run, then a subset of it
        result = materialize(everything, resources=resources, selection=selection,
                             raise_on_error=False)
        assert not result.success
        (failure,) = result.get_step_failure_events()
        message = failure.data["error"]["message"]
        assert "manifest no longer matches the project" in message, message
        assert "dbt parse" in message


def test_custom_selection_runs_exactly_the_definitions_assets(shop) -> None:
    calls: list[list[str]] = []

    @dbt_assets(manifest=shop, select="staging", exclude="stg_events")
    def staging(context, dbt: DbtCliResource):
        invocation = dbt.cli(["build"], context=context)
        calls.append(invocation.args)
        yield from invocation.stream()

    # seeds first (the staging models read them), then the staging definition on its own
    seeds = _build_assets(shop, select="resource_type:seed")
    resources = {"dbt": DbtCliResource(shop)}
    assert materialize([seeds], resources=resources).success
    result = materialize([staging, seeds], resources=resources,
                         selection=["stg_customers", "stg_orders"])
    assert result.success
    assert _materialized(result) == {"stg_customers", "stg_orders"}
    args = calls[-1]
    selected = args[args.index("--select") + 1:args.index("--indirect-selection")]
    assert {"fqn:passing_shop.staging.stg_customers",
            "fqn:passing_shop.staging.stg_orders"} <= set(selected)
    assert len(selected) == 2 + 7  # the two models and their seven tests, one by one
    assert not any("stg_events" in term for term in selected)
    assert "staging" not in args  # dbt never sees the definition's own selection string
