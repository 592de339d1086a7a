"""@asset, @multi_asset and external assets, run for real (in-process, real files)."""

from __future__ import annotations

import pickle

import pytest

from orchestrator import (
    AssetIn,
    AssetKey,
    AssetOut,
    AssetSpec,
    Config,
    ConfigurableResource,
    DefinitionError,
    Definitions,
    EventType,
    InMemoryIOManager,
    Instance,
    IOManager,
    MaterializeResult,
    Output,
    asset,
    materialize,
    multi_asset,
)


@pytest.fixture
def instance(tmp_path):
    inst = Instance.from_home(tmp_path / "home")
    yield inst
    inst.close()


def mat_events(result, key: str):
    k = AssetKey.from_user_string(key)
    return [e for e in result.get_asset_materialization_events() if e.asset_key == k]


# -- dependencies ---------------------------------------------------------------------------
def test_dependency_inferred_from_parameter_name():
    @asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    @asset
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    result = materialize([total, numbers])  # order given does not matter
    assert result.success
    assert result.output_for_node("total") == 6
    assert total.keys_by_input_name == {"numbers": AssetKey("numbers")}
    starts = [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]
    assert starts == ["numbers", "total"]


def test_ins_maps_a_parameter_to_another_key():
    @asset(key=["raw", "orders"])
    def raw_orders() -> list[int]:
        return [5, 6]

    @asset(ins={"orders": AssetIn(key="raw/orders")})
    def order_count(orders: list[int]) -> int:
        return len(orders)

    result = materialize([raw_orders, order_count])
    assert result.output_for_node("order_count") == 2
    assert order_count.keys_by_input_name["orders"] == AssetKey(["raw", "orders"])


def test_ins_with_key_prefix():
    @asset(key_prefix="staging")
    def users() -> list[str]:
        return ["ann"]

    @asset(ins={"u": AssetIn(key="users", key_prefix="staging")})
    def user_count(u):
        return len(u)

    assert materialize([users, user_count]).output_for_node("user_count") == 1


