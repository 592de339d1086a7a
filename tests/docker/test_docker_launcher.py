"""What is specific to the Docker launcher, on the real engine: labels, options, OOM kills,
errors that say how to fix them, logs without loss or duplicates, the client inside the
container, the shell client, keep_on_failure and the cleanup command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from helpers.docker_util import TEST_LABELS, container_exists

from orchestrator.errors import LauncherError
from orchestrator.launchers import LaunchSpec


@pytest.fixture
def launcher(docker_client):
    from orchestrator_docker import DockerLauncher

    return DockerLauncher()


def run(launcher, spec):
    """Launch, wait, read everything, clean up: ``(status, lines, handle)``."""
    launched = launcher.launch(spec, on_handle=lambda _l: None)
    try:
        status = launcher.wait(launched.handle, 120)
        lines = launcher.read_logs(launched.handle, None, final=True).lines
    finally:
        launcher.cleanup(launched.handle)
    return status, lines, launched.handle


def spec(image, command, **options):
    env = options.pop("env", {})
    labels = {**TEST_LABELS, **options.pop("labels", {})}
    return LaunchSpec(command=command, env=env, labels=labels,
                      options={"image": image, "pull_policy": "never", **options})


def test_container_is_labelled_and_created_before_it_starts(launcher, docker_client,
                                                            docker_images):
    seen = {}

    def on_handle(launched):
        c = docker_client.containers.get(launched.handle["container_id"])
        seen["status"] = c.status
        seen["labels"] = c.labels

    s = spec(docker_images.busybox, ["echo", "hi"],
             labels={"run_id": "run-1", "step_key": "step_a", "asset": "sales/daily"})
    launched = launcher.launch(s, on_handle=on_handle)
    launcher.wait(launched.handle, 60)
    launcher.cleanup(launched.handle)
    assert seen["status"] == "created"  # the handle is recorded before the work starts
    labels = seen["labels"]
    assert labels["orchestrator.managed"] == "true"
    assert labels["orchestrator.launcher"] == "docker"
    assert labels["orchestrator.run_id"] == "run-1"
    assert labels["orchestrator.step_key"] == "step_a"
    assert labels["orchestrator.asset"] == "sales/daily"
    assert not container_exists(docker_client, launched.handle["container_id"])


def test_options_env_workdir_user_volume_network_limits(launcher, docker_client,
                                                        docker_images, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("from the host\n")
    s = spec(docker_images.busybox,
             ["sh", "-c", ("echo $GREETING; pwd; id -u; cat /data/in.txt; "
                           "touch /data/new 2>/dev/null && echo writable || echo read-only; "
                           "ip link 2>/dev/null | grep -c eth0 || true")],
             env={"GREETING": "hello"}, working_dir="/tmp", user="1234:1234",
             volumes={str(data): {"bind": "/data", "mode": "ro"}}, network="none",
             mem_limit="64m", cpus=0.5)
    inspected = {}

    def on_handle(launched):
        inspected.update(docker_client.api.inspect_container(
            launched.handle["container_id"])["HostConfig"])

    launched = launcher.launch(s, on_handle=on_handle)
    status = launcher.wait(launched.handle, 60)
    lines = [t for _s, t in launcher.read_logs(launched.handle, None, final=True).lines]
    launcher.cleanup(launched.handle)
    assert status.succeeded, (status, lines)
    assert lines[:5] == ["hello", "/tmp", "1234", "from the host", "read-only"]
    assert lines[5] == "0"  # no eth0 with network none
    assert inspected["Memory"] == 64 * 1024 * 1024
    assert inspected["NanoCpus"] == 500_000_000
    assert inspected["NetworkMode"] == "none"
    assert inspected["Init"] is True


def test_no_command_runs_the_images_own(launcher, docker_images):
    status, _, _ = run(launcher, spec(docker_images.python, []))  # CMD ["python3"]
    assert status.succeeded


def test_exit_code_and_stderr(launcher, docker_images):
    status, lines, _ = run(launcher, spec(docker_images.busybox,
                                          ["sh", "-c", "echo out; echo bad >&2; exit 4"]))
    assert status.exit_code == 4 and status.stop_reason == "exit code 4"
    assert ("stderr", "bad") in lines and ("stdout", "out") in lines


def test_oom_kill_is_the_stop_reason(launcher, docker_images):
    status, _, _ = run(launcher, spec(
        docker_images.python, ["python3", "-c", "x = bytearray(400 * 1024 * 1024)"],
        mem_limit="48m"))
    assert status.exit_code == 137
    assert status.stop_reason.startswith("OOMKilled") and "48m" in status.stop_reason


def test_output_before_attach_and_without_final_newline_is_kept(launcher, docker_images):
    # 3000 lines written at once: most are out before the log follower connects
    status, lines, _ = run(launcher, spec(
        docker_images.busybox, ["sh", "-c", "seq 1 3000; printf 'no newline'"]))
    assert status.succeeded
    assert [t for _s, t in lines] == [str(i) for i in range(1, 3001)] + ["no newline"]


def test_long_lines_are_joined_again(launcher, docker_images):
    # Docker splits lines longer than 16 KiB into pieces; the launcher joins them
    code = "import sys\nfor n in (16384, 16385, 100000, 5):\n print('y' * n)"
    status, lines, _ = run(launcher, spec(docker_images.python, ["python3", "-c", code]))
    assert status.succeeded
    assert [len(t) for _s, t in lines] == [16384, 16385, 100000, 5]


def test_broken_log_connections_lose_and_repeat_nothing(launcher, docker_images):
    code = "import time\nfor i in range(3000):\n print(i, flush=True)\n if i % 100 == 0: " \
           "time.sleep(0.02)"
    launched = launcher.launch(spec(docker_images.python, ["python3", "-c", code]),
                               on_handle=lambda _l: None)
    followers = launcher._followers[launched.handle["container_id"]]
    breaks = 0
    try:
        while not followers["stdout"].done.is_set():
            active = followers["stdout"]._active
            if active is not None:
                active.close()  # the connection to the daemon breaks mid-stream
                breaks += 1
            followers["stdout"].done.wait(0.05)
        status = launcher.wait(launched.handle, 60)
        lines = [t for _s, t in launcher.read_logs(launched.handle, None, final=True).lines]
    finally:
        launcher.cleanup(launched.handle)
    assert status.succeeded
    assert breaks >= 2
    assert lines == [str(i) for i in range(3000)]


def test_python_client_is_mounted_into_any_image(launcher, docker_images):
    code = "import pipes_client, pipes_protocol, os; print(pipes_client.__file__); " \
           "print(os.environ['PIPES_SH'])"
    status, lines, _ = run(launcher, spec(docker_images.python, ["python3", "-c", code]))
    assert status.succeeded, lines
    assert [t for _s, t in lines] == ["/opt/orchestrator/lib/pipes_client/__init__.py",
                                      "/opt/orchestrator/lib/pipes_client/sh/pipes.sh"]
    status, lines, _ = run(launcher, spec(docker_images.python, ["python3", "-c", code],
                                          mount_pipes_client=False))
    assert status.exit_code == 1 and "ModuleNotFoundError" in " ".join(t for _s, t in lines)


# -- errors that say what and how to fix -------------------------------------------------------
def test_missing_image_with_pull_never(launcher):
    with pytest.raises(LauncherError, match=r"image 'orchestrator-test/no-such:0' is not on "
                                            r"the Docker engine.*pull_policy='if_missing'"):
        launcher.launch(spec("orchestrator-test/no-such:0", ["true"]), on_handle=lambda _l: 0)


def test_failed_pull_names_image_user_and_fix(launcher):
    s = spec("127.0.0.1:9/private/app:1.0", ["true"], pull_policy="always",
             registry={"url": "127.0.0.1:9", "username": "robot", "password": "s3cret"})
    with pytest.raises(LauncherError) as info:
        launcher.launch(s, on_handle=lambda _l: None)
    text = str(info.value)
    assert "could not pull image '127.0.0.1:9/private/app:1.0' as 'robot'" in text
    assert "registry is reachable" in text and "pull_policy='never'" in text
    assert "s3cret" not in text


def test_missing_image_is_pulled_with_if_missing(launcher):
    s = spec("127.0.0.1:9/missing:2", ["true"], pull_policy="if_missing")
    with pytest.raises(LauncherError, match="could not pull image '127.0.0.1:9/missing:2' "
                                            r"\(no credentials given\)"):
        launcher.launch(s, on_handle=lambda _l: None)


def test_daemon_not_running(monkeypatch, tmp_path, docker_images):
    from orchestrator_docker import DockerLauncher

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    with pytest.raises(LauncherError, match=r"cannot reach the Docker daemon at unix://.*"
                                            r"no-daemon.sock.*start it"):
        DockerLauncher().launch(spec(docker_images.busybox, ["true"]),
                                on_handle=lambda _l: None)


def test_bad_volume_paths(launcher, docker_images, tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(LauncherError, match=r"volume host path '.*nope' \(-> '/data'\) does "
                                            r"not exist; create it"):
        launcher.launch(spec(docker_images.busybox, ["true"], volumes={str(missing): "/data"}),
                        on_handle=lambda _l: None)
    with pytest.raises(LauncherError, match="is not absolute"):
        launcher.launch(spec(docker_images.busybox, ["true"], volumes=["data:/data"]),
                        on_handle=lambda _l: None)
    with pytest.raises(LauncherError, match="'host:container"):
        launcher.launch(spec(docker_images.busybox, ["true"], volumes=["/a:/b:/c:/d"]),
                        on_handle=lambda _l: None)


def test_command_missing_in_image(launcher, docker_images, docker_client):
    # without an init process Docker itself refuses to start the container
    handles = []
    with pytest.raises(LauncherError, match="could not start.*check that the command exists"):
        launcher.launch(spec(docker_images.busybox, ["no-such-program"], init=False),
                        on_handle=handles.append)
    assert not container_exists(docker_client, handles[0].handle["container_id"])
    # with one (the default) the init process reports it: exit code 127 and a stop reason
    status, lines, _ = run(launcher, spec(docker_images.busybox, ["no-such-program"]))
    assert status.exit_code == 127
    assert "command was not found" in status.stop_reason
    assert any("no-such-program" in t for s, t in lines if s == "stderr")


def test_missing_network(launcher, docker_images):
    with pytest.raises(LauncherError, match=r"network.*not found.*docker network create"):
        launcher.launch(spec(docker_images.busybox, ["true"], network="no-such-network-x1"),
                        on_handle=lambda _l: None)


def test_unknown_option_and_no_image(launcher, docker_images):
    with pytest.raises(LauncherError, match=r"unknown option\(s\) \['memory'\]"):
        launcher.launch(spec(docker_images.busybox, ["true"], memory="1g"),
                        on_handle=lambda _l: None)
    with pytest.raises(LauncherError, match="no image"):
        launcher.launch(LaunchSpec(["true"]), on_handle=lambda _l: None)


# -- keep_on_failure and the cleanup command ----------------------------------------------------
def test_keep_on_failure_then_cleanup_command(launcher, docker_client, docker_images,
                                              tmp_home):
    from orchestrator.events import RunRecord, RunStatus
    from orchestrator.instance import Instance

    instance = Instance.get()
    storage = instance.run_storage
    storage.add_run(RunRecord("finished-run", "job", status=RunStatus.FAILURE))
    storage.add_run(RunRecord("live-run", "job", status=RunStatus.STARTED))
    failed = launcher.launch(spec(docker_images.busybox, ["sh", "-c", "exit 2"],
                                  keep_on_failure=True, labels={"run_id": "finished-run"}),
                             on_handle=lambda _l: None)
    assert launcher.wait(failed.handle, 60).exit_code == 2
    launcher.cleanup(failed.handle)
    assert container_exists(docker_client, failed.handle["container_id"])  # kept to debug
    live = launcher.launch(spec(docker_images.busybox, ["sleep", "300"],
                                labels={"run_id": "live-run"}), on_handle=lambda _l: None)
    stray = launcher.launch(spec(docker_images.busybox, ["true"],
                                 labels={"run_id": "someone-elses-run"}),
                            on_handle=lambda _l: None)
    try:
        env = dict(os.environ, ORCHESTRATOR_HOME=str(tmp_home))
        cmd = [sys.executable, "-m", "orchestrator", "docker", "cleanup"]
        dry = subprocess.run(cmd + ["--dry-run", "--json"], env=env, capture_output=True,
                             text=True, timeout=120, check=False)
        assert dry.returncode == 0, dry.stderr
        by_id = {c["container_id"]: c for c in json.loads(dry.stdout)["containers"]}
        assert by_id[failed.handle["container_id"]]["remove"] is True
        assert by_id[live.handle["container_id"]]["remove"] is False
        assert by_id[stray.handle["container_id"]]["remove"] is False
        assert container_exists(docker_client, failed.handle["container_id"])  # dry run
        real = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert real.returncode == 0, real.stderr
        assert f"removed      {failed.handle['container_name']}" in real.stdout
        assert not container_exists(docker_client, failed.handle["container_id"])
        assert container_exists(docker_client, live.handle["container_id"])
        assert container_exists(docker_client, stray.handle["container_id"])
    finally:
        for launched in (live, stray):
            launcher.cancel(launched.handle, 0.5)
            launcher.cleanup(launched.handle)


def test_plugin_registers_launcher_resource_and_command():
    from orchestrator_docker import DockerLauncher, PipesDockerClient

    from orchestrator.plugins import get_launcher, get_resource

    assert get_launcher("docker") is DockerLauncher
    assert get_resource("pipes_docker_client") is PipesDockerClient
    out = subprocess.run([sys.executable, "-m", "orchestrator", "docker", "--help"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0 and "cleanup" in out.stdout


def test_importing_the_plugin_does_not_import_the_sdk():
    code = textwrap.dedent("""
        import sys
        import orchestrator_docker.plugin, orchestrator_docker
        from orchestrator.plugins import get_launcher
        get_launcher("docker")
        print("docker" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.stdout.strip() == "False", out.stderr
