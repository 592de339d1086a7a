"""The Docker launcher passes the public launcher conformance suite on the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.docker_util import TEST_LABELS, container_exists

from orchestrator.launchers import LaunchSpec
from orchestrator.testing.launchers import LauncherConformance


class TestDockerConformance(LauncherConformance):
    python = "python3"

    @pytest.fixture
    def launcher(self, docker_client, docker_images):
        from orchestrator_docker import DockerLauncher

        self._client = docker_client
        self._image = docker_images.python
        return DockerLauncher()

    def make_spec(self, script: str, tmp_path: Path) -> LaunchSpec:
        return LaunchSpec(command=["sh", "-c", script], cwd=str(tmp_path), labels=TEST_LABELS,
                          options={"image": self._image, "pull_policy": "never",
                                   "volumes": {str(tmp_path): str(tmp_path)}})

    def leftovers(self, launcher, handle):
        found = super().leftovers(launcher, handle)
        if container_exists(self._client, handle["container_id"]):
            found.append(f"container {handle['container_name']}")
        return found
