"""Manifest shapes other than the test projects': older schemas, missing optional fields."""

from __future__ import annotations

from orchestrator_dbt import load_manifest


def test_older_manifest_without_attached_node(tiny_doc, write_json) -> None:
    doc = tiny_doc
    doc["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v8.json"
    doc["metadata"]["dbt_version"] = "1.4.9"
    for key in ("groups", "unit_tests"):
        doc.pop(key)
    nodes = doc["nodes"]
    nodes["test.tiny.not_null_clean_id.1"].pop("attached_node")
    nodes["test.tiny.relationships_clean_id.2"] = {
        "unique_id": "test.tiny.relationships_clean_id.2", "name": "relationships_clean_id",
        "resource_type": "test", "package_name": "tiny", "column_name": "id", "config": {},
        "test_metadata": {"name": "relationships", "kwargs": {
            "to": "ref('raw')", "field": "id", "column_name": "id",
            "model": "{{ get_where_subquery(ref('tiny', 'clean')) }}"}},
        "depends_on": {"nodes": ["seed.tiny.raw", "model.tiny.clean"]},
    }
    manifest = load_manifest(write_json(doc), use_cache=False)
    assert manifest.schema_version == 8 and manifest.groups == {}
    tests = {t.test_name: t for t in manifest.tests.values()}
    assert tests["not_null"].attached_node == "model.tiny.clean"  # its only node
    assert tests["relationships"].attached_node == "model.tiny.clean"  # read from ref()
    assert tests["relationships"].severity == "error"  # no severity in config: dbt's default


def test_sources_without_relation_name_and_meta_in_source_meta(tiny_doc, write_json) -> None:
    tiny_doc["sources"] = {"source.tiny.raw_src.events": {
        "unique_id": "source.tiny.raw_src.events", "name": "events", "source_name": "raw_src",
        "resource_type": "source", "package_name": "tiny", "database": "db", "schema": "raw",
        "identifier": "events_v1", "fqn": ["tiny", "raw_src", "events"],
        "source_meta": {"owner": ["a@example.com", "b@example.com"]}, "columns": {},
    }}
    manifest = load_manifest(write_json(tiny_doc), use_cache=False)
    (src,) = manifest.sources.values()
    assert src.relation_name == "db.raw.events_v1"
    assert src.owners == ("a@example.com", "b@example.com")
    assert src.description == ""
