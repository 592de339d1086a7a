"""PipesDockerClient in real runs on the real engine: channels, context by environment
variable, failure reports (OOM kill), a non-root container user, and stopping a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from orchestrator import asset, materialize
from orchestrator.pipes import PipesStdioMessageReader

SCRIPT = textwrap.dedent("""
    import os, json
    from pipes_client import open_pipes
    with open_pipes() as pipes:
        pipes.log.info(f"limit is {pipes.extras['limit']}")
        from pipes_protocol import decode_bootstrap
        params = decode_bootstrap(os.environ["DAGSTER_PIPES_CONTEXT"])
        print("context by", sorted(params), flush=True)
        print("uid", os.getuid(), flush=True)
        pipes.report_asset_materialization(metadata={"rows": pipes.extras["limit"] * 2})
""")


def _client(**kwargs):
    from orchestrator_docker import PipesDockerClient

    return PipesDockerClient(pull_policy="never", env={"ORCHESTRATOR_TEST": "1"}, **kwargs)


def _logs(result):
    return [e.message for e in result.all_events if e.event_type.value == "LOG"]


@pytest.mark.parametrize("channel", ["file", "stdio"])
def test_materialize_through_each_channel(docker_images, tmp_home, channel):
    reader = PipesStdioMessageReader() if channel == "stdio" else None
    client = _client(message_reader=reader)

    @asset
    def numbers(context):
        return client.run(context=context, image=docker_images.python,
                          command=["python3", "-c", SCRIPT], extras={"limit": 21}).get_results()

    result = materialize([numbers])
    assert result.success
    [mat] = [e for e in result.all_events if e.event_type.value == "ASSET_MATERIALIZATION"]
    assert mat.data["metadata"]["rows"]["raw_value"] == 42
    logs = _logs(result)
    assert "limit is 21" in logs and "uid 0" in logs
    assert "context by ['data']" in logs  # the context travels in the environment variable
    launched = [e for e in result.all_events if e.event_type.value == "EXTERNAL_LAUNCHED"]
    assert launched[0].data["launcher"] == "docker"
    assert launched[0].data["log_locator"].startswith("docker logs orch-")


def test_non_root_user_writes_messages(docker_images, tmp_home):
    client = _client()

    @asset
    def as_user(context):
        return client.run(context=context, image=docker_images.python, user="1000:1000",
                          command=["python3", "-c", SCRIPT], extras={"limit": 1}
                          ).get_results()

    result = materialize([as_user])
    assert result.success
    assert "uid 1000" in _logs(result)


def test_oom_kill_fails_the_step_with_the_reason(docker_images, tmp_home):
    client = _client()

    @asset
    def hungry(context):
        return client.run(context=context, image=docker_images.python, mem_limit="48m",
                          command=["python3", "-c", "x = bytearray(500 * 1024 * 1024)"]
                          ).get_results()

    result = materialize([hungry], raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "OOMKilled (memory limit 48m)" in failure.data["error"]["message"]
    exits = [e for e in result.all_events if e.data.get("pipes_exit")]
    md = exits[-1].data["metadata"]
    assert md["stop_reason"]["raw_value"].startswith("OOMKilled")
    assert md["exit_code"]["raw_value"] == 137


def test_stopping_the_run_stops_and_removes_the_container(docker_images, docker_client,
                                                          tmp_path, tmp_home):
    marker = f"stop-{os.getpid()}-{time.time_ns()}"
    defs = tmp_path / "defs.py"
    defs.write_text(textwrap.dedent(f"""
        from orchestrator import Definitions, asset
        from orchestrator_docker import PipesDockerClient

        @asset
        def {marker.replace('-', '_')}(context):
            return PipesDockerClient(pull_policy="never", termination_grace_period=1).run(
                context=context, image={docker_images.busybox!r},
                command=["sh", "-c", "echo ready; sleep 300"], protocol_aware=False,
            ).get_results()

        defs = Definitions(assets=[{marker.replace('-', '_')}])
    """))
    env = dict(os.environ, ORCHESTRATOR_HOME=str(tmp_home))
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "materialize", "-f",
                             str(defs), "--select", "*"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    label = f"orchestrator.asset={marker.replace('-', '_')}"
    try:
        deadline = time.monotonic() + 60
        while True:
            running = docker_client.containers.list(filters={"label": label})
            if running and b"ready" in running[0].logs():
                break
            assert time.monotonic() < deadline, "the container never started"
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert docker_client.containers.list(all=True, filters={"label": label}) == [], out


def test_dagster_style_container_kwargs(docker_images, tmp_home, tmp_path):
    (tmp_path / "in.txt").write_text("mounted\n")
    client = _client()

    @asset
    def kwargs_asset(context):
        return client.run(
            context=context, image=docker_images.busybox, protocol_aware=False,
            command=["sh", "-c", "cat /in/in.txt; echo $COLOR; pwd"],
            container_kwargs={"volumes": {str(tmp_path): {"bind": "/in", "mode": "ro"}},
                              "environment": ["COLOR=blue"], "working_dir": "/in",
                              "shm_size": "16m"},
        ).get_results()

    result = materialize([kwargs_asset])
    assert result.success
    logs = _logs(result)
    assert ["mounted", "blue", "/in"] == [m for m in logs if m in ("mounted", "blue", "/in")]

    @asset
    def bad_kwargs(context):
        return client.run(context=context, image=docker_images.busybox, command=["true"],
                          container_kwargs={"not_a_setting": 1}).get_results()

    failed = materialize([bad_kwargs], raise_on_error=False)
    [failure] = failed.get_step_failure_events()
    assert "not a Docker host-config setting" in failure.data["error"]["message"]


def test_client_baked_into_the_image_with_the_log_stream(docker_images, docker_client,
                                                         tmp_home, tmp_path):
    """The set-up docs/backends/docker.md gives for remote engines: the Dockerfile lines of
    the page, no bind mount at all (context in the environment, messages in the log
    stream, mount_pipes_client=False)."""
    import re
    import shutil
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    page = (repo / "docs" / "backends" / "docker.md").read_text()
    [dockerfile] = re.findall(r"```dockerfile\n(.*?)```", page, re.DOTALL)
    for pkg in ("pipes_client", "pipes_protocol"):
        shutil.copytree(repo / pkg, tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "node"))
    (tmp_path / "Dockerfile").write_text(f"FROM {docker_images.python}\n{dockerfile}")
    tag = f"orchestrator-test/pipes-baked:{os.getpid()}"
    docker_client.images.build(path=str(tmp_path), tag=tag, rm=True)
    try:
        client = _client(message_reader=PipesStdioMessageReader(),
                         defaults={"mount_pipes_client": False})

        @asset
        def baked(context):
            check = "print('bind mounts:', sum(' /opt/orchestrator' in ln or ' /tmp/' in ln " \
                    "for ln in open('/proc/self/mountinfo')))\n"
            return client.run(context=context, image=tag,
                              command=["python3", "-c", check + SCRIPT],
                              extras={"limit": 3}).get_results()

        result = materialize([baked])
        assert result.success
        [mat] = result.asset_materializations_for_node("baked")
        assert mat.data["metadata"]["rows"]["raw_value"] == 6
        assert "bind mounts: 0" in _logs(result)
    finally:
        docker_client.images.remove(tag, force=True)
