"""build_dbt_specs: dbt nodes and tests as the core's AssetSpec and AssetCheckSpec."""

from __future__ import annotations

import pytest
from orchestrator_dbt import DbtTranslator, build_dbt_specs, load_manifest

from orchestrator import AssetCheckSpec, AssetKey, AssetSpec
from orchestrator.errors import DefinitionError

P = "passing_shop"


@pytest.fixture(scope="module")
def passing(passing_manifest_path):
    return load_manifest(passing_manifest_path, use_cache=False)


def _by_key(specs):
    return {s.key.to_user_string(): s for s in specs}


@pytest.mark.system
def test_assets_deps_and_fields(passing) -> None:
    specs = build_dbt_specs(passing)
    assets = _by_key(specs.assets)
    assert all(isinstance(s, AssetSpec) for s in specs.assets)
    assert sorted(assets) == sorted([
        "customer_activity", "customers", "daily_orders", "orders", "stg_customers", "stg_events",
        "stg_orders", "raw_customers", "raw_orders", "country_codes", "customers_snapshot"])
    customers = assets["customers"]
    assert sorted(k.to_user_string() for k in customers.dep_keys) == [
        "country_codes", "stg_customers", "stg_orders"]
    assert [k.to_user_string() for k in assets["stg_events"].dep_keys] == ["shop_raw/events"]
    assert customers.group_name == "growth"
    assert customers.owners == ("ada@example.com", "growth@example.com")
    assert customers.code_version == passing.get("customers").checksum
    assert customers.tags == {"core": "", "pii": ""}
    assert customers.kinds == frozenset({"dbt", "duckdb"})
    assert customers.description == "One row per customer with their order totals."
    assert customers.metadata["dbt/relation_name"] == '"passing_shop"."main"."customers"'
    assert customers.metadata["table_schema"].type == "table_schema"
    (source,) = specs.sources
    assert source.key == AssetKey(["shop_raw", "events"]) and source.deps == ()
    assert specs.key_for(f"model.{P}.orders") == AssetKey("orders")
    assert specs.unique_ids_by_key[AssetKey("orders")] == f"model.{P}.orders"


@pytest.mark.system
def test_tests_become_checks_on_the_right_asset(passing) -> None:
    specs = build_dbt_specs(passing)
    assert all(isinstance(c, AssetCheckSpec) for c in specs.checks)
    by_asset: dict[str, dict[str, AssetCheckSpec]] = {}
    for c in specs.checks:
        by_asset.setdefault(c.asset_key.to_user_string(), {})[c.name] = c
    stg_orders = by_asset["stg_orders"]
    accepted = stg_orders[
        "accepted_values_stg_orders_status__placed__shipped__completed__returned"]
    assert accepted.blocking is False  # severity warn
    assert stg_orders["unique_stg_orders_order_id"].blocking is True
    assert stg_orders["unique_stg_orders_order_id"].metadata["dbt/column_name"] == "order_id"
    assert set(by_asset["shop_raw/events"]) == {
        "source_not_null_shop_raw_events_event_id", "source_unique_shop_raw_events_event_id",
        "source_accepted_values_shop_raw_events_event_type__page_view__add_to_cart__checkout"}
    unit = by_asset["customers"]["test_customers_sums_orders"]
    assert unit.metadata["dbt/test_kind"] == "unit" and unit.blocking
    assert [t.name for t in specs.unattached_tests] == ["assert_order_amounts_positive"]
    key = (AssetKey("stg_orders"), "unique_stg_orders_order_id")
    assert specs.check_unique_ids[key].startswith(f"test.{P}.unique_stg_orders_order_id.")
    assert len(specs.checks) == 21  # 20 generic (incl. 3 on the source) + 1 unit test


@pytest.mark.system
def test_selection_and_sources_left_out(passing) -> None:
    specs = build_dbt_specs(passing, unique_ids=[f"model.{P}.orders"], include_sources=False)
    assert [s.key for s in specs.assets] == [AssetKey("orders")]
    assert [k.to_user_string() for k in specs.assets[0].dep_keys] == ["stg_orders"]
    assert {c.asset_key for c in specs.checks} == {AssetKey("orders")}
    assert specs.sources == []
    with pytest.raises(DefinitionError, match="model.passing_shop.nope"):
        build_dbt_specs(passing, unique_ids=["model.passing_shop.nope"])


