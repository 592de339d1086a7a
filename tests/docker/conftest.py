"""Fixtures for the Docker backend tests: every test here talks to the real engine (marked
``system``; under ``CI=true`` a missing engine fails instead of skipping, see the root
conftest). Containers created by a test are removed by label at the end of the session."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/docker/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
def docker_images(docker_client, test_images):
    """The local test images (busybox shell image, Debian Python 3.11 image)."""
    return test_images


#: Labels every test container carries (spec.labels -> "orchestrator.test=1"), so a failed
#: test's containers are removed at the end of the session.
from helpers.docker_util import TEST_LABELS, container_exists  # noqa: E402,F401 (re-exported)


@pytest.fixture(scope="session", autouse=True)
def _remove_leftover_test_containers():
    yield
    try:
        import docker

        client = docker.from_env()
        for c in client.containers.list(all=True, filters={"label": "orchestrator.test=1"}):
            c.remove(force=True)
        client.close()
    except Exception:  # noqa: BLE001, S110 - no engine: nothing to remove
        pass

