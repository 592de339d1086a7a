"""DbtTranslator: the defaults on a real project, and overrides by subclassing."""

from __future__ import annotations

import pytest
from orchestrator_dbt import DbtManifest, DbtNode, DbtTranslator, load_manifest

from orchestrator.asset_key import AssetKey


def _node(**kw) -> DbtNode:
    base = {
        "unique_id": "model.p.m", "name": "m", "resource_type": "model", "package_name": "p",
        "fqn": ("p", "m"), "path": "m.sql", "original_file_path": "models/m.sql",
        "database": "db", "schema": "main", "alias": "m", "relation_name": '"db"."main"."m"',
        "materialized": "table", "description": "", "columns": (), "tags": (), "meta": {},
        "group": None, "owners": (), "checksum": "abc", "depends_on": (), "source_name": None,
        "version": None, "configured_schema": None,
    }
    base.update(kw)
    return DbtNode(**base)


# -- defaults on hand-made nodes (no dbt needed) ----------------------------------------------
def test_default_key_is_the_name() -> None:
    assert DbtTranslator().get_asset_key(_node()) == AssetKey("m")


def test_versioned_model_key() -> None:
    assert DbtTranslator().get_asset_key(_node(version="2")) == AssetKey("m_v2")


def test_configured_schema_prefixes_the_key() -> None:
    node = _node(configured_schema="finance", schema="main_finance")
    assert DbtTranslator().get_asset_key(node) == AssetKey(["finance", "m"])


def test_source_key_is_source_name_and_table() -> None:
    src = _node(resource_type="source", name="events", source_name="raw",
                fqn=("p", "staging", "raw", "events"), checksum=None)
    t = DbtTranslator()
    assert t.get_asset_key(src) == AssetKey(["raw", "events"])
    assert t.get_group_name(src) == "staging"
    assert t.get_code_version(src) is None
    assert t.get_description(src) == "dbt source raw.events"


@pytest.mark.parametrize("meta_key", ["orchestrator", "dagster"])
def test_meta_can_set_key_group_and_owners(meta_key) -> None:
    node = _node(meta={meta_key: {"asset_key": ["wh", "m"], "group": "core",
                                  "owners": ["team:data"]}})
    t = DbtTranslator()
    assert t.get_asset_key(node) == AssetKey(["wh", "m"])
    assert t.get_group_name(node) == "core"
    assert t.get_owners(node) == ["team:data"]
    node = _node(meta={meta_key: {"asset_key": "a/b"}})
    assert t.get_asset_key(node) == AssetKey(["a", "b"])


def test_group_from_nested_folders_is_a_safe_name() -> None:
    node = _node(path="marts/finance-eu/orders.sql")
    assert DbtTranslator().get_group_name(node) == "marts_finance_eu"
    assert DbtTranslator().get_group_name(_node(path="orders.sql")) == "default"
    assert DbtTranslator().get_group_name(_node(path="a\\b\\orders.sql")) == "a_b"
    assert DbtTranslator().get_group_name(_node(group="finance", path="x/y.sql")) == "finance"


def test_metadata_without_columns_or_relation() -> None:
    node = _node(materialized="ephemeral", relation_name=None)
    assert DbtTranslator().get_metadata(node) == {
        "dbt/unique_id": "model.p.m", "dbt/materialization": "ephemeral"}


# -- defaults on the real passing project -----------------------------------------------------
@pytest.fixture(scope="module")
def passing(passing_manifest_path) -> DbtManifest:
    return load_manifest(passing_manifest_path, use_cache=False)


@pytest.mark.system
def test_defaults_on_the_passing_project(passing: DbtManifest) -> None:
    t = DbtTranslator()
    keys = {n.name: t.get_asset_key(n) for n in passing}
    assert keys["customers"] == AssetKey("customers")
    assert keys["raw_orders"] == AssetKey("raw_orders")
    assert keys["customers_snapshot"] == AssetKey("customers_snapshot")
    (source,) = passing.sources.values()
    assert t.get_asset_key(source) == AssetKey(["shop_raw", "events"])

    groups = {n.name: t.get_group_name(n) for n in passing}
    assert groups["customers"] == "growth"  # dbt group
    assert groups["orders"] == "finance"
    assert groups["stg_orders"] == "staging"  # folder
    assert groups["customer_activity"] == "reporting"
    assert groups["raw_orders"] == "default"  # top-level seed
    assert groups["customers_snapshot"] == "default"
    assert t.get_group_name(source) == "staging"

    customers = passing.get("customers")
    assert t.get_description(customers) == "One row per customer with their order totals."
    stg_events = passing.get("stg_events")
    assert t.get_description(stg_events) == "Click-stream events from the raw source."
    assert t.get_description(passing.get("customers_snapshot")) == (
        "dbt snapshot customers_snapshot")
    assert t.get_code_version(customers) == customers.checksum and customers.checksum
    assert t.get_owners(customers) == ["ada@example.com", "growth@example.com"]
    assert t.get_tags(customers) == {"core": "", "pii": ""}

    md = t.get_metadata(customers)
    assert md["dbt/unique_id"] == "model.passing_shop.customers"
    assert md["dbt/materialization"] == "table"
    assert md["dbt/relation_name"] == '"passing_shop"."main"."customers"'
    assert md["dbt/tags"] == ["core", "pii"]
    schema = md["table_schema"]
    raw = schema.raw_value if hasattr(schema, "raw_value") else schema
    cols = [(c["name"], c["type"]) for c in raw["columns"]]
    assert cols == [("customer_id", "integer"), ("full_name", "varchar"),
                    ("country_name", "varchar"), ("order_count", "bigint"),
                    ("lifetime_value", "decimal(18, 2)")]


@pytest.mark.system
def test_overrides_are_used(passing: DbtManifest) -> None:
    class Custom(DbtTranslator):
        def get_asset_key(self, node):
            return super().get_asset_key(node).with_prefix("warehouse")

        def get_group_name(self, node):
            return "dbt_" + node.resource_type

        def get_description(self, node):
            return f"{node.name}!"

        def get_metadata(self, node):
            return {**super().get_metadata(node), "team": "analytics"}

        def get_code_version(self, node):
            return (node.checksum or "")[:8] or None

        def get_tags(self, node):
            return {"layer": node.path.split("/")[0]} if "/" in node.path else {}

        def get_owners(self, node):
            return ["team:analytics"]

    t = Custom()
    customers = passing.get("customers")
    assert t.get_asset_key(customers) == AssetKey(["warehouse", "customers"])
    assert t.get_group_name(customers) == "dbt_model"
    assert t.get_group_name(passing.get("raw_orders")) == "dbt_seed"
    assert t.get_description(customers) == "customers!"
    md = t.get_metadata(customers)
    assert md["team"] == "analytics" and md["dbt/materialization"] == "table"
    assert t.get_code_version(customers) == customers.checksum[:8]
    assert t.get_tags(customers) == {"layer": "marts"}
    assert t.get_owners(passing.get("stg_orders")) == ["team:analytics"]
