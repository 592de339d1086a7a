"""The shortcuts taken when definitions are built (shared keys and deps, shared empty
mappings, lists shared between a spec and the graph) must not be visible to users."""

from __future__ import annotations

import copy
import pickle

import pytest

from orchestrator import AssetIn, AssetKey, AssetSpec, Definitions, asset
from orchestrator._compute import analyze
from orchestrator.errors import DefinitionError


def test_keys_from_strings_are_shared_and_still_equal_to_built_ones():
    a = AssetKey.from_user_string("wh/orders")
    assert a is AssetKey.from_user_string("wh//orders")
    assert a == AssetKey(["wh", "orders"]) and hash(a) == hash(AssetKey(["wh", "orders"]))
    assert AssetKey.from_user_string("/") == AssetKey(["/"])  # odd input keeps its old meaning
    with pytest.raises(ValueError, match="non-empty strings"):
        AssetKey.from_user_string("")
    with pytest.raises(ValueError, match="non-empty strings"):
        AssetKey(["a", ""])


def test_dep_keys_is_a_copy_and_the_graph_sees_the_declared_parents():
    @asset
    def up() -> int:
        return 1

    @asset(ins={"x": AssetIn("up")})
    def down(x: int) -> int:
        return x + 1

    @asset(deps=["up"])
    def other() -> None:
        return None

    spec = down.specs_by_key[AssetKey("down")]
    keys = spec.dep_keys
    keys.append(AssetKey("nope"))
    assert spec.dep_keys == [AssetKey("up")]
    graph = Definitions(assets=[up, down, other]).asset_graph
    assert graph.parents[AssetKey("down")] == [AssetKey("up")]
    assert sorted(graph.children[AssetKey("up")]) == [AssetKey("down"), AssetKey("other")]
    assert graph.toposort()[0] == AssetKey("up")
    # the two dependents share one AssetDep, which compares like a fresh one
    assert down.specs_by_key[AssetKey("down")].deps == other.specs_by_key[AssetKey("other")].deps


def test_signature_empty_mappings_are_read_only_and_filled_ones_are_dicts():
    def plain(a, b):
        return a

    def rich(context, a, b=2, *, c=3):
        return a

    s1 = analyze(plain, kind="asset", name="p")
    assert s1.input_params == ["a", "b"] and dict(s1.defaults) == {}
    with pytest.raises(TypeError):
        s1.defaults["a"] = 1  # shared: must never be changed in place
    assert isinstance(s1.annotations, dict) and s1.annotations | {"a": int} == {"a": int}
    assert pickle.loads(pickle.dumps(s1)).defaults == {}
    assert copy.deepcopy(s1).resource_params == {}
    s2 = analyze(rich, kind="asset", name="r")
    assert s2.context_param == "context" and s2.input_params == ["a", "b", "c"]
    assert s2.defaults == {"b": 2, "c": 3} and isinstance(s2.defaults, dict)
    assert analyze(plain, kind="asset", name="p").defaults is s1.defaults


def test_context_name_after_the_first_parameter_is_still_an_error():
    def bad(a, context):
        return a

    with pytest.raises(DefinitionError, match="must come first"):
        analyze(bad, kind="asset", name="bad")


def test_validate_still_reports_missing_resources_and_upstreams():
    @asset(required_resource_keys={"db"}, deps=["missing_up"])
    def needs_db() -> None:
        return None

    problems = Definitions(assets=[needs_db, AssetSpec("ext")]).problems()
    assert any("needs resource 'db'" in p for p in problems)
    assert any("'missing_up', which no asset defines" in p for p in problems)


def test_in_and_out_metadata_behave_like_plain_attributes():
    from orchestrator.ops import In, Out

    i = In()
    i.metadata["k"] = 1  # made on first use, then kept
    assert i.metadata == {"k": 1}
    given = {"a": 1}
    o = Out(metadata=given)
    assert o.metadata == given and o.metadata is not given  # copied, as before
    o.metadata = given  # assignment stores the object itself, as before
    assert o.metadata is given
    assert pickle.loads(pickle.dumps(Out(metadata={"q": 2}))).metadata == {"q": 2}
    assert copy.copy(i).metadata == {"k": 1} and copy.deepcopy(In()).metadata == {}


def test_op_tags_behave_like_a_plain_attribute():
    from orchestrator import op

    @op
    def plain() -> int:
        return 1

    @op(tags={"team": "data"})
    def tagged() -> int:
        return 1

    assert plain.tags == {} and tagged.tags == {"team": "data"}
    plain.tags["k"] = "v"
    assert plain.tags == {"k": "v"}
    mine = {"x": "y"}
    tagged.tags = mine
    assert tagged.tags is mine
