"""``PipesDockerClient``: run a step's external process in a Docker container (Dagster's
shape, so code moves by changing the import)::

    from orchestrator import asset, materialize
    from orchestrator_docker import PipesDockerClient

    @asset
    def orders(context, pipes_docker_client: PipesDockerClient):
        return pipes_docker_client.run(
            image="python:3.11-slim",
            command=["python", "/app/orders.py"],
            volumes={"/srv/app": {"bind": "/app", "mode": "ro"}},
            context=context,
            extras={"limit": 10},
        ).get_results()

    materialize([orders], resources={"pipes_docker_client": PipesDockerClient()})

The container is started through the ``docker`` launcher (:class:`DockerLauncher`): its
handle is stored before it starts, its stdout and stderr are streamed into the run's event
log, and it is removed once logs and messages are collected. By default the context travels
in the ``DAGSTER_PIPES_CONTEXT`` environment variable and messages through a file in a
bind-mounted directory; ``message_reader=PipesStdioMessageReader()`` sends them through the
container's log stream instead (for engines that cannot see this machine's files).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.errors import PipesError

__all__ = ["PipesDockerClient"]

#: ``container_kwargs`` keys (Dagster's, for ``containers.create``) that are launcher options.
_AS_OPTIONS = {"volumes": "volumes", "working_dir": "working_dir", "user": "user",
               "network": "network", "network_mode": "network", "mem_limit": "mem_limit",
               "entrypoint": "entrypoint", "name": "name", "init": "init"}


def _env_dict(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    out = {}
    for item in value or ():
        key, _, val = str(item).partition("=")
        out[key] = val
    return out


class PipesDockerClient:
    """A resource that runs images as containers speaking the pipes protocol.

    Constructor settings apply to every run: ``env`` (added to each container's
    environment), ``registry`` (``{"url", "username", "password"}`` for pulls),
    ``context_injector`` (default :class:`~orchestrator.pipes.PipesEnvContextInjector`),
    ``message_reader`` (default: a file in a bind-mounted directory),
    ``pull_policy`` (``"never"``, ``"if_missing"``, ``"always"``), ``keep_on_failure``,
    ``termination_grace_period`` (seconds between SIGTERM and SIGKILL on cancel),
    ``base_url`` (the engine; default ``DOCKER_HOST``), ``line_parser``, and ``defaults``:
    launcher options used when a run does not set them (``network``, ``mem_limit``...).
    """

    __orchestrator_resource__ = True

    def __init__(self, env: Mapping[str, str] | None = None, *,
                 registry: Mapping[str, Any] | None = None,
                 context_injector: Any = None, message_reader: Any = None,
                 pull_policy: str = "if_missing", keep_on_failure: bool = False,
                 termination_grace_period: float = 10.0, base_url: str | None = None,
                 line_parser: Any = None, defaults: Mapping[str, Any] | None = None) -> None:
        self.env = dict(env or {})
        self.registry = dict(registry) if registry else None
        self.context_injector = context_injector
        self.message_reader = message_reader
        self.pull_policy = pull_policy
        self.keep_on_failure = keep_on_failure
        self.termination_grace_period = termination_grace_period
        self.base_url = base_url
        self.line_parser = line_parser
        self.defaults = dict(defaults or {})
        self._launcher: Any = None

    @property
    def launcher(self) -> Any:
        """The :class:`DockerLauncher` this client launches with (created on first use)."""
        if self._launcher is None:
            from .launcher import DockerLauncher

            self._launcher = DockerLauncher(self.base_url)
        return self._launcher

    def run(self, *, context: Any, image: str, command: str | Sequence[str] | None = None,
            extras: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
            registry: Mapping[str, Any] | None = None,
            container_kwargs: Mapping[str, Any] | None = None,
            volumes: Any = None, working_dir: str | None = None, user: str | None = None,
            network: str | None = None, mem_limit: str | int | None = None,
            cpus: float | None = None, pull_policy: str | None = None,
            keep_on_failure: bool | None = None, protocol_aware: bool = True,
            implicit_materializations: bool = False, context_injector: Any = None,
            message_reader: Any = None, line_parser: Any = None,
            termination_grace_period: float | None = None) -> Any:
        """Run *image* (with *command*: an argv list, a string run by ``/bin/sh -c``, or
        ``None`` for the image's own command) for the step of *context*, wait for it and
        return a :class:`~orchestrator.pipes.PipesClientCompletedInvocation`; raises
        :class:`~orchestrator.errors.PipesError` when it failed (non-zero exit, OOM kill,
        an exception, no ``opened``/``closed``, unreported assets).

        ``protocol_aware=False`` declares a program that does not speak the protocol: its
        exit code decides and the selected assets are materialized implicitly.
        ``container_kwargs`` (Dagster's name): ``volumes``, ``working_dir``, ``user``,
        ``network``, ``mem_limit``, ``entrypoint``, ``name`` and ``environment`` are taken as
        the options of the same meaning; other keys go to Docker's host config as they are
        (``shm_size``, ``devices``, ``cap_add``...).
        Interrupting the run stops the container (SIGTERM, then SIGKILL after the grace
        period) and removes it.
        """
        from orchestrator.launchers.base import LaunchSpec
        from orchestrator.pipes import (
            PipesClientCompletedInvocation,
            PipesEnvContextInjector,
            open_pipes_session,
        )

        if isinstance(command, str):
            argv: list[str] | None = ["/bin/sh", "-c", command]
        elif command is None:
            argv = None
        elif isinstance(command, Sequence) and command and all(isinstance(c, str)
                                                               for c in command):
            argv = list(command)
        else:
            raise PipesError(f"PipesDockerClient.run(command=...) must be a list of strings, "
                             f"one shell string or None (the image's CMD), got "
                             f"{command!r:.200}")
        options: dict[str, Any] = dict(self.defaults)
        extra_env: dict[str, str] = {}
        host_kwargs: dict[str, Any] = {}
        for key, value in dict(container_kwargs or {}).items():
            # Dagster's container_kwargs go to containers.create(); take the ones that are
            # launcher options as such, the rest to the host config
            if key in _AS_OPTIONS:
                options[_AS_OPTIONS[key]] = value
            elif key == "environment":
                extra_env.update(_env_dict(value))
            else:
                host_kwargs[key] = value
        given = {"image": image, "volumes": volumes, "working_dir": working_dir, "user": user,
                 "network": network, "mem_limit": mem_limit, "cpus": cpus,
                 "registry": registry or self.registry,
                 "pull_policy": pull_policy or options.get("pull_policy") or self.pull_policy,
                 "keep_on_failure": self.keep_on_failure if keep_on_failure is None
                 else keep_on_failure,
                 "container_kwargs": host_kwargs or None}
        options.update({k: v for k, v in given.items() if v is not None})
        grace = self.termination_grace_period if termination_grace_period is None else \
            termination_grace_period
        launcher = self.launcher
        with open_pipes_session(
                context, extras=dict(extras or {}),
                context_injector=context_injector or self.context_injector
                or PipesEnvContextInjector(),
                message_reader=message_reader or self.message_reader,
                line_parser=line_parser or self.line_parser) as session:
            spec = LaunchSpec(command=argv or [],
                              env={**self.env, **extra_env, **dict(env or {})},
                              options=options)
            session.launch(launcher, spec)
            session.wait(grace)
        session.check_outcome(protocol_aware=protocol_aware,
                              implicit_materializations=implicit_materializations)
        return PipesClientCompletedInvocation(
            session, implicit_materializations=implicit_materializations or not protocol_aware)
