"""The Docker backend's plugin module (entry point ``docker`` in the
``orchestrator.plugins`` group): registers the ``"docker"`` launcher, the
``pipes_docker_client`` resource and the ``orchestrator docker`` command group.
Everything is registered by import path, so loading the plugin imports neither the docker
SDK nor the launcher."""

from __future__ import annotations

from typing import Any

from orchestrator.plugins import hookimpl

ORCHESTRATOR_PLUGIN_API = 1


@hookimpl
def register_launchers(register: Any) -> None:
    register("docker", "orchestrator_docker.launcher:DockerLauncher",
             description="Run each launch as a Docker container (labelled, removed after use)")


@hookimpl
def register_resources(register: Any) -> None:
    register("pipes_docker_client", "orchestrator_docker.client:PipesDockerClient",
             description="Run images as containers speaking the pipes protocol")


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import docker_group

    cli.add_command(docker_group)
