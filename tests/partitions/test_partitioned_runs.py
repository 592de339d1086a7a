from __future__ import annotations

import json
import pickle
from datetime import timezone

import pytest
from click.testing import CliRunner

from orchestrator import (
    AssetIn,
    DailyPartitionsDefinition,
    DefinitionError,
    Instance,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
    materialize,
)
from orchestrator.cli import cli
from orchestrator.events import EventType

daily = DailyPartitionsDefinition(start_date="2024-01-01")


@pytest.fixture
def instance(tmp_path):
    with Instance.from_home(tmp_path / "home") as inst:
        yield inst


def mats(result):
    return [e for e in result.all_events if e.event_type is EventType.ASSET_MATERIALIZATION]


def test_one_partition_context_io_and_status(instance):
    seen = {}

    @asset(partitions_def=daily)
    def events(context):
        seen["key"] = context.partition_key
        seen["window"] = context.partition_time_window
        seen["range"] = context.partition_key_range
        seen["out"] = context.asset_partition_key_for_output()
        return f"rows of {context.partition_key}"

    res = materialize([events], instance=instance, partition_key="2024-01-02",
                      log_level="error")
    assert res.success
    assert seen["key"] == seen["out"] == "2024-01-02"
    assert seen["range"] == PartitionKeyRange("2024-01-02", "2024-01-02")
    assert seen["window"].start.isoformat() == "2024-01-02T00:00:00+00:00"
    assert seen["window"].end.tzinfo is not None and seen["window"].end.day == 3
    # the built-in IO manager stores one object per partition
    path = instance.storage_dir / "events" / "2024-01-02"
    assert pickle.loads(path.read_bytes()) == "rows of 2024-01-02"
    assert instance.run_storage.get_partition_status(events.key) == {
        "2024-01-02": "MATERIALIZED"}
    assert res.run.partition == "2024-01-02"


def test_bad_partition_key_is_refused_before_any_run(instance):
    @asset(partitions_def=daily)
    def events():
        return 1

    with pytest.raises(DefinitionError, match="'2024-13-01' is not a partition"):
        materialize([events], instance=instance, partition_key="2024-13-01")
    assert instance.run_storage.get_runs() == []
    with pytest.raises(DefinitionError, match="not both"):
        materialize([events], instance=instance, partition_key="2024-01-01",
                    partition_key_range=("2024-01-01", "2024-01-02"))


def test_range_run_materializes_each_partition(instance):
    seen = {}

    @asset(partitions_def=daily)
    def events(context):
        seen["keys"] = context.partition_keys
        seen["window"] = context.partition_time_window
        seen["has_key"] = context.has_partition_key
        return {k: k.replace("-", "") for k in context.partition_keys}

    res = materialize([events], instance=instance,
                      partition_key_range=PartitionKeyRange("2024-01-01", "2024-01-03"),
                      log_level="error")
    assert res.success and res.run.partition == "2024-01-01...2024-01-03"
    assert seen["keys"] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert seen["has_key"] is False
    assert (seen["window"].start.day, seen["window"].end.day) == (1, 4)
    assert sorted(e.partition for e in mats(res)) == seen["keys"]
    assert pickle.loads((instance.storage_dir / "events" / "2024-01-03").read_bytes()) == \
        "20240103"
    assert set(instance.run_storage.get_partition_status(events.key).values()) == {
        "MATERIALIZED"}


def test_range_run_with_a_plain_value_fails_with_a_hint(instance):
    @asset(partitions_def=daily)
    def events():
        return [1, 2, 3]

    res = materialize([events], instance=instance, raise_on_error=False, log_level="critical",
                      partition_key_range=("2024-01-01", "2024-01-02"))
    assert not res.success
    failure = res.get_step_failure_events()[0]
    assert "return a dict of partition key -> value" in failure.data["error"]["message"]
    # the failure marks every partition of the range failed
    assert instance.run_storage.get_partition_status(events.key) == {
        "2024-01-01": "FAILED", "2024-01-02": "FAILED"}