def test_deps_orders_without_loading():
    calls = []

    @asset
    def upstream_table() -> MaterializeResult:
        calls.append("upstream")
        return MaterializeResult(metadata={"rows": 3})

    @asset(deps=[upstream_table, "other/thing"])
    def report() -> int:
        calls.append("report")
        return 1

    @asset(key=["other", "thing"])
    def thing() -> None:
        calls.append("thing")

    result = materialize([report, upstream_table, thing])
    assert result.success
    assert calls.index("upstream") < calls.index("report")
    assert calls.index("thing") < calls.index("report")
    # nothing was loaded for report: deps are ordering and lineage only
    loaded = [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
    assert loaded == []
    assert set(report.spec(AssetKey("report")).dep_keys) == {AssetKey("upstream_table"),
                                                             AssetKey(["other", "thing"])}


def test_key_prefix_and_inferred_upstream_key_with_prefix():
    @asset(key_prefix=["warehouse", "sales"])
    def raw() -> list[int]:
        return [1, 2]

    @asset(key_prefix=["warehouse", "sales"])
    def clean(raw: list[int]) -> list[int]:
        return [x * 10 for x in raw]

    assert clean.key == AssetKey(["warehouse", "sales", "clean"])
    assert clean.keys_by_input_name["raw"] == AssetKey(["warehouse", "sales", "raw"])
    result = materialize([raw, clean])
    assert result.asset_value("warehouse/sales/clean") == [10, 20]


def test_explicit_key():
    @asset(key=AssetKey(["a", "b", "c"]))
    def whatever() -> int:
        return 1

    assert whatever.key.path == ["a", "b", "c"]
    assert materialize([whatever]).materialized_keys == {AssetKey(["a", "b", "c"])}


def test_group_metadata_description_and_code_version():
    @asset(group_name="finance", metadata={"owner": "ann", "rows": 3}, code_version="7")
    def ledger() -> int:
        """The general ledger."""
        return 1

    @asset(description="explicit wins")
    def other() -> int:
        """docstring"""
        return 2

    spec = ledger.spec(ledger.key)
    assert ledger.group_name == "finance"
    assert spec.metadata == {"owner": "ann", "rows": 3}
    assert spec.description == "The general ledger."
    assert other.descriptions_by_key[other.key] == "explicit wins"
    assert other.group_name == "default"
    assert ledger.code_versions_by_key == {ledger.key: "7"}
    result = materialize([ledger, other])
    (ev,) = mat_events(result, "ledger")
    assert ev.data["code_version"] == "7"
    (ev2,) = mat_events(result, "other")
    assert "code_version" not in ev2.data


def test_code_version_in_asset_history(instance):
    @asset(code_version="v2")
    def versioned() -> int:
        return 1

    materialize([versioned], instance=instance)
    latest = instance.get_latest_materialization("versioned")
    assert latest is not None and latest.data["code_version"] == "v2"


class _DictIO(IOManager):
    def __init__(self):
        self.stored = {}

    def handle_output(self, context, obj):
        self.stored[tuple(context.asset_key.path)] = obj

    def load_input(self, context):
        return self.stored[tuple(context.asset_key.path)]


def test_io_manager_key_per_asset(instance):
    special = _DictIO()

    @asset(io_manager_key="special")
    def kept_in_dict() -> dict:
        return {"x": 1}

    @asset
    def on_disk(kept_in_dict: dict) -> int:
        return kept_in_dict["x"] + 1

    result = materialize([kept_in_dict, on_disk], resources={"special": special},
                         instance=instance)
    assert result.success
    assert special.stored == {("kept_in_dict",): {"x": 1}}
    assert not (instance.storage_dir / "kept_in_dict").exists()
    assert pickle.loads((instance.storage_dir / "on_disk").read_bytes()) == 2
    handled = {e.data["output_name"]: e.data["io_manager_key"] for e in result.all_events
               if e.event_type is EventType.HANDLED_OUTPUT and e.step_key == "kept_in_dict"}
    assert handled == {"result": "special"}


class Counter(ConfigurableResource):
    start: int = 0

    def next(self) -> int:
        return self.start + 1


def test_resource_parameter():
    @asset
    def counted(counter: Counter) -> int:
        return counter.next()

    assert counted.op.required_resource_keys == {"counter"}
    result = materialize([counted], resources={"counter": Counter(start=41)})
    assert result.output_for_node("counted") == 42


def test_resource_from_context():
    @asset(required_resource_keys={"greeting"})
    def greeted(context) -> str:
        return context.resources.greeting + "!"

    assert materialize([greeted], resources={"greeting": "hi"}).output_for_node("greeted") == "hi!"


class RowsConfig(Config):
    limit: int = 2
    name: str = "x"


def test_config_class_parameter():
    @asset
    def rows(config: RowsConfig) -> list[str]:
        return [config.name] * config.limit

    assert materialize([rows]).output_for_node("rows") == ["x", "x"]
    result = materialize([rows], run_config={"ops": {"rows": {"config": {"limit": 3,
                                                                          "name": "y"}}}})
    assert result.output_for_node("rows") == ["y", "y", "y"]


def test_materialize_result_metadata_recorded():
    @asset
    def table() -> MaterializeResult:
        return MaterializeResult(metadata={"rows": 12, "path": "/tmp/t"})

    result = materialize([table])
    (ev,) = mat_events(result, "table")
    assert ev.metadata["rows"] == 12
    assert ev.metadata["path"] == "/tmp/t"
    # no value is stored for a MaterializeResult
    assert not [e for e in result.all_events if e.event_type is EventType.HANDLED_OUTPUT]


def test_returned_value_is_stored_with_path_metadata(instance):
    @asset
    def value() -> list[int]:
        return [1]

    result = materialize([value], instance=instance)
    (ev,) = mat_events(result, "value")
    assert ev.metadata["path"] == str(instance.storage_dir / "value")


def test_multi_part_asset_key_stored_under_its_path(instance):
    @asset(key=["lake", "raw", "events"])
    def events() -> list[int]:
        return [1, 2]

    @asset(ins={"events": AssetIn(key=AssetKey(["lake", "raw", "events"]))})
    def n_events(events) -> int:
        return len(events)

    result = materialize([events, n_events], instance=instance)
    assert result.success
    assert (instance.storage_dir / "lake" / "raw" / "events").is_file()
    assert AssetKey(["lake", "raw", "events"]).path == ["lake", "raw", "events"]
    assert AssetKey.from_user_string("lake/raw/events") == events.key
    assert result.output_for_node("n_events") == 2


# -- external assets ---------------------------------------------------------------------------
def test_external_asset_loaded_through_io_manager(instance):
    raw_events = AssetSpec("raw_events", description="Written by the collector",
                           group_name="ingest")
    path = instance.storage_dir / "raw_events"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps([3, 4, 5]))

    @asset
    def event_count(raw_events: list[int]) -> int:
        return len(raw_events)

    result = materialize([raw_events, event_count], instance=instance)
    assert result.success
    assert result.output_for_node("event_count") == 3
    assert result.materialized_keys == {AssetKey("event_count")}
    loaded = [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
    assert loaded[0].data["asset_key"] == "raw_events"


def test_external_asset_with_its_own_io_manager():
    mem = InMemoryIOManager()
    mem.values[("asset", "prices")] = {"a": 1.5}
    prices = AssetSpec("prices", io_manager_key="prices_io")

    @asset
    def price_of_a(prices: dict) -> float:
        return prices["a"]

    result = materialize([prices, price_of_a], resources={"prices_io": mem})
    assert result.output_for_node("price_of_a") == 1.5


def test_external_asset_not_stored_gives_clear_error(instance):
    @asset
    def needs_missing(ghost: int) -> int:
        return ghost

    result = materialize([AssetSpec("ghost"), needs_missing], instance=instance,
                         raise_on_error=False)
    assert not result.success
    (fail,) = result.get_step_failure_events()
    assert fail.data["error"]["type"] == "IOManagerError"
    assert "asset 'ghost'" in fail.data["error"]["message"]


def test_external_asset_cannot_be_called():
    ext = Definitions(assets=[AssetSpec("ext")]).get_assets_def("ext")
    with pytest.raises(DefinitionError, match="external asset"):
        ext()


# -- multi assets ------------------------------------------------------------------------------
def test_multi_asset_with_specs():
    @multi_asset(specs=[AssetSpec("left"), AssetSpec("right", group_name="g")])
    def both():
        yield MaterializeResult(asset_key="left", metadata={"n": 1})
        yield MaterializeResult(asset_key="right", metadata={"n": 2})

    result = materialize([both])
    assert result.materialized_keys == {AssetKey("left"), AssetKey("right")}
    assert mat_events(result, "right")[0].metadata == {"n": 2}
    assert both.group_names_by_key == {AssetKey("left"): "default", AssetKey("right"): "g"}


def test_multi_asset_with_outs_returns_a_tuple():
    @multi_asset(outs={"evens": AssetOut(), "odds": AssetOut(key_prefix="p")})
    def split(numbers: list[int]):
        return [n for n in numbers if n % 2 == 0], [n for n in numbers if n % 2]

    @asset
    def numbers() -> list[int]:
        return [1, 2, 3, 4]

    @asset(ins={"odds": AssetIn(key="p/odds")})
    def odd_sum(odds):
        return sum(odds)

    result = materialize([numbers, split, odd_sum])
    assert result.asset_value("evens") == [2, 4]
    assert result.asset_value("p/odds") == [1, 3]
    assert result.output_for_node("odd_sum") == 4


def test_multi_asset_yielding_outputs():
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def ab():
        yield Output(1, "a")
        yield Output(2, "b", metadata={"m": "yes"})

    result = materialize([ab])
    assert result.asset_value("a") == 1
    assert mat_events(result, "b")[0].metadata["m"] == "yes"


def test_subsettable_multi_asset_runs_only_selected():
    seen = []

    @multi_asset(specs=[AssetSpec("s1"), AssetSpec("s2"), AssetSpec("s3")], can_subset=True)
    def three(context):
        seen.append(sorted(k.to_user_string() for k in context.selected_asset_keys))
        for key in sorted(context.selected_asset_keys, key=lambda k: k.path):
            yield MaterializeResult(asset_key=key)

    result = materialize([three], selection=["s1", "s3"])
    assert result.success
    assert seen == [["s1", "s3"]]
    assert result.materialized_keys == {AssetKey("s1"), AssetKey("s3")}


def test_subsettable_multi_asset_reporting_unselected_key_fails():
    @multi_asset(specs=[AssetSpec("u1"), AssetSpec("u2")], can_subset=True)
    def greedy():
        yield MaterializeResult(asset_key="u1")
        yield MaterializeResult(asset_key="u2")

    result = materialize([greedy], selection="u1", raise_on_error=False)
    assert not result.success
    msg = result.get_step_failure_events()[0].data["error"]["message"]
    assert "'u2'" in msg and "not asked" in msg


def test_non_subsettable_multi_asset_partially_selected_is_an_error():
    @multi_asset(specs=[AssetSpec("n1"), AssetSpec("n2")])
    def pair():
        yield MaterializeResult(asset_key="n1")
        yield MaterializeResult(asset_key="n2")

    with pytest.raises(DefinitionError) as exc:
        materialize([pair], selection="n1")
    msg = str(exc.value)
    assert "pair" in msg and "can_subset" in msg and "n2" in msg


def test_multi_asset_missing_output_fails_step():
    @multi_asset(specs=[AssetSpec("m1"), AssetSpec("m2")])
    def forgetful():
        yield MaterializeResult(asset_key="m1")

    result = materialize([forgetful], raise_on_error=False)
    assert not result.success
    msg = result.get_step_failure_events()[0].data["error"]["message"]
    assert "asset 'm2'" in msg and "forgetful" in msg
    # m1 was reported before the failure and stays recorded
    assert result.materialized_keys == {AssetKey("m1")}


def test_multi_asset_specs_with_deps_on_an_upstream_asset():
    @asset
    def source() -> int:
        return 1

    @multi_asset(specs=[AssetSpec("d1", deps=[source]), AssetSpec("d2", deps=["d1"])],
                 can_subset=True)
    def chain(context):
        for k in sorted(context.selected_asset_keys, key=lambda k: k.path):
            yield MaterializeResult(asset_key=k)

    result = materialize([source, chain])
    assert result.success
    starts = [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]
    assert starts == ["source", "chain"]


def test_config_and_resource_classes_defined_inside_a_function():
    # this module uses `from __future__ import annotations`: annotations are strings that
    # name local classes; they are resolved where the decorator runs
    class LocalConfig(Config):
        n: int = 2

    class LocalResource(ConfigurableResource):
        base: int = 10

    @asset
    def local(config: LocalConfig, res: LocalResource) -> int:
        return config.n + res.base

    assert local.op.signature.config_param == "config"
    assert local.op.required_resource_keys == {"res"}
    result = materialize([local], resources={"res": LocalResource(base=5)},
                         run_config={"ops": {"local": {"config": {"n": 1}}}})
    assert result.output_for_node("local") == 6


def test_upstream_selection_through_an_external_asset_loads_it(instance):
    path = instance.storage_dir / "upstream_ext"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(41))

    @asset
    def below_ext(upstream_ext: int) -> int:
        return upstream_ext + 1

    result = materialize([AssetSpec("upstream_ext"), below_ext], selection="*below_ext",
                         instance=instance)
    assert result.materialized_keys == {AssetKey("below_ext")}
    assert result.output_for_node("below_ext") == 42
