"""Loading the manifests that real `dbt parse` writes for the test projects."""

from __future__ import annotations

import pytest
from orchestrator_dbt import DbtManifest, DbtNode, load_manifest

pytestmark = pytest.mark.system

P = "passing_shop"


@pytest.fixture(scope="module")
def passing(passing_manifest_path) -> DbtManifest:
    return load_manifest(passing_manifest_path, use_cache=False)


@pytest.fixture(scope="module")
def failing(failing_manifest_path) -> DbtManifest:
    return load_manifest(failing_manifest_path, use_cache=False)


def test_manifest_facts(passing: DbtManifest) -> None:
    assert passing.schema_version == 12
    assert passing.dbt_version.startswith("1.")
    assert passing.project_name == P
    assert passing.adapter_type == "duckdb"
    assert passing.loaded_from == "json"


def test_asset_nodes_are_models_seeds_and_snapshots(passing: DbtManifest) -> None:
    by_type = {t: sorted(n.name for n in passing.by_resource_type(t))
               for t in ("model", "seed", "snapshot")}
    assert by_type == {
        "model": ["customer_activity", "customers", "daily_orders", "orders", "stg_customers",
                  "stg_events", "stg_orders"],
        "seed": ["country_codes", "raw_customers", "raw_orders"],
        "snapshot": ["customers_snapshot"],
    }
    assert len(passing) == 11
    # tests, macros, the project hook: never asset nodes
    assert all(n.resource_type in ("model", "seed", "snapshot") for n in passing)


def test_materializations_and_relations(passing: DbtManifest) -> None:
    mat = {n.name: n.materialized for n in passing}
    assert mat["customers"] == "table"
    assert mat["orders"] == "incremental"
    assert mat["stg_orders"] == "view"
    assert mat["customer_activity"] == "view"
    assert mat["raw_orders"] == "seed"
    assert mat["customers_snapshot"] == "snapshot"
    customers = passing.get("customers")
    assert customers.relation_name == '"passing_shop"."main"."customers"'
    assert customers.database == "passing_shop" and customers.schema == "main"
    assert customers.path == "marts/customers.sql"
    assert customers.original_file_path == "models/marts/customers.sql"
    assert customers.fqn == (P, "marts", "customers")
    assert customers.package_name == P


def test_dependencies(passing: DbtManifest) -> None:
    assert set(passing.get("customers").depends_on) == {
        f"model.{P}.stg_orders", f"model.{P}.stg_customers", f"seed.{P}.country_codes"}
    assert passing.get("stg_events").depends_on == (f"source.{P}.shop_raw.events",)
    assert passing.get("customers_snapshot").depends_on == (f"model.{P}.stg_customers",)
    assert passing.get("raw_orders").depends_on == ()
    assert sorted(passing.children("stg_customers")) == [
        f"model.{P}.customers", f"snapshot.{P}.customers_snapshot"]
    assert passing.children(f"source.{P}.shop_raw.events") == [f"model.{P}.stg_events"]


def test_descriptions_columns_tags_meta_owners_groups(passing: DbtManifest) -> None:
    customers = passing.get("customers")
    assert customers.description == "One row per customer with their order totals."
    cols = {c.name: c for c in customers.columns}
    assert list(cols) == ["customer_id", "full_name", "country_name", "order_count",
                          "lifetime_value"]
    assert cols["customer_id"].data_type == "integer"
    assert cols["customer_id"].description == "Primary key of a customer."
    assert cols["lifetime_value"].data_type == "decimal(18, 2)"
    assert cols["country_name"].description == ""
    assert customers.tags == ("core", "pii")
    assert customers.meta == {"owner": "ada@example.com", "tier": "gold"}
    assert customers.group == "growth"
    assert customers.owners == ("ada@example.com", "growth@example.com")
    assert passing.group_of(customers).owner_email == "growth@example.com"
    orders = passing.get("orders")
    assert orders.group == "finance"
    assert orders.owners == ("finance@example.com",)
    assert "finance" in orders.tags
    assert passing.get("stg_orders").tags == ("staging",)  # from dbt_project.yml
    assert passing.get("raw_orders").tags == ("raw",)
    assert passing.groups["finance"].owner_name == "Finance Analytics"
    assert sorted(passing.groups) == ["finance", "growth"]


def test_code_version_is_the_file_checksum(passing: DbtManifest) -> None:
    import hashlib

    node = passing.get("customers")
    path = passing.path.parent.parent / node.original_file_path
    # dbt hashes the file's content without surrounding whitespace
    assert node.checksum == hashlib.sha256(path.read_bytes().strip()).hexdigest()
    assert len({n.checksum for n in passing}) == len(passing)


