"""Tests of the test infrastructure itself: scripts, settings, fixtures, engine, images, venv."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from helpers import infra
from helpers.net import free_port, port_open, wait_until

SCRIPT_NAMES = [
    "test",
    "ensure-docker.sh",
    "build-test-images.sh",
    "ensure-dagster-venv.sh",
]
DOCS = infra.REPO_ROOT / "docs" / "development.md"


# ---- fast checks (no engine needed) -------------------------------------------------------


def test_infra_env_names_images_and_pins():
    settings = infra.parse_env_file(infra.INFRA_ENV)
    for key in (
        "ORCH_TEST_BUSYBOX_IMAGE",
        "ORCH_TEST_PYTHON_IMAGE",
        "DAGSTER_VERSION",
        "DAGSTER_PIPES_VERSION",
        "DAGSTER_DBT_VERSION",
    ):
        assert settings.get(key), f"{key} missing from {infra.INFRA_ENV}"
    assert re.fullmatch(r"[a-z0-9./-]+:[\w.-]+", settings["ORCH_TEST_BUSYBOX_IMAGE"])
    assert re.fullmatch(r"1\.13\.\d+", settings["DAGSTER_VERSION"])


def test_env_overrides_infra_env(monkeypatch):
    monkeypatch.setenv("ORCH_TEST_PYTHON_IMAGE", "example/python:override")
    assert infra.test_images().python == "example/python:override"


def test_parse_env_file_rejects_malformed_lines(tmp_path):
    bad = tmp_path / "bad.env"
    bad.write_text("# ok\nGOOD=1\nexport BAD = 2\n")
    with pytest.raises(ValueError, match=r"bad\.env:3: expected KEY=VALUE"):
        infra.parse_env_file(bad)


def test_shell_and_python_read_the_same_settings():
    script = f'source "{infra.SCRIPTS / "lib.sh"}"; echo "$ORCH_TEST_PYTHON_IMAGE|$DAGSTER_VERSION"'
    env = {k: v for k, v in os.environ.items() if k not in infra.parse_env_file(infra.INFRA_ENV)}
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                         check=True)
    settings = infra.parse_env_file(infra.INFRA_ENV)
    expected = f"{settings['ORCH_TEST_PYTHON_IMAGE']}|{settings['DAGSTER_VERSION']}"
    assert out.stdout.strip() == expected


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_scripts_are_executable_and_parse(name):
    path = infra.SCRIPTS / name
    assert path.stat().st_mode & stat.S_IXUSR, f"{path} lost its executable bit"
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_ci_entry_point_runs_scripts_test():
    run = infra.REPO_ROOT / ".ci" / "run"
    assert run.stat().st_mode & stat.S_IXUSR, ".ci/run must be executable"
    text = run.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text and "scripts/test" in text


def test_scripts_test_fails_loudly_when_no_tests_are_collected():
    proc = subprocess.run(
        ["bash", str(infra.SCRIPTS / "test"), "-q", "-p", "no:cacheprovider",
         str(Path(__file__)), "-k", "no_test_has_this_name_" + uuid.uuid4().hex],
        capture_output=True,
        text=True,
        env={**os.environ, "ORCH_SKIP_SETUP": "1", "ORCH_PYTHON": sys.executable},
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "collected no tests (exit code 5)" in proc.stderr


def test_scripts_test_passes_pytest_failures_through(tmp_path):
    failing = tmp_path / "test_fails.py"
    failing.write_text("def test_fails():\n    assert 1 == 2\n")
    proc = subprocess.run(
        ["bash", str(infra.SCRIPTS / "test"), "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(failing)],
        capture_output=True,
        text=True,
        env={**os.environ, "ORCH_SKIP_SETUP": "1", "ORCH_PYTHON": sys.executable},
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed" in proc.stdout
    assert "FAILED: pytest exited 1" in proc.stderr


def test_tmp_home_sets_orchestrator_home(tmp_home):
    assert os.environ["ORCHESTRATOR_HOME"] == str(tmp_home)
    assert tmp_home.is_dir() and not any(tmp_home.iterdir())


def test_free_port_can_be_bound_and_wait_until_sees_it():
    import socket

    port = free_port()
    assert not port_open(port)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert wait_until(lambda: port_open(port), timeout=10, what=f"port {port}")


def test_wait_until_times_out_with_a_clear_message():
    with pytest.raises(TimeoutError, match="waiting for the impossible"):
        wait_until(lambda: False, timeout=0.1, interval=0.01, what="the impossible")


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def _run_docs_examples(tmp_path: Path, marker_filter: str) -> subprocess.CompletedProcess[str]:
    blocks = _python_blocks(DOCS.read_text())
    assert blocks, "docs/development.md should show how to use the shared fixtures"
    for i, code in enumerate(blocks):
        (tmp_path / f"test_doc_example_{i}.py").write_text(code)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "helpers.fixtures",
         "--rootdir", str(tmp_path), "-c", os.devnull, "-o", "markers=system", "-m", marker_filter,
         str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(infra.REPO_ROOT / "tests")},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def test_development_docs_python_examples_run(tmp_path):
    """Every ```python block in docs/development.md is a test module: run the fast ones."""
    proc = _run_docs_examples(tmp_path, "not system")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b2 passed", proc.stdout), proc.stdout


@pytest.mark.system
def test_development_docs_system_examples_run(tmp_path, docker_available, dagster_python):
    proc = _run_docs_examples(tmp_path, "system")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b2 passed", proc.stdout), proc.stdout
    assert "skipped" not in proc.stdout


def test_development_docs_name_only_existing_scripts():
    text = DOCS.read_text()
    for ref in set(re.findall(r"scripts/[\w.-]+", text)):
        assert (infra.REPO_ROOT / ref).exists(), f"docs/development.md mentions missing {ref}"


# ---- real infrastructure --------------------------------------------------------------------


@pytest.mark.system
def test_docker_engine_answers(docker_client):
    assert docker_client.ping() is True
    assert docker_client.version()["ApiVersion"]


@pytest.mark.system
def test_busybox_image_runs_a_shell(docker_client, test_images):
    token = uuid.uuid4().hex
    out = docker_client.containers.run(
        test_images.busybox, ["sh", "-c", f"echo {token} | rev; cat /etc/passwd | head -1"],
        remove=True,
    )
    lines = out.decode().splitlines()
    assert lines[0] == token[::-1]
    assert lines[1].startswith("root:")


@pytest.mark.system
def test_busybox_image_reports_exit_codes(docker_client, test_images):
    import docker

    with pytest.raises(docker.errors.ContainerError) as info:
        docker_client.containers.run(test_images.busybox, ["sh", "-c", "exit 7"], remove=True)
    assert info.value.exit_status == 7


@pytest.mark.system
def test_python_image_runs_python3(docker_client, test_images):
    token = uuid.uuid4().hex
    code = (
        "import json, sys; "
        "print(json.dumps({'v': sys.version_info[:2], 'n': sum(range(10)), "
        f"'t': '{token}'[::-1]}}))"
    )
    out = docker_client.containers.run(test_images.python, ["python3", "-c", code], remove=True)
    assert out.decode().strip() == f'{{"v": [3, 11], "n": 45, "t": "{token[::-1]}"}}'


@pytest.mark.system
def test_python_image_default_command_is_python3(docker_client, test_images):
    config = docker_client.images.get(test_images.python).attrs["Config"]
    assert config["Cmd"] == ["python3"]


@pytest.mark.system
def test_dagster_venv_has_pinned_versions(dagster_python):
    settings = infra.load_settings()
    code = (
        "import dagster, dagster_pipes, dagster_dbt, dbt.version; "
        "from importlib.metadata import version; "
        "print(dagster.__version__, version('dagster-pipes'), dagster_dbt.__version__, "
        "dbt.version.__version__)"
    )
    proc = subprocess.run(
        [str(dagster_python), "-W", "ignore", "-c", code], capture_output=True, text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    dagster_v, pipes_v, dbt_adapter_v, dbt_core_v = proc.stdout.split()
    assert dagster_v == settings["DAGSTER_VERSION"]
    assert pipes_v == settings["DAGSTER_PIPES_VERSION"]
    assert dbt_adapter_v == settings["DAGSTER_DBT_VERSION"]
    major, minor = (int(x) for x in dbt_core_v.split(".")[:2])
    assert (1, 8) <= (major, minor) < (1, 12)


@pytest.mark.system
def test_dagster_venv_runs_a_pipes_session(dagster_python, tmp_path):
    """dagster_pipes in the venv really speaks: open a session against file-based params."""
    import base64
    import json
    import zlib

    messages = tmp_path / "messages.jsonl"
    context = tmp_path / "context.json"
    context.write_text(json.dumps({"asset_keys": ["a"], "run_id": "r1", "extras": {"x": 1},
                                   "retry_number": 0, "job_name": None,
                                   "code_version_by_asset_key": None,
                                   "provenance_by_asset_key": None, "partition_key": None,
                                   "partition_key_range": None, "partition_time_window": None}))

    def encode(obj):
        return base64.b64encode(zlib.compress(json.dumps(obj).encode())).decode()

    env = {
        **os.environ,
        "DAGSTER_PIPES_CONTEXT": encode({"path": str(context)}),
        "DAGSTER_PIPES_MESSAGES": encode({"path": str(messages)}),
    }
    code = (
        "from dagster_pipes import open_dagster_pipes\n"
        "with open_dagster_pipes() as ctx:\n"
        "    ctx.report_asset_materialization(metadata={'n': ctx.extras['x'] + 1})\n"
    )
    proc = subprocess.run([str(dagster_python), "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    methods = [json.loads(line)["method"] for line in messages.read_text().splitlines()]
    assert methods[0] == "opened" and methods[-1] == "closed"
    assert "report_asset_materialization" in methods


@pytest.mark.system
def test_setup_scripts_are_noops_the_second_time(docker_available):
    for name, needle in (
        ("ensure-docker.sh", "docker engine answers"),
        ("build-test-images.sh", "present"),
        ("ensure-dagster-venv.sh", "up to date"),
    ):
        proc = infra.run_script(name)
        assert proc.returncode == 0, f"{name}: {proc.stderr}"
        assert needle in proc.stderr, f"{name} did work on a second run:\n{proc.stderr}"
        assert "apt-get" not in proc.stderr and "built " not in proc.stderr


# ---- fixtures skip outside CI but fail under CI ---------------------------------------------

_FIXTURE_PROBE = """
def test_needs_docker(docker_available):
    pass

def test_needs_dagster(dagster_python):
    pass
"""


def _run_probe(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(_FIXTURE_PROBE)
    env = {
        **os.environ,
        "CI": ci,
        "PYTHONPATH": str(infra.REPO_ROOT / "tests"),
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",  # no engine answers here
        "ORCH_DAGSTER_VENV": str(tmp_path / "no-venv"),
        "ORCH_VENV_BASE_PYTHON": str(tmp_path / "no-python"),  # so the venv cannot be created
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "-p", "helpers.fixtures",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
        timeout=300,
    )


def test_missing_infrastructure_is_a_skip_outside_ci(tmp_path):
    proc = _run_probe(tmp_path, ci="")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 skipped" in proc.stdout
    assert "Run scripts/ensure-docker.sh" in proc.stdout
    assert "Run scripts/ensure-dagster-venv.sh" in proc.stdout


def test_missing_infrastructure_is_a_failure_under_ci(tmp_path):
    proc = _run_probe(tmp_path, ci="true")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "2 errors" in proc.stdout or "2 error" in proc.stdout, proc.stdout
    assert "CI=true, so this is a failure, not a skip" in proc.stdout
    assert "skipped" not in proc.stdout


# ---- ensure-docker.sh's start-up logic, against a fake dockerd (the real engine is untouched) --

_FAKE_DOCKER = """#!/usr/bin/env bash
# fake docker client: 'info' answers once the fake dockerd has written $FAKE_DIR/up
if [[ "$1" == info || "$1" == version ]]; then
    [[ -f "$FAKE_DIR/up" ]] && { echo fake; exit 0; }
    echo "Cannot connect to the Docker daemon" >&2; exit 1
fi
exit 0
"""

_FAKE_DOCKERD = """#!/usr/bin/env bash
# fake dockerd: fails like a broken overlay2 unless given --storage-driver=vfs
echo "dockerd called with: $*" >> "$FAKE_DIR/calls"
if [[ "$FAKE_MODE" == vfs-works && "$*" == *--storage-driver=vfs* ]]; then
    touch "$FAKE_DIR/up"; exit 0
fi
if [[ "$FAKE_MODE" == vfs-works ]]; then
    echo 'failed to start daemon: error initializing graphdriver: driver not supported: overlay2'
else
    echo 'failed to start daemon: Error initializing network controller: iptables failed'
fi
exit 1
"""


def _run_ensure_docker_with_fakes(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    for name, text in (("docker", _FAKE_DOCKER), ("dockerd", _FAKE_DOCKERD), ("pgrep", "exit 1\n")):
        (fakebin / name).write_text(text if text.startswith("#!") else "#!/bin/sh\n" + text)
        (fakebin / name).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fakebin}:{os.environ['PATH']}",
        "FAKE_DIR": str(tmp_path),
        "FAKE_MODE": mode,
        "ORCH_DOCKERD_LOG": str(tmp_path / "dockerd.log"),
        "ORCH_DOCKERD_PIDFILE": str(tmp_path / "docker.pid"),
        "ORCH_DOCKER_TIMEOUT": "20",
    }
    env.pop("DOCKER_HOST", None)
    env.pop("ORCH_DOCKERD_ARGS", None)
    return subprocess.run(
        ["bash", str(infra.SCRIPTS / "ensure-docker.sh")], capture_output=True, text=True,
        env=env, stdin=subprocess.DEVNULL, timeout=120,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="ensure-docker.sh only starts dockerd as root")
def test_ensure_docker_retries_with_vfs_when_overlay2_fails(tmp_path):
    proc = _run_ensure_docker_with_fakes(tmp_path, "vfs-works")
    assert proc.returncode == 0, proc.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 2 and "--storage-driver=vfs" in calls[1]
    assert "retrying with --storage-driver=vfs" in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="ensure-docker.sh only starts dockerd as root")
def test_ensure_docker_shows_the_log_tail_when_dockerd_dies(tmp_path):
    proc = _run_ensure_docker_with_fakes(tmp_path, "always-fails")
    assert proc.returncode == 1
    assert "iptables failed" in proc.stderr  # the daemon's own words, from its log
    assert "ERROR: dockerd exited before answering" in proc.stderr
    assert "How to fix:" in proc.stderr


# ---- scripts/install_state.py ---------------------------------------------------------------


def _install_state(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(infra.SCRIPTS / "install_state.py"), *args],
        capture_output=True, text=True, timeout=120,
    )


def test_install_state_lists_every_extra_in_pyproject():
    import tomllib

    with (infra.REPO_ROOT / "pyproject.toml").open("rb") as f:
        defined = set(tomllib.load(f)["project"]["optional-dependencies"])
    proc = _install_state("extras")
    assert proc.returncode == 0
    assert set(proc.stdout.strip().split(",")) == defined
    assert {"dev", "all"} <= defined


def test_install_state_needs_install_without_a_stamp_and_not_after_writing_one(tmp_path):
    stamp = tmp_path / "stamp"
    proc = _install_state("check", str(stamp))
    assert proc.returncode == 1
    assert "changed since the last install" in proc.stdout
    assert _install_state("write", str(stamp)).returncode == 0
    proc = _install_state("check", str(stamp))
    # With a fresh stamp only real problems remain (none after ./scripts/test has installed).
    assert "changed since the last install" not in proc.stdout
    assert proc.returncode == (1 if proc.stdout.strip() else 0)
    stamp.write_text("stale")
    assert _install_state("check", str(stamp)).returncode == 1
