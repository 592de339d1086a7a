"""Dagster compatibility (client direction): a pipes_client script runs unchanged under
Dagster's PipesSubprocessClient (dagster 1.13.28, its own venv) and Dagster records what it
sends: materialization metadata and data version, the check, logs, custom messages, and the
exception in ``closed``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from pc_host import REPO

pytestmark = [pytest.mark.system, pytest.mark.slow]

CLIENT_SCRIPT = """
import logging, math
from pipes_client import open_pipes

with open_pipes() as pipes:
    pipes.log.info(f"hello from pipes_client for {pipes.asset_key} ({pipes.get_extra('greeting')})")
    pipes.log.warning("a warning")
    pipes.forward_logging("etl")
    logging.getLogger("etl").error("forwarded from logging")
    pipes.progress(1, 2)  # extension: not advertised by Dagster, so nothing is sent
    pipes.report_asset_materialization(
        metadata={
            "rows": 42, "ratio": 1.0, "note": "quote \\" and newline \\n", "ok": True,
            "cfg": {"a": [1, 2]}, "nan": math.nan,
            "site": {"type": "url", "raw_value": "https://example.org"},
            "file": {"type": "path", "raw_value": "/data/orders.parquet"},
            "when": {"type": "timestamp", "raw_value": 1709596800},
            "schema": {"type": "table_schema",
                       "raw_value": {"columns": [{"name": "id", "type": "int"}]}},
        },
        data_version="dv-123",
    )
    pipes.report_asset_check("row_count_ok", passed=False, severity="WARN", metadata={"rows": 42})
    pipes.report_custom_message({"custom": [1, "two"]})
    if pipes.get_extra("fail"):
        try:
            {}["inner"]
        except KeyError as exc:
            raise ValueError("outer boom") from exc
"""

DEFS_SCRIPT = """
import json, os, sys
from dagster import (AssetCheckSpec, AssetExecutionContext, DagsterInstance, PipesSubprocessClient,
                     asset, materialize)

client_script, client_python, pythonpath = sys.argv[1], sys.argv[2], sys.argv[3]
fail = sys.argv[4] == "1"
customs = []

@asset(check_specs=[AssetCheckSpec("row_count_ok", asset="orders")])
def orders(context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient):
    invocation = pipes_subprocess_client.run(
        command=[client_python, client_script], context=context,
        env={"PYTHONPATH": pythonpath}, extras={"greeting": "hello", "fail": fail})
    customs.extend(invocation.get_custom_messages())
    return invocation.get_results()

instance = DagsterInstance.ephemeral()
result = materialize([orders], resources={"pipes_subprocess_client": PipesSubprocessClient()},
                     instance=instance, raise_on_error=False)
out = {"success": result.success, "customs": customs, "materializations": [], "checks": [],
       "logs": [], "engine": []}
for mat in result.asset_materializations_for_node("orders"):
    out["materializations"].append({
        "key": mat.asset_key.path, "tags": dict(mat.tags or {}),
        "metadata": {k: [type(v).__name__, repr(v.value)] for k, v in mat.metadata.items()}})
for ev in result.get_asset_check_evaluations():
    out["checks"].append({"name": ev.check_name, "passed": ev.passed, "severity": ev.severity.value,
                          "metadata": {k: v.value for k, v in ev.metadata.items()}})
for rec in instance.all_logs(result.run_id):
    if rec.dagster_event is None:
        out["logs"].append([rec.level, rec.user_message])
    else:
        out["engine"].append(rec.user_message or "")
        err = getattr(rec.dagster_event.event_specific_data, "error", None)
        if err is not None:
            out["engine"].append("ERRORINFO " + json.dumps(
                {"cls": err.cls_name, "message": err.message,
                 "cause": err.cause.cls_name if err.cause else None}))
