"""AssetSelection (Python API and string syntax) and define_asset_job."""

from __future__ import annotations

import pytest

from orchestrator import (
    AssetKey,
    AssetSelection,
    AssetSpec,
    DefinitionError,
    Definitions,
    asset,
    define_asset_job,
    materialize,
)


@asset(group_name="raw", tags={"tier": "bronze"})
def a() -> int:
    return 1


@asset(group_name="raw")
def b(a: int) -> int:
    return a + 1


@asset(group_name="marts", tags={"tier": "gold"})
def c(b: int) -> int:
    return b + 1


@asset(group_name="marts", tags={"tier": "gold", "pii": "yes"})
def d(c: int) -> int:
    return c + 1


@asset(key_prefix=["finance"], group_name="finance")
def ledger() -> int:
    return 10


@asset(key_prefix=["finance"], group_name="finance")
def balance(ledger: int) -> int:
    return ledger * 2


DEFS = Definitions(assets=[a, b, c, d, ledger, balance, AssetSpec("external_src")])
GRAPH = DEFS.asset_graph


def names(sel) -> set[str]:
    if isinstance(sel, str):
        sel = AssetSelection.from_string(sel)
    return {k.to_user_string() for k in sel.resolve(GRAPH)}


def test_all_is_every_materializable_asset():
    assert names(AssetSelection.all()) == {"a", "b", "c", "d", "finance/ledger",
                                           "finance/balance"}
    assert names("*") == names(AssetSelection.all())


def test_assets_by_definition_key_and_string():
    assert names(AssetSelection.assets(a, "c", AssetKey(["finance", "ledger"]))) == {
        "a", "c", "finance/ledger"}


def test_groups_and_key_prefixes():
    assert names(AssetSelection.groups("raw")) == {"a", "b"}
    assert names(AssetSelection.groups("raw", "finance")) == {"a", "b", "finance/ledger",
                                                              "finance/balance"}
    assert names(AssetSelection.key_prefixes("finance")) == {"finance/ledger",
                                                             "finance/balance"}
    assert names(AssetSelection.key_prefixes(["finance", "ledger"])) == {"finance/ledger"}


def test_upstream_and_downstream_with_depth():
    assert names(AssetSelection.assets(d).upstream()) == {"a", "b", "c", "d"}
    assert names(AssetSelection.assets(d).upstream(depth=1)) == {"c", "d"}
    assert names(AssetSelection.assets(d).upstream(depth=2, include_self=False)) == {"b", "c"}
    assert names(AssetSelection.assets(a).downstream()) == {"a", "b", "c", "d"}
    assert names(AssetSelection.assets(a).downstream(depth=1)) == {"a", "b"}
    assert names(AssetSelection.assets(b).downstream(include_self=False)) == {"c", "d"}


def test_union_intersection_difference():
    raw, marts = AssetSelection.groups("raw"), AssetSelection.groups("marts")
    assert names(raw | marts) == {"a", "b", "c", "d"}
    assert names(AssetSelection.assets(d).upstream() & marts) == {"c", "d"}
    assert names(AssetSelection.assets(d).upstream() - raw) == {"c", "d"}
    assert names((raw | marts) - AssetSelection.assets(b).downstream(depth=1)) == {"a", "d"}


def test_tags():
    assert names(AssetSelection.tag("tier", "gold")) == {"c", "d"}
    assert names(AssetSelection.tag("pii")) == {"d"}


@pytest.mark.parametrize("text, expected", [
    ("+c", {"b", "c"}),
    ("++c", {"a", "b", "c"}),
    ("*c", {"a", "b", "c"}),
    ("b*", {"b", "c", "d"}),
    ("b+", {"b", "c"}),
    ("+b+", {"a", "b", "c"}),
    ("group:marts", {"c", "d"}),
    ("tag:tier=gold", {"c", "d"}),
    ("tag:pii", {"d"}),
    ("key:finance/ledger", {"finance/ledger"}),
    ("finance/balance", {"finance/balance"}),
    ("key_prefix:finance", {"finance/ledger", "finance/balance"}),
    ("a, group:finance", {"a", "finance/ledger", "finance/balance"}),
    ("+d,finance/ledger*", {"c", "d", "finance/ledger", "finance/balance"}),
    ("*group:marts", {"a", "b", "c", "d"}),
])
def test_string_syntax(text, expected):
    assert names(text) == expected


def test_unknown_key_in_string_suggests_the_closest():
    with pytest.raises(DefinitionError) as exc:
        names("+contnent")
    assert "'contnent'" in str(exc.value)
    with pytest.raises(DefinitionError, match=r"did you mean 'finance/balance'"):
        names("finance/balanse")


def test_unknown_group_lists_the_groups():
    with pytest.raises(DefinitionError) as exc:
        names("group:nope")
    assert "nope" in str(exc.value) and "marts" in str(exc.value)


def test_unknown_attribute_in_string():
    with pytest.raises(DefinitionError, match=r"unknown selection attribute 'colour:'"):
        names("colour:red")


def test_empty_term():
    with pytest.raises(DefinitionError, match="empty term"):
        names("a,,b")


def test_from_coercible_list_of_mixed_items():
    sel = AssetSelection.from_coercible([a, "group:finance", AssetKey("d")])
    assert names(sel) == {"a", "d", "finance/ledger", "finance/balance"}


# -- jobs ------------------------------------------------------------------------------------------
def test_define_asset_job_runs_only_its_selection(tmp_path):
    from orchestrator import Instance

    job = define_asset_job("marts_job", selection="group:marts", tags={"team": "bi"})
    defs = Definitions(assets=[a, b, c, d], jobs=[job])
    instance = Instance.from_home(tmp_path / "home")
    materialize([a, b], instance=instance)  # c loads b from storage
    result = defs.get_job_def("marts_job").execute_in_process(instance=instance)
    assert result.success
    assert result.materialized_keys == {AssetKey("c"), AssetKey("d")}
    assert result.output_for_node("d") == 4
    assert result.run.tags["team"] == "bi"
    assert result.run.asset_selection == ["c", "d"]
    instance.close()


def test_define_asset_job_with_python_selection():
    job = define_asset_job("up_to_c", selection=AssetSelection.assets(c).upstream())
    defs = Definitions(assets=[a, b, c, d], jobs=[job])
    result = defs.get_job_def("up_to_c").execute_in_process()
    assert result.materialized_keys == {AssetKey("a"), AssetKey("b"), AssetKey("c")}


def test_define_asset_job_unknown_selection_is_reported_by_validate():
    job = define_asset_job("bad", selection="+nope")
    defs = Definitions(assets=[a], jobs=[job])
    with pytest.raises(DefinitionError) as exc:
        defs.validate()
    assert "job 'bad'" in str(exc.value) and "'nope'" in str(exc.value)


def test_define_asset_job_selecting_only_external_assets_is_an_error():
    job = define_asset_job("ext_only", selection="external_src")
    defs = Definitions(assets=[AssetSpec("external_src"), a], jobs=[job])
    with pytest.raises(DefinitionError, match="matches no asset that can be materialized"):
        defs.get_job_def("ext_only")


def test_materialize_with_selection_loads_unselected_upstream(tmp_path):
    from orchestrator import Instance

    instance = Instance.from_home(tmp_path / "home")
    materialize([a, b, c, d], instance=instance)
    result = materialize([a, b, c, d], selection="d", instance=instance)
    assert result.materialized_keys == {AssetKey("d")}
    assert result.output_for_node("d") == 4
    instance.close()
