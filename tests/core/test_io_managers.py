"""IO managers: custom ones, @io_manager, contexts, the filesystem and in-memory managers."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from orchestrator import (
    AssetIn,
    AssetKey,
    DynamicOut,
    DynamicOutput,
    EventType,
    FilesystemIOManager,
    InMemoryIOManager,
    Instance,
    IOManager,
    IOManagerError,
    asset,
    io_manager,
    job,
    materialize,
    op,
)
from orchestrator.execution.api import materialize_to_memory


class JsonIOManager(IOManager):
    """Stores each asset as <root>/<key parts>.json and records what it saw."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.seen_out: list[dict] = []
        self.seen_in: list[dict] = []

    def _path(self, key: AssetKey, partition: str | None) -> Path:
        parts = key.path + ([partition] if partition else [])
        return self.root.joinpath(*parts).with_suffix(".json")

    def handle_output(self, context, obj):
        self.seen_out.append({
            "key": context.asset_key.to_user_string(),
            "partition": context.partition_key if context.has_partition_key else None,
            "metadata": dict(context.metadata), "step": context.step_key,
            "name": context.name, "run_id": context.run_id})
        path = self._path(context.asset_key,
                          context.partition_key if context.has_partition_key else None)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj))
        context.add_output_metadata({"json_path": str(path)})

    def load_input(self, context):
        self.seen_in.append({
            "key": context.asset_key.to_user_string(),
            "partition": context.partition_key if context.has_partition_key else None,
            "metadata": dict(context.metadata), "name": context.name,
            "upstream_step": context.upstream_output.step_key})
        return json.loads(self._path(context.asset_key, context.partition_key
                                     if context.has_partition_key else None).read_text())


def test_custom_io_manager_subclass_with_contexts(tmp_path):
    iom = JsonIOManager(str(tmp_path / "json"))

    @asset(key_prefix="lake", metadata={"format": "json"})
    def raw() -> dict:
        return {"n": 2}

    @asset(key_prefix="lake", ins={"raw": AssetIn(metadata={"columns": ["n"]})})
    def doubled(raw: dict) -> dict:
        return {"n": raw["n"] * 2}

    result = materialize([raw, doubled], resources={"io_manager": iom})
    assert result.success
    assert json.loads((tmp_path / "json" / "lake" / "doubled.json").read_text()) == {"n": 4}
    assert [o["key"] for o in iom.seen_out] == ["lake/raw", "lake/doubled"]
    assert iom.seen_out[0]["metadata"] == {"format": "json"}
    assert iom.seen_out[0]["run_id"] == result.run_id
    assert iom.seen_out[0]["step"] == "lake__raw" and iom.seen_out[0]["name"] == "result"
    assert iom.seen_in == [{"key": "lake/raw", "partition": None,
                            "metadata": {"columns": ["n"]}, "name": "raw",
                            "upstream_step": iom.seen_out[0]["step"]}]
    mat = next(e for e in result.get_asset_materialization_events()
               if e.asset_key == AssetKey(["lake", "doubled"]))
    assert mat.metadata["json_path"].endswith("doubled.json")


def test_contexts_carry_the_partition_key(tmp_path):
    iom = JsonIOManager(str(tmp_path / "json"))

    @asset
    def daily(context) -> str:
        return f"data for {context.partition_key}"

    @asset
    def daily_len(daily: str) -> int:
        return len(daily)

    result = materialize([daily, daily_len], resources={"io_manager": iom},
                         partition_key="2024-01-02")
    assert result.success
    assert (tmp_path / "json" / "daily" / "2024-01-02.json").is_file()
    assert iom.seen_out[0]["partition"] == "2024-01-02"
    assert iom.seen_in[0]["partition"] == "2024-01-02"
    mats = result.get_asset_materialization_events()
    assert {e.partition for e in mats} == {"2024-01-02"}


def test_io_manager_decorator_with_init_context_and_config(tmp_path):
    made = []

    @io_manager(config_schema={"root": str})
    def json_io(init_context):
        made.append(init_context.resource_config)
        return JsonIOManager(init_context.resource_config["root"])

    @asset(io_manager_key="json")
    def config_stored() -> list:
        return [1, 2, 3]

    root = str(tmp_path / "cfg")
    result = materialize([config_stored], resources={"json": json_io},
                         run_config={"resources": {"json": {"config": {"root": root}}}})
    assert result.success
    assert made == [{"root": root}]
    assert json.loads((tmp_path / "cfg" / "config_stored.json").read_text()) == [1, 2, 3]


def test_io_manager_missing_config_names_the_path():
    from orchestrator import ConfigError

    @io_manager(config_schema={"root": str})
    def needs_root(init_context):
        return JsonIOManager(init_context.resource_config["root"])

    @asset(io_manager_key="needs_root")
    def x() -> int:
        return 1

    with pytest.raises(ConfigError, match=r"resources\.needs_root\.config"):
        materialize([x], resources={"needs_root": needs_root})


