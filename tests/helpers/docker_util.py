"""Helpers shared by the Docker tests (importable as ``helpers.docker_util`` from any test;
``from conftest import ...`` is ambiguous when several directories have a conftest)."""

from __future__ import annotations

from typing import Any

#: Labels every test container gets, so a session can remove its leftovers.
TEST_LABELS = {"test": "1"}


def container_exists(client: Any, container_id: str) -> bool:
    import docker

    try:
        client.containers.get(container_id)
        return True
    except docker.errors.NotFound:
        return False