@pytest.mark.system
def test_translator_shapes_the_specs(passing) -> None:
    class Prefixed(DbtTranslator):
        def get_asset_key(self, node):
            return super().get_asset_key(node).with_prefix("wh")

        def get_group_name(self, node):
            return "dbt"

    specs = build_dbt_specs(passing, Prefixed())
    assets = _by_key(specs.assets)
    assert "wh/customers" in assets
    assert {k.to_user_string() for k in assets["wh/customers"].dep_keys} == {
        "wh/stg_orders", "wh/stg_customers", "wh/country_codes"}
    assert {s.group_name for s in specs.assets} == {"dbt"}
    assert all(c.asset_key.parts[0] == "wh" for c in specs.checks)


@pytest.mark.system
def test_two_nodes_with_one_key_is_an_error(passing) -> None:
    class Clash(DbtTranslator):
        def get_asset_key(self, node):
            return AssetKey("same") if node.name in ("orders", "customers") else (
                super().get_asset_key(node))

    with pytest.raises(DefinitionError, match=r"both map to asset key 'same'") as info:
        build_dbt_specs(passing, Clash())
    assert f"model.{P}.orders" in str(info.value) and f"model.{P}.customers" in str(info.value)


def test_ephemeral_models_are_not_assets_and_deps_pass_through(tiny_doc, write_json) -> None:
    nodes = tiny_doc["nodes"]
    eph = dict(nodes["model.tiny.clean"], unique_id="model.tiny.eph", name="eph",
               path="staging/eph.sql", relation_name=None,
               config={"materialized": "ephemeral"},
               depends_on={"nodes": ["model.tiny.clean", "seed.tiny.raw"]})
    eph2 = dict(eph, unique_id="model.tiny.eph2", name="eph2",
                depends_on={"nodes": ["model.tiny.eph"]})
    final = dict(nodes["model.tiny.clean"], unique_id="model.tiny.final", name="final",
                 path="marts/final.sql", config={"materialized": "table"},
                 depends_on={"nodes": ["model.tiny.eph2", "model.tiny.eph", "seed.tiny.raw"]})
    nodes.update({"model.tiny.eph": eph, "model.tiny.eph2": eph2, "model.tiny.final": final})
    manifest = load_manifest(write_json(tiny_doc), use_cache=False)
    specs = build_dbt_specs(manifest)
    assets = _by_key(specs.assets)
    assert sorted(assets) == ["clean", "final", "raw"]
    assert [k.to_user_string() for k in assets["final"].dep_keys] == ["clean", "raw"]
    assert "model.tiny.eph" not in specs.keys_by_unique_id
    with pytest.raises(DefinitionError, match="ephemeral"):
        build_dbt_specs(manifest, unique_ids=["model.tiny.eph"])
    (check,) = specs.checks
    assert check.asset_key == AssetKey("clean") and check.blocking is False  # severity WARN


def test_translator_must_return_check_specs(tiny_doc, write_json) -> None:
    class Bad(DbtTranslator):
        def get_check_spec(self, test, asset_key):
            return {"name": test.name}

    manifest = load_manifest(write_json(tiny_doc), use_cache=False)
    with pytest.raises(DefinitionError, match="expected an AssetCheckSpec"):
        build_dbt_specs(manifest, Bad())


def test_specs_define_a_multi_asset(tiny_doc, write_json) -> None:
    """The specs are accepted by the core's @multi_asset, checks included."""
    from orchestrator import multi_asset

    manifest = load_manifest(write_json(tiny_doc), use_cache=False)
    specs = build_dbt_specs(manifest)

    @multi_asset(specs=specs.assets, check_specs=specs.checks, can_subset=True)
    def tiny_dbt(context):
        return None

    assert {k.to_user_string() for k in tiny_dbt.keys} == {"clean", "raw"}


def test_two_tests_with_one_check_name_is_an_error(tiny_doc, write_json) -> None:
    nodes = tiny_doc["nodes"]
    twin = dict(nodes["test.tiny.not_null_clean_id.1"], unique_id="test.other.not_null_clean_id.9",
                package_name="other")
    nodes[twin["unique_id"]] = twin
    manifest = load_manifest(write_json(tiny_doc), use_cache=False)
    with pytest.raises(DefinitionError, match=r"both become check 'not_null_clean_id' on asset "
                                              r"'clean'"):
        build_dbt_specs(manifest)