def test_failing_io_manager_fails_the_step_with_its_name():
    class Broken(IOManager):
        def handle_output(self, context, obj):
            raise OSError("disk full")

        def load_input(self, context):  # pragma: no cover
            raise AssertionError

    @asset(io_manager_key="broken")
    def unlucky() -> int:
        return 1

    result = materialize([unlucky], resources={"broken": Broken()}, raise_on_error=False)
    err = result.get_step_failure_events()[0].data["error"]
    assert err["type"] == "IOManagerError"
    assert "IO manager 'broken' failed: OSError: disk full" in err["message"]
    assert result.materialized_keys == set()


# -- filesystem ---------------------------------------------------------------------------------
def test_filesystem_layout_for_assets_partitions_and_op_outputs(tmp_path):
    instance = Instance.from_home(tmp_path / "home")
    base = instance.storage_dir

    @asset(key=["a", "b"])
    def nested() -> int:
        return 1

    @asset(key=["a", "parts"])
    def partitioned(context) -> str:
        return context.partition_key

    materialize([nested], instance=instance)
    materialize([partitioned], instance=instance, partition_key="p1")
    materialize([partitioned], instance=instance, partition_key="p2")
    assert pickle.loads((base / "a" / "b").read_bytes()) == 1
    assert pickle.loads((base / "a" / "parts" / "p1").read_bytes()) == "p1"
    assert pickle.loads((base / "a" / "parts" / "p2").read_bytes()) == "p2"

    @op(out=DynamicOut())
    def fan():
        yield DynamicOutput("x", mapping_key="k1")

    @op
    def plain() -> str:
        return "v"

    @job
    def j():
        fan()
        plain()

    r = j.execute_in_process(instance=instance)
    assert pickle.loads((base / r.run_id / "plain" / "result").read_bytes()) == "v"
    assert pickle.loads((base / r.run_id / "fan" / "result" / "k1").read_bytes()) == "x"
    instance.close()


def test_filesystem_explicit_base_dir_and_no_temp_files_left(tmp_path):
    fs = FilesystemIOManager(tmp_path / "data")

    @asset
    def one() -> int:
        return 1

    @asset
    def two(one: int) -> int:
        return one + 1

    result = materialize([one, two], resources={"io_manager": fs})
    assert result.success
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["one", "two"]


def test_filesystem_write_is_atomic(tmp_path, monkeypatch):
    fs = FilesystemIOManager(tmp_path / "data")
    state = {"value": "old"}

    @asset
    def atomic() -> str:
        return state["value"]

    materialize([atomic], resources={"io_manager": fs})
    path = tmp_path / "data" / "atomic"
    assert pickle.loads(path.read_bytes()) == "old"

    # crash between writing and renaming: the stored value is still the complete old one
    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    state["value"] = "new" * 1000
    result = materialize([atomic], resources={"io_manager": fs}, raise_on_error=False)
    monkeypatch.undo()
    assert not result.success
    assert pickle.loads(path.read_bytes()) == "old"
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["atomic"]


def test_filesystem_unpicklable_value_is_a_clear_error(tmp_path):
    @asset
    def unpicklable():
        return lambda: 1

    result = materialize([unpicklable], resources={"io_manager": FilesystemIOManager(
        tmp_path)}, raise_on_error=False)
    err = result.get_step_failure_events()[0].data["error"]
    assert err["type"] == "IOManagerError"
    assert "cannot pickle" in err["message"] and "io_manager_key" in err["message"]


def test_filesystem_missing_upstream_value_is_a_clear_error(tmp_path):
    @asset
    def upstream_never_run() -> int:
        return 1

    @asset
    def reader(upstream_never_run: int) -> int:
        return upstream_never_run

    result = materialize([upstream_never_run, reader], selection="reader",
                         resources={"io_manager": FilesystemIOManager(tmp_path)},
                         raise_on_error=False)
    err = result.get_step_failure_events()[0].data["error"]["message"]
    assert "asset 'upstream_never_run'" in err and "Materialize it first" in err


# -- in memory -------------------------------------------------------------------------------------
def test_in_memory_io_manager():
    mem = InMemoryIOManager()

    @asset
    def m1() -> int:
        return 5

    @asset
    def m2(m1: int) -> int:
        return m1 * 2

    result = materialize([m1, m2], resources={"io_manager": mem})
    assert result.success
    assert mem.values == {("asset", "m1"): 5, ("asset", "m2"): 10}
    loaded = [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
    assert loaded and loaded[0].data["io_manager_key"] == "io_manager"


def test_in_memory_missing_value_is_a_clear_error():
    with pytest.raises(IOManagerError, match="nothing stored in memory"):
        from orchestrator import InputContext, OutputContext

        up = OutputContext(step_key="s", name="result", run_id="r", asset_key=AssetKey("gone"))
        InMemoryIOManager().load_input(InputContext(name="gone", step_key="t", run_id="r",
                                                    upstream_output=up,
                                                    asset_key=AssetKey("gone")))


def test_materialize_to_memory_writes_no_files(tmp_path):
    instance = Instance.from_home(tmp_path / "home")

    @asset
    def mem_only() -> int:
        return 3

    result = materialize_to_memory([mem_only], instance=instance)
    assert result.output_for_node("mem_only") == 3
    assert not (instance.storage_dir / "mem_only").exists()
    instance.close()