def test_source_is_an_external_node(passing: DbtManifest) -> None:
    (source,) = passing.sources.values()
    assert isinstance(source, DbtNode) and source.is_source
    assert source.unique_id == f"source.{P}.shop_raw.events"
    assert source.source_name == "shop_raw" and source.name == "events"
    assert source.alias == "raw_events"  # the identifier
    assert source.relation_name == '"passing_shop"."main"."raw_events"'
    assert source.owners == ("ingest-team@example.com",)
    assert passing.get("shop_raw.events") is source
    assert {c.name: c.data_type for c in source.columns} == {"event_id": "integer",
                                                             "event_type": None}


def test_generic_tests_attach_to_the_model_they_test(passing: DbtManifest) -> None:
    def summary(name: str) -> set[tuple[str, str | None, str]]:
        return {(t.test_name, t.column_name, t.severity) for t in passing.tests_for(name)
                if t.kind == "generic"}

    assert summary("stg_orders") == {
        ("unique", "order_id", "error"),
        ("not_null", "order_id", "error"),
        ("accepted_values", "status", "warn"),
        ("relationships", "customer_id", "error"),
    }
    assert summary("orders") == {
        ("unique", "order_id", "error"), ("not_null", "order_id", "error"),
        ("relationships", "customer_id", "error")}
    assert summary("raw_customers") == {("unique", "customer_id", "error"),
                                        ("not_null", "customer_id", "error")}
    assert summary("customers_snapshot") == set()
    (accepted,) = [t for t in passing.tests_for("stg_orders") if t.test_name == "accepted_values"]
    assert accepted.kwargs == {"values": ["placed", "shipped", "completed", "returned"],
                               "column_name": "status"}
    (rel,) = [t for t in passing.tests_for("orders") if t.test_name == "relationships"]
    assert rel.kwargs["to"] == "ref('customers')" and rel.kwargs["field"] == "customer_id"
    # attached to orders, but it reads customers too
    assert set(rel.depends_on) == {f"model.{P}.orders", f"model.{P}.customers"}


def test_source_tests_attach_to_the_source(passing: DbtManifest) -> None:
    tests = passing.tests_for("shop_raw.events")
    assert {(t.test_name, t.column_name) for t in tests} == {
        ("not_null", "event_id"), ("unique", "event_id"), ("accepted_values", "event_type")}
    assert all(t.attached_node == f"source.{P}.shop_raw.events" for t in tests)


def test_singular_test_keeps_its_dependencies(passing: DbtManifest) -> None:
    (singular,) = [t for t in passing.tests.values() if t.kind == "singular"]
    assert singular.name == "assert_order_amounts_positive"
    assert singular.test_name == "assert_order_amounts_positive"
    assert set(singular.depends_on) == {f"model.{P}.orders", f"model.{P}.stg_orders"}
    assert singular.attached_node is None  # two upstream models: no single owner
    assert singular.severity == "error"
    assert singular.original_file_path == "tests/assert_order_amounts_positive.sql"


def test_unit_tests(passing: DbtManifest) -> None:
    units = [t for t in passing.tests.values() if t.kind == "unit"]
    assert [(u.name, u.attached_node) for u in units] == [
        ("test_customers_sums_orders", f"model.{P}.customers")]
    assert units[0].description == "Lifetime value adds up every order of a customer."
    assert "unit" in {t.kind for t in passing.tests_for("customers")}


def test_every_test_is_counted(passing: DbtManifest) -> None:
    kinds = [t.kind for t in passing.tests.values()]
    assert kinds.count("generic") == 20
    assert kinds.count("singular") == 1
    assert kinds.count("unit") == 1


def test_failing_project(failing: DbtManifest) -> None:
    assert sorted(n.name for n in failing.by_resource_type("model")) == [
        "broken_totals", "healthy_customers", "payment_summary", "payments", "totals_report"]
    assert failing.get("totals_report").depends_on == ("model.failing_shop.broken_totals",)
    sev = {t.test_name: t.severity for t in failing.tests_for("payments")}
    assert sev == {"not_null": "error", "accepted_values": "warn"}
    assert failing.get("healthy_customers").materialized == "table"
    assert failing.sources == {} and failing.groups == {}


def test_lookup_errors_name_the_manifest(passing: DbtManifest) -> None:
    with pytest.raises(KeyError, match=r"'custmers'.*Did you mean 'customers'"):
        passing.get("custmers")


def test_index_tuples_have_every_field(passing: DbtManifest) -> None:
    """The loader builds named tuples with tuple.__new__ (fast, but no arity check)."""
    from orchestrator_dbt import DbtColumn, DbtTest

    nodes = [*passing.nodes.values(), *passing.sources.values()]
    assert all(len(n) == len(DbtNode._fields) for n in nodes)
    assert all(len(c) == len(DbtColumn._fields) for n in nodes for c in n.columns)
    assert all(len(t) == len(DbtTest._fields) for t in passing.tests.values())
    assert all(isinstance(n.depends_on, tuple) and isinstance(n.fqn, tuple) for n in nodes)
