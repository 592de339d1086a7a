"""Wire compatibility, host direction: scripts using the REAL ``dagster-pipes`` package (in the
Dagster venv) run unchanged under our orchestrator, and every message they send arrives."""

from __future__ import annotations

import pytest
from ph_helpers import events, failure_text, messages

from orchestrator import AssetCheckSpec, asset, materialize
from orchestrator.pipes import PipesStdioMessageReader, PipesSubprocessClient

pytestmark = pytest.mark.system

DAGSTER_SCRIPT = """
import sys
from dagster_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    assert pipes.asset_key == "orders", pipes.asset_key
    assert pipes.extras == {"batch": 7}, pipes.extras
    assert pipes.run_id and pipes.retry_number == 0
    assert pipes.code_version == "cv1", pipes.code_version
    pipes.log.info("info from dagster-pipes")
    pipes.log.warning("warning from dagster-pipes")
    pipes.log.error("error from dagster-pipes")
    print("stdout from dagster script", flush=True)
    pipes.report_asset_materialization(
        data_version="dv-1",
        metadata={
            "text": {"raw_value": "hello", "type": "text"},
            "url": {"raw_value": "https://example.com", "type": "url"},
            "path": {"raw_value": "/data/x.csv", "type": "path"},
            "notebook": {"raw_value": "/nb.ipynb", "type": "notebook"},
            "md": {"raw_value": "# Title", "type": "md"},
            "run": {"raw_value": "abc-123", "type": "dagster_run"},
            "int": {"raw_value": 42, "type": "int"},
            "float": {"raw_value": 2.5, "type": "float"},
            "bool": {"raw_value": True, "type": "bool"},
            "ts": {"raw_value": 1700000000.5, "type": "timestamp"},
            "json": {"raw_value": {"a": [1, 2]}, "type": "json"},
            "null": {"raw_value": None, "type": "null"},
            "asset": {"raw_value": "up/stream", "type": "asset"},
            "inferred_int": 7,
            "inferred_str": "s",
            "inferred_float": 0.25,
            "inferred_list": [1, "a"],
            "table_schema": {"raw_value": {"columns": [{"name": "id", "type": "int"}]},
                             "type": "table_schema"},
            "table": {"raw_value": {"records": [{"id": 1}], "schema": None}, "type": "table"},
            "lineage": {"raw_value": {"deps_by_column": {"id": [
                {"asset_key": "up", "column_name": "uid"}]}}, "type": "table_column_lineage"},
            "nan": {"raw_value": float("nan"), "type": "float"},
        },
    )
    pipes.report_asset_check(check_name="non_empty", passed=True,
                             metadata={"rows": {"raw_value": 3, "type": "int"}})
    pipes.report_asset_check(check_name="fresh", passed=False, severity="WARN")
    pipes.report_custom_message({"anything": ["goes", 1]})
    if len(sys.argv) > 1 and sys.argv[1] == "fail":
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise RuntimeError("dagster-side failure") from exc
"""


def _orders(path, dagster_python, client, *args, reader=None):
    seen = {}

    @asset(code_version="cv1", check_specs=[AssetCheckSpec("non_empty", asset="orders"),
                                            AssetCheckSpec("fresh", asset="orders")])
    def orders(context, pipes_subprocess_client: PipesSubprocessClient):
        inv = pipes_subprocess_client.run(command=[str(dagster_python), path, *args],
                                          context=context, extras={"batch": 7},
                                          message_reader=reader)
        seen["custom"] = inv.get_custom_messages()
        return inv.get_results()

    res = materialize([orders], resources={"pipes_subprocess_client": client},
                      raise_on_error=False, log_level="CRITICAL")
    return res, seen


@pytest.mark.parametrize("channel", ["file", "stdio"])
def test_real_dagster_pipes_script_runs_unchanged(script, dagster_python, channel):
    path = script(DAGSTER_SCRIPT)
    reader = PipesStdioMessageReader("stderr") if channel == "stdio" else None
    res, seen = _orders(path, dagster_python, PipesSubprocessClient(), reader=reader)
    assert res.success, res.get_step_failure_events()
    levels = {e.message: e.level for e in events(res, "LOG")}
    assert levels["info from dagster-pipes"] == 20
    assert levels["warning from dagster-pipes"] == 30
    assert levels["error from dagster-pipes"] == 40
    assert levels["stdout from dagster script"] == 20
    assert not [e for e in events(res, "LOG") if e.data.get("pipes_warning")]
    mat = events(res, "ASSET_MATERIALIZATION")[0]
    assert mat.data["data_version"] == "dv-1"
    types = {k: v["type"] for k, v in mat.data["metadata"].items()}
    assert types == {
        "text": "text", "url": "url", "path": "path", "notebook": "notebook", "md": "md",
        "run": "dagster_run", "int": "int", "float": "float", "bool": "bool",
        "ts": "timestamp", "json": "json", "null": "null", "asset": "asset",
        "inferred_int": "int", "inferred_str": "text", "inferred_float": "float",
        "inferred_list": "json", "table_schema": "table_schema", "table": "table",
        "lineage": "table_column_lineage", "nan": "float"}
    md = mat.metadata
    assert md["int"] == 42 and md["float"] == 2.5 and md["bool"] is True
    assert md["json"] == {"a": [1, 2]} and md["null"] is None and md["ts"] == 1700000000.5
    assert md["nan"] != md["nan"]  # NaN survives the wire and the store
    checks = {c.check_name: c for c in res.get_asset_check_evaluations()}
    assert checks["non_empty"].passed and checks["non_empty"].metadata == {"rows": 3}
    assert not checks["fresh"].passed and checks["fresh"].severity.value == "WARN"
    assert seen["custom"] == [{"anything": ["goes", 1]}]


def test_real_dagster_pipes_exception_on_close_fails_the_step(script, dagster_python):
    path = script(DAGSTER_SCRIPT)
    res, _ = _orders(path, dagster_python, PipesSubprocessClient(), "fail")
    assert not res.success
    text = failure_text(res)
    assert "RuntimeError: dagster-side failure" in text
    assert "The above was caused by:" in text and "KeyError" in text
    assert "info from dagster-pipes" in messages(res)  # earlier messages all arrived
