"""End to end: assets running real subprocesses through PipesSubprocessClient."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC

import pytest
from ph_helpers import PY, child_env, events, messages

from orchestrator import (
    AssetCheckSpec,
    AssetKey,
    AssetSpec,
    Instance,
    asset,
    materialize,
    multi_asset,
)
from orchestrator.pipes import PipesSubprocessClient


def test_success_logs_metadata_and_stdio(script, client):
    path = script("""
        import sys
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.log.info("hello from child")
            pipes.log.warning("careful")
            print("plain stdout line", flush=True)
            print("ERROR: bad thing", file=sys.stderr)
            pipes.report_asset_materialization(metadata={"rows": 3, "ratio": 1.5},
                                               data_version="v1")
    """)

    @asset
    def orders(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    res = materialize([orders], resources={"pipes_subprocess_client": client})
    assert res.success
    logs = {e.message: e.level for e in events(res, "LOG")}
    assert logs["hello from child"] == 20
    assert logs["careful"] == 30
    assert logs["plain stdout line"] == 20
    assert logs["ERROR: bad thing"] == 40
    mat = events(res, "ASSET_MATERIALIZATION")[0]
    assert mat.asset_key == AssetKey("orders")
    assert mat.metadata == {"rows": 3, "ratio": 1.5}
    assert mat.data["data_version"] == "v1"
    launched = events(res, "EXTERNAL_LAUNCHED")[0]
    assert launched.data["launcher"] == "subprocess"
    assert launched.data["handle"]["pid"] > 0
    # the handle is stored before any message of the process
    all_types = [e.event_type.value for e in events(res)]
    assert all_types.index("EXTERNAL_LAUNCHED") < all_types.index("LOG")
    # everything the session created (context, messages, logs) is gone
    assert not os.path.exists(launched.data["session"]["session_dir"])
    assert not os.path.exists(launched.data["handle"]["stdout"])


def test_logs_are_stored_while_the_process_runs(script, client, tmp_path):
    """The child logs "ready", then waits for a file the test creates only after it found
    "ready" in the run store: the run can only finish if events arrive live."""
    go = tmp_path / "go"
    path = script(f"""
        import os, sys, time
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.log.info("ready")
            print("stdout ready", flush=True)
            for _ in range(3000):
                if os.path.exists({str(go)!r}):
                    break
                time.sleep(0.01)
            else:
                raise SystemExit("never released")
            pipes.report_asset_materialization()
    """)
    instance = Instance.ephemeral()

    @asset
    def live(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    out: dict = {}
    th = threading.Thread(target=lambda: out.setdefault("res", materialize(
        [live], resources={"pipes_subprocess_client": client}, instance=instance,
        raise_on_error=False)))
    th.start()
    seen: set[str] = set()
    for _ in range(3000):
        runs = instance.run_storage.get_runs()
        if runs:
            seen = {e.message for e in instance.run_storage.get_events(runs[0].run_id)}
            if {"ready", "stdout ready"} <= seen:
                break
        time.sleep(0.01)
    assert {"ready", "stdout ready"} <= seen
    go.write_text("")
    th.join(60)
    assert out["res"].success


def test_last_lines_are_not_lost_and_chatty_child_does_not_block(script, client):
    path = script("""
        import sys
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            block = "x" * 1000
            for i in range(3000):          # ~3 MB on each stream: more than any pipe buffer
                sys.stdout.write(f"out {i} {block}\\n")
                sys.stderr.write(f"err {i} {block}\\n")
            pipes.report_asset_materialization()
        sys.stdout.write("last stdout line without newline")
        sys.stderr.write("last stderr line\\n")
    """)

    @asset
    def chatty(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    res = materialize([chatty], resources={"pipes_subprocess_client": client},
                      log_level="ERROR")
    assert res.success
    msgs = messages(res)
    assert sum(m.startswith("out ") for m in msgs) == 3000
    assert sum(m.startswith("err ") for m in msgs) == 3000
    assert "last stdout line without newline" in msgs
    assert "last stderr line" in msgs


def test_multi_asset_one_process(script, client):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            assert sorted(pipes.asset_keys) == ["a", "b/c"], pipes.asset_keys
            pipes.report_asset_materialization(asset_key="a", metadata={"n": 1})
            pipes.report_asset_materialization(asset_key="b/c", metadata={"n": 2})
    """)

    @multi_asset(specs=[AssetSpec("a"), AssetSpec(["b", "c"])])
    def both(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    res = materialize([both], resources={"pipes_subprocess_client": client})
    assert res.success
    mats = {e.asset_key.to_user_string(): e.metadata for e in
            events(res, "ASSET_MATERIALIZATION")}
    assert mats == {"a": {"n": 1}, "b/c": {"n": 2}}


def test_asset_checks_over_the_protocol(script, client):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization()
            pipes.report_asset_check("positive", passed=True, metadata={"min": 1})
            pipes.report_asset_check("fresh", passed=False, severity="WARN")
    """)

    @asset(check_specs=[AssetCheckSpec("positive", asset="orders"),
                        AssetCheckSpec("fresh", asset="orders")])
    def orders(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    res = materialize([orders], resources={"pipes_subprocess_client": client})
    assert res.success
    evals = {c.check_name: c for c in res.get_asset_check_evaluations()}
    assert evals["positive"].passed and evals["positive"].metadata == {"min": 1}
    assert not evals["fresh"].passed and evals["fresh"].severity.value == "WARN"


def test_partition_key_over_the_protocol(script, client):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization(metadata={
                "key": pipes.partition_key,
                "range": [pipes.partition_key_range["start"], pipes.partition_key_range["end"]]})
    """)

    @asset
    def daily(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    res = materialize([daily], resources={"pipes_subprocess_client": client},
                      partition_key="2024-03-05")
    assert res.success
    mat = events(res, "ASSET_MATERIALIZATION")[0]
    assert mat.partition == "2024-03-05"
    assert mat.metadata == {"key": "2024-03-05", "range": ["2024-03-05", "2024-03-05"]}


def test_partition_range_and_time_window_over_the_protocol(script, tmp_path):
    """Dagster sends no partition data for a range run; we send the range and the window."""
    from datetime import datetime, timedelta

    from orchestrator.assets.decorators import asset as asset_dec
    from orchestrator.execution.context import AssetExecutionContext
    from orchestrator.execution.log import RunLogger

    class Daily:
        def time_window_for(self, key):
            start = datetime.fromisoformat(key).replace(tzinfo=UTC)
            return (start, start + timedelta(days=1))

    path = script("""
        import json
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization(metadata={
                "range": [pipes.partition_key_range["start"], pipes.partition_key_range["end"]],
                "window": [pipes.partition_time_window["start"],
                           pipes.partition_time_window["end"]]})
    """)

    @asset_dec
    def ranged():
        return None

    got = []
    ctx = AssetExecutionContext(
        run_id="run-range", job_name="job", step_key="ranged", op_def=ranged.node_def,
        log=RunLogger(got.append, "run-range", "ranged"), resources=None,
        partition_key_range=("2024-03-01", "2024-03-03"), assets_def=ranged,
        partitions_def=Daily())
    inv = PipesSubprocessClient(env=child_env()).run(command=[PY, path], context=ctx)
    result = inv.get_materialize_result()
    md = {k: v.raw_value for k, v in result.metadata.items()}
    assert md == {"range": ["2024-03-01", "2024-03-03"],
                  "window": ["2024-03-01T00:00:00+00:00", "2024-03-04T00:00:00+00:00"]}
    assert any(e.event_type.value == "EXTERNAL_LAUNCHED" for e in got)


def test_custom_messages_and_extras(script, client):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_custom_message({"echo": pipes.extras["token"]})
            pipes.report_custom_message([1, 2])
            pipes.report_asset_materialization()
    """)
    seen = {}

    @asset
    def with_extras(context, pipes_subprocess_client: PipesSubprocessClient):
        inv = pipes_subprocess_client.run(command=[PY, path], context=context,
                                          extras={"token": "t-42"})
        seen["custom"] = inv.get_custom_messages()
        return inv.get_materialize_result()

    assert materialize([with_extras], resources={"pipes_subprocess_client": client}).success
    assert seen["custom"] == [{"echo": "t-42"}, [1, 2]]


def test_non_protocol_command_materializes_implicitly(tmp_path, client):
    @asset
    def legacy(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(
            command="echo 'WARNING: old tool'; echo done", context=context,
            protocol_aware=False).get_results()

    res = materialize([legacy], resources={"pipes_subprocess_client": client})
    assert res.success
    assert [e.asset_key for e in events(res, "ASSET_MATERIALIZATION")] == [AssetKey("legacy")]
    levels = {e.message: e.level for e in events(res, "LOG")}
    assert levels == {"WARNING: old tool": 30, "done": 20}


def test_output_value_flows_to_downstream_asset(script, client):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_output({"rows": [1, 2, 3]})
            pipes.report_asset_materialization(metadata={"n": 3})
    """)

    @asset
    def produced(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    @asset
    def consumer(produced):
        return sum(produced["rows"])

    res = materialize([produced, consumer], resources={"pipes_subprocess_client": client})
    assert res.success
    assert res.output_for_node("consumer") == 6
    assert res.asset_value("produced") == {"rows": [1, 2, 3]}


def test_op_style_direct_use_of_open_pipes_session(script):
    """open_pipes_session with a process started by the user (Dagster's generic shape)."""
    import subprocess

    from orchestrator.pipes import open_pipes_session

    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.log.info("manual launch")
            pipes.report_asset_materialization(metadata={"ok": True})
    """)

    @asset
    def manual(context):
        with open_pipes_session(context, extras={"x": 1}) as session:
            proc = subprocess.run([PY, path], check=False, env={**os.environ, **child_env(),
                                                   **session.get_bootstrap_env_vars()})
        session.check_outcome(exit_code=proc.returncode)
        return session.get_results()

    res = materialize([manual])
    assert res.success
    assert "manual launch" in messages(res)
    assert events(res, "ASSET_MATERIALIZATION")[0].metadata == {"ok": True}


def test_partition_range_run_end_to_end(script, client):
    """A real range run of a daily-partitioned asset: the process gets the range and the time
    window spanning it (Dagster sends nothing for a range)."""
    from orchestrator import DailyPartitionsDefinition, PartitionKeyRange

    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            rng, win = pipes.partition_key_range, pipes.partition_time_window
            pipes.report_asset_materialization(metadata={
                "range": [rng["start"], rng["end"]], "window": [win["start"], win["end"]]})
    """)

    @asset(partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"))
    def days(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    res = materialize([days], resources={"pipes_subprocess_client": client},
                      partition_key_range=PartitionKeyRange("2024-03-01", "2024-03-03"),
                      raise_on_error=False, log_level="CRITICAL")
    assert res.success, res.get_step_failure_events()
    md = events(res, "ASSET_MATERIALIZATION")[0].metadata
    assert md == {"range": ["2024-03-01", "2024-03-03"],
                  "window": ["2024-03-01T00:00:00+00:00", "2024-03-04T00:00:00+00:00"]}


def test_single_time_partition_gets_its_window(script, client):
    from orchestrator import DailyPartitionsDefinition

    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            win = pipes.partition_time_window
            pipes.report_asset_materialization(metadata={
                "key": pipes.partition_key, "window": [win["start"], win["end"]]})
    """)

    @asset(partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"))
    def day(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    res = materialize([day], resources={"pipes_subprocess_client": client},
                      partition_key="2024-03-05", log_level="CRITICAL")
    assert events(res, "ASSET_MATERIALIZATION")[0].metadata == {
        "key": "2024-03-05", "window": ["2024-03-05T00:00:00+00:00", "2024-03-06T00:00:00+00:00"]}


def test_large_messages_arrive_whole(script, client):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.log.info("L" * 6_000_000)
            pipes.report_asset_materialization(metadata={"blob": "m" * 5_000_000})
            print("S" * 5_000_000)
    """)

    @asset
    def big(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    res = materialize([big], resources={"pipes_subprocess_client": client},
                      log_level="CRITICAL")
    sizes = sorted(len(m) for m in messages(res))
    assert sizes == [5_000_000, 6_000_000]
    assert len(events(res, "ASSET_MATERIALIZATION")[0].metadata["blob"]) == 5_000_000


def test_op_in_a_job_and_resource_from_context(script, client):
    """An op (no assets): logs and custom messages flow; the client comes from
    context.resources; a materialization report would be outside the (empty) selection."""
    from orchestrator import execute_job, job, op

    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            assert not pipes.is_asset_step
            pipes.log.info("op says hi")
            pipes.report_custom_message({"rows": 3})
    """)
    seen = {}

    @op(required_resource_keys={"pipes_subprocess_client"})
    def run_script(context):
        inv = context.resources.pipes_subprocess_client.run(command=[PY, path],
                                                            context=context)
        seen["custom"] = inv.get_custom_messages()
        return inv.get_custom_messages()[0]["rows"]

    @job(resource_defs={"pipes_subprocess_client": client})
    def scripted():
        run_script()

    res = execute_job(scripted, log_level="CRITICAL")
    assert res.success
    assert "op says hi" in messages(res)
    assert res.output_for_node("run_script") == 3


def test_table_output_as_parquet_flows_downstream(script, client):
    pytest.importorskip("pyarrow")
    path = script("""
        import pyarrow as pa
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            table = pa.table({"id": [1, 2, 3], "amount": [10.0, 20.5, 30.0]})
            url = pipes.report_output(table)
            pipes.report_asset_materialization(metadata={"written": url.endswith(".parquet")})
    """)

    @asset
    def sales(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    @asset
    def total(sales):
        return sum(sales.column("amount").to_pylist())

    res = materialize([sales, total], resources={"pipes_subprocess_client": client},
                      log_level="CRITICAL")
    assert res.success
    assert res.output_for_node("total") == 60.5
    assert events(res, "ASSET_MATERIALIZATION")[0].metadata["written"] is True
