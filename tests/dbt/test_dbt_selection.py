"""Selection on the manifest (``@dbt_assets(select=..., exclude=...)``), without dbt."""

from __future__ import annotations

import pytest
from orchestrator_dbt import DbtCliResource, dbt_assets, load_manifest, select_unique_ids

from orchestrator.errors import DefinitionError


@pytest.fixture
def manifest(tiny_doc, write_json):
    nodes = tiny_doc["nodes"]
    clean = nodes["model.tiny.clean"]
    nodes["model.tiny.eph"] = dict(
        clean, unique_id="model.tiny.eph", name="eph", path="staging/eph.sql",
        fqn=["tiny", "staging", "eph"], config={"materialized": "ephemeral"},
        depends_on={"nodes": ["model.tiny.clean"]}, tags=[])
    nodes["model.tiny.mart"] = dict(
        clean, unique_id="model.tiny.mart", name="mart", path="marts/mart.sql",
        original_file_path="models/marts/mart.sql", fqn=["tiny", "marts", "mart"],
        config={"materialized": "table", "group": "finance"}, group="finance",
        depends_on={"nodes": ["model.tiny.eph"]}, tags=["daily"])
    return load_manifest(write_json(tiny_doc), use_cache=False)


def _names(manifest, select, exclude=None):
    return sorted(manifest.nodes[u].name for u in select_unique_ids(manifest, select, exclude))


def test_methods(manifest) -> None:
    assert _names(manifest, "fqn:*") == ["clean", "mart", "raw"]  # never the ephemeral one
    assert _names(manifest, "*") == ["clean", "mart", "raw"]
    assert _names(manifest, "tag:nightly") == ["clean"]
    assert _names(manifest, "tag:daily tag:nightly") == ["clean", "mart"]
    assert _names(manifest, "staging") == ["clean"]
    assert _names(manifest, "tiny.marts.*") == ["mart"]
    assert _names(manifest, "path:models/marts") == ["mart"]
    assert _names(manifest, "models/staging/clean.sql") == ["clean"]
    assert _names(manifest, "resource_type:seed") == ["raw"]
    assert _names(manifest, "group:finance") == ["mart"]
    assert _names(manifest, "config.materialized:view") == ["clean"]
    assert _names(manifest, "package:tiny", exclude="resource_type:model") == ["raw"]
    assert _names(manifest, "tag:nightly,config.materialized:table") == []


def test_graph_operators_walk_through_ephemeral_models(manifest) -> None:
    assert _names(manifest, "+mart") == ["clean", "mart", "raw"]
    assert _names(manifest, "1+mart") == ["mart"]  # one step up is the ephemeral model
    assert _names(manifest, "2+mart") == ["clean", "mart"]
    assert _names(manifest, "raw+") == ["clean", "mart", "raw"]
    assert _names(manifest, "+clean+", exclude="mart") == ["clean", "raw"]


@pytest.mark.parametrize(("select", "message"), [
    ("state:modified", "method 'state' is not supported"),
    ("@clean", "'@' operator is not supported"),
    ("  ", "is empty"),
])
def test_unsupported_or_empty_selection(manifest, select, message) -> None:
    with pytest.raises(DefinitionError, match=message):
        select_unique_ids(manifest, select)


def test_dbt_assets_with_ephemeral_models_and_no_match(manifest) -> None:
    @dbt_assets(manifest=manifest)
    def tiny(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    assert {k.to_user_string() for k in tiny.keys} == {"raw", "clean", "mart"}
    with pytest.raises(DefinitionError, match=r"select='tag:none' matches no model"):
        @dbt_assets(manifest=manifest, select="tag:none")
        def nothing(context, dbt: DbtCliResource):
            yield None