def test_time_window_mapping_loads_several_upstream_partitions(instance):
    @asset(partitions_def=daily)
    def raw(context):
        return int(context.partition_key[-2:])

    @asset(partitions_def=daily,
           ins={"raw": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-2))})
    def rolling(context, raw):
        return raw

    @asset
    def total(raw):  # unpartitioned downstream: every upstream partition
        return sum(raw.values())

    for day in ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"):
        assert materialize([raw], instance=instance, partition_key=day,
                           log_level="error").success
    res = materialize([raw, rolling], selection=[rolling], instance=instance,
                      partition_key="2024-01-04", log_level="error")
    assert res.output_for_node("rolling") == {"2024-01-02": 2, "2024-01-03": 3,
                                              "2024-01-04": 4}
    all_days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")

    @asset(partitions_def=all_days, key="raw")
    def raw4():
        return 0

    res = materialize([raw4, total], selection=[total], instance=instance, log_level="error")
    assert res.output_for_node("total") == 1 + 2 + 3 + 4


def test_static_mapping_and_missing_upstream_message(instance):
    regions = StaticPartitionsDefinition(["eu-west", "eu-north", "us-east"])
    zones = StaticPartitionsDefinition(["eu", "us"])

    @asset(partitions_def=regions)
    def sales(context):
        return {"eu-west": 10, "eu-north": 5, "us-east": 7}[context.partition_key]

    @asset(partitions_def=zones, ins={"sales": AssetIn(partition_mapping=StaticPartitionMapping(
        {"eu-west": "eu", "eu-north": "eu", "us-east": "us"}))})
    def zone_sales(sales):
        return sum(sales.values()) if isinstance(sales, dict) else sales

    for r in ("eu-west", "eu-north"):
        materialize([sales], instance=instance, partition_key=r, log_level="error")
    res = materialize([sales, zone_sales], selection=[zone_sales], instance=instance,
                      partition_key="eu", log_level="error")
    assert res.output_for_node("zone_sales") == 15
    res = materialize([sales, zone_sales], selection=[zone_sales], instance=instance,
                      partition_key="us", log_level="critical", raise_on_error=False)
    assert not res.success
    assert "no stored value" in res.get_step_failure_events()[0].data["error"]["message"]


def test_multi_partition_run(instance):
    multi = MultiPartitionsDefinition({"date": daily,
                                       "color": StaticPartitionsDefinition(["red", "blue"])})
    seen = {}

    @asset(partitions_def=multi)
    def paint(context):
        seen["dims"] = context.partition_key.keys_by_dimension
        seen["window"] = context.partition_time_window
        return 1

    assert materialize([paint], instance=instance, partition_key="blue|2024-01-05",
                       log_level="error").success
    assert seen["dims"] == {"color": "blue", "date": "2024-01-05"}
    assert seen["window"].start.day == 5
    assert instance.run_storage.get_partition_status(paint.key) == {
        "blue|2024-01-05": "MATERIALIZED"}