print("RESULT " + json.dumps(out))
"""


def run_under_dagster(dagster_python, tmp_path, fail: bool):
    client = tmp_path / "client_script.py"
    client.write_text(textwrap.dedent(CLIENT_SCRIPT))
    defs = tmp_path / "defs.py"
    defs.write_text(DEFS_SCRIPT)
    proc = subprocess.run(
        [str(dagster_python), str(defs), str(client), sys.executable, str(REPO),
         "1" if fail else "0"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)})
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(line[len("RESULT "):])


def test_dagster_records_everything_a_pipes_client_script_sends(dagster_python, tmp_path):
    out = run_under_dagster(dagster_python, tmp_path, fail=False)
    assert out["success"], out
    engine = "\n".join(out["engine"] + [m for _, m in out["logs"]])
    for bad in ("framework exception", "did not receive closed", "did not receive any messages",
                "closed with exception", "unexpected message"):
        assert bad not in engine, (bad, engine)
    (mat,) = out["materializations"]
    assert mat["key"] == ["orders"]
    assert mat["tags"].get("dagster/data_version") == "dv-123"
    md = mat["metadata"]
    assert md["rows"] == ["IntMetadataValue", "42"]
    assert md["ratio"] == ["FloatMetadataValue", "1.0"]
    assert md["nan"] == ["FloatMetadataValue", "nan"]
    assert md["note"] == ["TextMetadataValue", repr('quote " and newline \n')]
    assert md["ok"] == ["BoolMetadataValue", "True"]
    assert md["cfg"] == ["JsonMetadataValue", repr({"a": [1, 2]})]
    assert md["site"] == ["UrlMetadataValue", repr("https://example.org")]
    assert md["file"] == ["PathMetadataValue", repr("/data/orders.parquet")]
    assert md["when"][0] == "TimestampMetadataValue" and float(md["when"][1]) == 1709596800.0
    assert md["schema"][0] == "TableSchemaMetadataValue"
    (check,) = out["checks"]
    assert check == {"name": "row_count_ok", "passed": False, "severity": "WARN",
                     "metadata": {"rows": 42}}
    assert out["logs"] == [
        [20, "[pipes] external process successfully opened dagster pipes."],
        [20, "hello from pipes_client for orders (hello)"],
        [30, "a warning"],
        [40, "forwarded from logging"],
    ]
    assert out["customs"] == [{"custom": [1, "two"]}]


def test_dagster_records_the_exception_chain_and_fails_the_step(dagster_python, tmp_path):
    out = run_under_dagster(dagster_python, tmp_path, fail=True)
    assert not out["success"]  # non-zero exit
    engine = "\n".join(out["engine"] + [m for _, m in out["logs"]])
    assert "closed with exception" in engine, engine
    assert "framework exception" not in engine
    info = [json.loads(e[len("ERRORINFO "):]) for e in out["engine"] if e.startswith("ERRORINFO ")]
    assert {"cls": "ValueError", "message": "ValueError: outer boom\n", "cause": "KeyError"} in info


NODE_SCRIPT = """
const { withPipes, meta } = require(%r);
withPipes((pipes) => {
  pipes.log.warning(`node says hi to ${pipes.assetKey}`);
  pipes.reportAssetMaterialization({
    metadata: { ratio: meta.float(1), rows: 7, mean: 2.5 }, dataVersion: 'js-1' });
  pipes.reportAssetCheck({ checkName: 'row_count_ok', passed: true });
});
"""


def test_dagster_accepts_the_node_client_including_integral_floats(dagster_python, tmp_path):
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    client = tmp_path / "client.js"
    client.write_text(NODE_SCRIPT % str(REPO / "pipes_client" / "node"))
    defs = tmp_path / "defs.py"
    defs.write_text(DEFS_SCRIPT)
    proc = subprocess.run([str(dagster_python), str(defs), str(client), node, str(REPO), "0"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                               "DAGSTER_HOME": str(tmp_path)})
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stderr[-5000:]
    out = json.loads(line[len("RESULT "):])
    assert out["success"], out
    text = "\n".join(out["engine"] + [m for _, m in out["logs"]])
    assert "framework exception" not in text and "did not receive closed" not in text
    (mat,) = out["materializations"]
    assert mat["metadata"]["ratio"] == ["FloatMetadataValue", "1.0"]  # Dagster rejects int 1
    assert mat["metadata"]["rows"] == ["IntMetadataValue", "7"]
    assert mat["tags"]["dagster/data_version"] == "js-1"
    assert [30, "node says hi to orders"] in out["logs"]
    assert out["checks"][0]["passed"] is True
