"""Shared pytest fixtures for real infrastructure; re-exported by ``tests/conftest.py``.

Under CI (``CI=true``) a missing engine, image or venv is a test FAILURE, so CI can never go
green by silently skipping the Docker and Dagster tests. Outside CI those tests are skipped with
a reason that says which script sets the missing piece up.

    @pytest.mark.system
    def test_echo(docker_client, test_images):
        out = docker_client.containers.run(test_images.busybox, ["echo", "hi"], remove=True)
        assert out == b"hi\\n"

    def test_home(tmp_home):
        assert os.environ["ORCHESTRATOR_HOME"] == str(tmp_home)

Outside ``tests/`` (e.g. benchmarks): ``PYTHONPATH=tests python -m pytest -p helpers.fixtures``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from helpers import infra

if TYPE_CHECKING:
    import docker

__all__ = [
    "dagster_python",
    "docker_available",
    "docker_client",
    "test_images",
    "tmp_home",
    "unavailable",
]


def unavailable(what: str, how_to_fix: str) -> NoReturn:
    """Skip (or, under CI, fail) a test whose infrastructure is missing."""
    if infra.in_ci():
        pytest.fail(f"{what} (CI=true, so this is a failure, not a skip). {how_to_fix}",
                    pytrace=False)
    pytest.skip(f"{what}. {how_to_fix}")


@pytest.fixture(scope="session")
def docker_available() -> bool:
    """True once ``docker info`` answers; skips (fails under CI) otherwise."""
    ok, reason = infra.docker_engine_answers()
    if not ok:
        unavailable(f"no Docker engine answers: {reason}",
                    "Run scripts/ensure-docker.sh (or ./scripts/test).")
    return True


@pytest.fixture(scope="session")
def docker_client(docker_available: bool) -> Iterator[docker.DockerClient]:
    """A ``docker.DockerClient`` from the environment (the ``docker`` extra), closed at the end."""
    try:
        import docker as docker_sdk
    except ImportError:
        unavailable(
            "the docker SDK is not installed",
            "pip install -e '.[docker]' (./scripts/test installs every extra).",
        )
    client = docker_sdk.from_env(timeout=120)
    try:
        client.ping()
        yield client
    finally:
        client.close()


def _missing_images(images: infra.TestImages) -> list[str]:
    missing = []
    for tag in images.all():
        proc = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", tag],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            missing.append(tag)
    return missing


@pytest.fixture(scope="session")
def test_images(docker_available: bool) -> infra.TestImages:
    """Tags of the local test images, built first (scripts/build-test-images.sh) if missing.

    ``test_images.busybox`` has a static busybox shell; ``test_images.python`` has python3 3.11.
    """
    images = infra.test_images()
    missing = _missing_images(images)
    if missing:
        proc = infra.run_script("build-test-images.sh")
        still = _missing_images(images)
        if still:
            unavailable(
                f"test images {', '.join(still)} are missing and building them failed:\n"
                f"{proc.stderr[-3000:]}",
                "Run scripts/build-test-images.sh and fix what it reports.",
            )
    return images


@pytest.fixture(scope="session")
def dagster_python() -> Path:
    """Path to the Dagster venv's python (pinned dagster, dagster-pipes, dagster-dbt, dbt).

    Runs scripts/ensure-dagster-venv.sh first: a no-op (~0.1 s) when the venv is current,
    a ~30 s install when it is missing or has the wrong versions.
    """
    proc = infra.run_script("ensure-dagster-venv.sh")
    python = infra.dagster_venv_python()
    if proc.returncode != 0 or not python.exists():
        unavailable(
            f"the Dagster venv at {infra.dagster_venv()} is not usable:\n{proc.stderr[-3000:]}",
            "Run scripts/ensure-dagster-venv.sh and fix what it reports.",
        )
    return python


@pytest.fixture
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory set as ``$ORCHESTRATOR_HOME`` for this test only."""
    home = tmp_path / "orchestrator-home"
    home.mkdir()
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(home))
    return home




@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 API on 127.0.0.1: a moto server, for the whole session (``http://127.0.0.1:PORT``).

    Tests point clients at it with ``AWS_ENDPOINT_URL`` and dummy credentials, and make their
    own uniquely named buckets."""
    server_mod = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    from helpers.net import free_port

    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
