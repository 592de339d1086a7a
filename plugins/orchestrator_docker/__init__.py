"""orchestrator-docker: the Docker backend (a first-party plugin, ``pip install
'orchestrator[docker]'``).

- :class:`DockerLauncher`: the ``"docker"`` launcher (containers on a Docker engine);
- :class:`PipesDockerClient`: the resource assets use (Dagster's shape);
- ``orchestrator docker cleanup``: removes leftover containers of finished runs
  (:func:`find_leftovers` / :func:`remove_leftovers`).

::

    from orchestrator_docker import PipesDockerClient

    @asset
    def report(context, pipes_docker_client: PipesDockerClient):
        return pipes_docker_client.run(image="python:3.11-slim",
                                       command=["python", "-c", "print(1)"],
                                       context=context, protocol_aware=False).get_results()

Nothing heavy is imported until used: the docker SDK only when a container is launched.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DockerLauncher", "PipesDockerClient", "find_leftovers", "remove_leftovers"]

_WHERE = {"DockerLauncher": "launcher", "PipesDockerClient": "client",
          "find_leftovers": "cleanup", "remove_leftovers": "cleanup"}


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'orchestrator_docker' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
