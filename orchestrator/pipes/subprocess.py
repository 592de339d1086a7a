"""``PipesSubprocessClient``: run a command as a subprocess from an asset or op (Dagster's
shape, so code moves by changing the import)::

    from orchestrator import asset, materialize
    from orchestrator.pipes import PipesSubprocessClient

    @asset
    def orders(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(
            command=["python", "orders.py"], context=context, extras={"limit": 10},
        ).get_results()

    materialize([orders], resources={"pipes_subprocess_client": PipesSubprocessClient()})

The process is started through the ``subprocess`` launcher (its handle is stored before it
runs), its stdout and stderr are streamed into the run's event log line by line, and the
run fails unless the process exited 0, opened and closed the protocol session without an
exception and reported every selected asset and check (see
:meth:`~orchestrator.pipes.session.PipesSession.check_outcome`). Interrupting the run
terminates the process group (SIGTERM, then SIGKILL after the grace period).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import PipesError
from .context import PipesContextInjector
from .readers import LineParser, PipesMessageReader
from .session import PipesSession, open_pipes_session

__all__ = ["PipesClientCompletedInvocation", "PipesSubprocessClient"]


class PipesClientCompletedInvocation:
    """What :meth:`PipesSubprocessClient.run` returns: the finished session's results."""

    def __init__(self, session: PipesSession, *, implicit_materializations: bool) -> None:
        self.session = session
        self._implicit = implicit_materializations

    @property
    def exit_code(self) -> int | None:
        return getattr(self.session.status, "exit_code", None)

    def get_results(self, *, implicit_materializations: bool | None = None) -> list[Any]:
        """MaterializeResults and AssetCheckResults to return from the asset."""
        implicit = self._implicit if implicit_materializations is None else \
            implicit_materializations
        return self.session.get_results(implicit_materializations=implicit)

    def get_materialize_result(self, *, implicit_materializations: bool | None = None) -> Any:
        """The one MaterializeResult (with its check results attached); an error when the
        step materializes several assets."""
        from ..results import AssetCheckResult, MaterializeResult

        results = self.get_results(implicit_materializations=implicit_materializations)
        mats = [r for r in results if isinstance(r, MaterializeResult)]
        if len(mats) != 1:
            raise PipesError(
                f"get_materialize_result() needs exactly one materialization, got {len(mats)} "
                f"({[r.asset_key.to_user_string() for r in mats]}); use get_results() for "
                f"multi-assets")
        mats[0].check_results = [r for r in results if isinstance(r, AssetCheckResult)]
        return mats[0]

    def get_asset_check_result(self) -> Any:
        from ..results import AssetCheckResult

        checks = [r for r in self.get_results() if isinstance(r, AssetCheckResult)]
        if len(checks) != 1:
            raise PipesError(f"get_asset_check_result() needs exactly one check result, got "
                             f"{len(checks)}; use get_results()")
        return checks[0]

    def get_custom_messages(self) -> list[Any]:
        """Payloads of ``report_custom_message``, in order."""
        return self.session.get_custom_messages()


class PipesSubprocessClient:
    """A resource that runs commands as local subprocesses speaking the pipes protocol.

    Constructor settings apply to every run: ``env`` (added to this process's environment),
    ``cwd``, ``context_injector`` / ``message_reader`` (defaults: temp files),
    ``termination_grace_period`` (seconds between SIGTERM and SIGKILL on cancel),
    ``line_parser`` (how stdout/stderr lines become leveled log events),
    ``heartbeat_interval`` (advertised to clients; a client that sent heartbeats and then
    stays silent for three intervals gets a WARNING event: it may be hung).
    """

    #: Marks the class as a resource for annotation-based injection
    #: (``def my_asset(context, client: PipesSubprocessClient)``).
    __orchestrator_resource__ = True

    def __init__(self, env: Mapping[str, str] | None = None, cwd: str | None = None, *,
                 context_injector: PipesContextInjector | None = None,
                 message_reader: PipesMessageReader | None = None,
                 termination_grace_period: float = 10.0,
                 line_parser: LineParser | None = None,
                 heartbeat_interval: float = 30.0) -> None:
        self.env = dict(env or {})
        self.cwd = cwd
        self.context_injector = context_injector
        self.message_reader = message_reader
        self.termination_grace_period = termination_grace_period
        self.line_parser = line_parser
        self.heartbeat_interval = heartbeat_interval

    def run(self, *, context: Any, command: str | Sequence[str],
            extras: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
            cwd: str | os.PathLike[str] | None = None, protocol_aware: bool = True,
            implicit_materializations: bool = False,
            context_injector: PipesContextInjector | None = None,
            message_reader: PipesMessageReader | None = None,
            line_parser: LineParser | None = None,
            termination_grace_period: float | None = None) -> PipesClientCompletedInvocation:
        """Run *command* (an argv list, or a string run by ``/bin/sh -c``) for the step of
        *context* and wait for it; raises :class:`PipesError` when it failed.

        ``protocol_aware=False`` declares a command that does not speak the protocol: then
        its exit code decides and the selected assets are materialized implicitly (it may
        still report through the protocol). ``implicit_materializations=True`` counts a
        clean exit as materializing the selected assets it did not report.
        """
        from ..launchers.base import LaunchSpec
        from ..launchers.subprocess import SubprocessLauncher

        if isinstance(command, str) and command.strip():
            argv = ["/bin/sh", "-c", command]
        elif isinstance(command, Sequence) and command and all(
                isinstance(c, (str, os.PathLike)) for c in command):
            argv = [os.fspath(c) for c in command]
        else:
            raise PipesError(f"PipesSubprocessClient.run(command=...) must be a non-empty "
                             f"list of strings (or one shell string), got {command!r:.200}")
        grace = self.termination_grace_period if termination_grace_period is None else \
            termination_grace_period
        launcher = SubprocessLauncher()
        with open_pipes_session(
                context, extras=dict(extras) if isinstance(extras, Mapping) else extras,
                context_injector=context_injector or self.context_injector,
                message_reader=message_reader or self.message_reader,
                line_parser=line_parser or self.line_parser,
                heartbeat_interval=self.heartbeat_interval) as session:
            spec = LaunchSpec(command=argv, env={**self.env, **dict(env or {})},
                              cwd=os.fspath(cwd) if cwd is not None else self.cwd)
            try:
                session.launch(launcher, spec)
                session.wait(grace)  # cancels the process group if interrupted
            except BaseException as exc:
                if session.handle is not None and session.status is None:
                    session.cancel(grace, reason=f"{type(exc).__name__}: {exc}")
                raise
        session.check_outcome(protocol_aware=protocol_aware,
                              implicit_materializations=implicit_materializations)
        return PipesClientCompletedInvocation(
            session, implicit_materializations=implicit_materializations or not protocol_aware)
