"""examples/containers runs end to end through the CLI on the real engine (the local test
images stand in for python:3.11-slim and busybox)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_containers_example(docker_images, docker_client, tmp_home):
    env = dict(os.environ, ORCHESTRATOR_HOME=str(tmp_home),
               CONTAINERS_PYTHON_IMAGE=docker_images.python,
               CONTAINERS_SHELL_IMAGE=docker_images.busybox, CONTAINERS_PULL_POLICY="never")
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "materialize", "-f",
         "examples/containers/definitions.py", "--select", "*"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "SUCCESS" in proc.stdout

    from orchestrator.instance import Instance

    instance = Instance.get()
    [run] = instance.get_runs(limit=1)
    events = instance.run_storage.get_events(run.run_id)
    logs = [e.message for e in events if e.event_type.value == "LOG"]
    # the unmodified script: its output is the asset's log, its exit code the verdict
    assert "total amount: 517.74" in logs
    # the protocol-aware script: metadata and a check through pipes_client
    mats = {e.asset_key.to_user_string(): e for e in events
            if e.event_type.value == "ASSET_MATERIALIZATION"}
    assert set(mats) == {"legacy_report", "order_scores", "order_lines"}
    md = mats["order_scores"].data["metadata"]
    assert md["orders"]["raw_value"] == 5 and md["big_orders"]["raw_value"] == 2
    checks = [e for e in events if e.event_type.value == "ASSET_CHECK_EVALUATION"]
    assert [c.data.get("passed") for c in checks] == [True]
    # the shell script in an image without Python reported through pipes.sh
    assert mats["order_lines"].data["metadata"]["lines"]["raw_value"] == 6
    assert "orders.csv has 6 lines" in logs
    # every container was removed
    assert docker_client.containers.list(
        all=True, filters={"label": f"orchestrator.run_id={run.run_id}"}) == []