def test_cli_view_of_an_assets_partitions(tmp_path, monkeypatch):
    defs = tmp_path / "defs.py"
    defs.write_text(
        "from orchestrator import *\n"
        "days = DailyPartitionsDefinition(start_date='2024-01-01', end_date='2024-01-05')\n"
        "@asset(partitions_def=days)\n"
        "def events(context):\n"
        "    if context.partition_key == '2024-01-03':\n"
        "        raise ValueError('bad day')\n"
        "    return 1\n"
        "defs = Definitions(assets=[events])\n")
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    for day in ("2024-01-01", "2024-01-03"):
        runner.invoke(cli, ["materialize", "--select", "events", "--partition", day,
                            "-f", str(defs)])
    out = runner.invoke(cli, ["partitions", "events", "-f", str(defs), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["partitions"] == [
        {"partition": "2024-01-01", "status": "MATERIALIZED"},
        {"partition": "2024-01-02", "status": "MISSING"},
        {"partition": "2024-01-03", "status": "FAILED"},
        {"partition": "2024-01-04", "status": "MISSING"}]
    assert data["counts"] == {"MATERIALIZED": 1, "MISSING": 2, "FAILED": 1}
    out = runner.invoke(cli, ["partitions", "events", "-f", str(defs), "--status", "failed"])
    assert out.exit_code == 0 and "2024-01-03" in out.output and "2024-01-02" not in out.output
    out = runner.invoke(cli, ["partitions", "nope", "-f", str(defs)])
    assert out.exit_code != 0


_ = timezone


def test_partitions_show_materializing_during_the_run_and_failed_after(instance):
    seen = {}

    @asset(partitions_def=daily)
    def slow(context):
        seen.update(instance.run_storage.get_partition_status(context.assets_def.key))
        if context.partition_key == "2024-01-02":
            raise RuntimeError("no data")
        return 1

    materialize([slow], instance=instance, partition_key="2024-01-01", log_level="error")
    assert seen == {"2024-01-01": "MATERIALIZING"}
    materialize([slow], instance=instance, partition_key="2024-01-02", log_level="critical",
                raise_on_error=False)
    assert instance.run_storage.get_partition_status(slow.key) == {
        "2024-01-01": "MATERIALIZED", "2024-01-02": "FAILED"}


def test_external_process_gets_the_range_and_its_time_window(instance, tmp_path):
    import os
    import sys
    from pathlib import Path

    from orchestrator.pipes import PipesSubprocessClient

    repo = Path(__file__).resolve().parents[2]
    script = tmp_path / "child.py"
    script.write_text(
        "from pipes_client import open_pipes\n"
        "with open_pipes() as pipes:\n"
        "    pipes.report_asset_materialization(metadata={\n"
        "        'range': [pipes.partition_key_range['start'], pipes.partition_key_range['end']],\n"
        "        'window': [pipes.partition_time_window['start'],\n"
        "                   pipes.partition_time_window['end']]})\n")
    client = PipesSubprocessClient(env={"PYTHONPATH": str(repo) + os.pathsep +
                                        os.environ.get("PYTHONPATH", "")})

    @asset(partitions_def=daily)
    def external(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[sys.executable, str(script)],
                                           context=context).get_materialize_result()

    res = materialize([external], instance=instance, resources={
        "pipes_subprocess_client": client}, log_level="error",
        partition_key_range=("2024-02-01", "2024-02-03"))
    assert res.success
    events = mats(res)
    assert sorted(e.partition for e in events) == ["2024-02-01", "2024-02-02", "2024-02-03"]
    md = events[0].metadata
    assert md["range"] == ["2024-02-01", "2024-02-03"]
    assert md["window"] == ["2024-02-01T00:00:00+00:00", "2024-02-04T00:00:00+00:00"]


def test_multi_to_single_dimension_mapping(instance):
    from orchestrator import MultiToSingleDimensionPartitionMapping

    colors = StaticPartitionsDefinition(["red", "blue"])
    two_days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-03")
    multi = MultiPartitionsDefinition({"date": two_days, "color": colors})

    @asset(partitions_def=multi)
    def paint(context):
        return context.partition_key.keys_by_dimension["date"]

    @asset(partitions_def=colors)  # default mapping: by the matching dimension
    def per_color(paint):
        return sorted(paint.items())

    mapping = MultiToSingleDimensionPartitionMapping()
    assert mapping.get_upstream_partition_keys(["2024-01-01"], two_days, multi) == [
        "red|2024-01-01", "blue|2024-01-01"]  # keys are color|date: dimension-name order
    assert mapping.get_upstream_partition_keys(["red|2024-01-02"], multi, colors) == ["red"]
    for k in ("red|2024-01-01", "red|2024-01-02", "blue|2024-01-01"):
        materialize([paint], instance=instance, partition_key=k, log_level="error")
    res = materialize([paint, per_color], selection=[per_color], instance=instance,
                      partition_key="red", log_level="error")
    assert res.output_for_node("per_color") == [("red|2024-01-01", "2024-01-01"),
                                                ("red|2024-01-02", "2024-01-02")]
    res = materialize([paint, per_color], selection=[per_color], instance=instance,
                      partition_key="blue", log_level="critical", raise_on_error=False)
    assert not res.success  # blue|2024-01-02 was never materialized
    assert "no stored value" in res.get_step_failure_events()[0].data["error"]["message"]
