"""The launcher contract: what every backend (subprocess, Docker, ECS, Databricks...) implements.

A launcher starts external work, tells the orchestrator how to find it again, streams its
logs, reports its status, cancels it and cleans up after it. The pipes session
(:mod:`orchestrator.pipes`) drives a launcher; user code rarely calls one directly::

    from orchestrator.launchers import LaunchSpec, get_launcher

    launcher = get_launcher("subprocess")()
    spec = LaunchSpec(command=["python", "job.py"], env={"A": "1"})
    launched = launcher.launch(spec, on_handle=lambda handle: print("record", handle))
    status = launcher.wait(launched.handle)
    batch = launcher.read_logs(launched.handle, None, final=True)
    launcher.cleanup(launched.handle)

The rules, which the conformance suite checks for every backend:

1. **Handle first.** :meth:`Launcher.launch` calls ``on_handle(handle)`` exactly once,
   *before the work starts doing anything meaningful*, and only continues once it returned;
   the session stores the handle in the run store (an ``EXTERNAL_LAUNCHED`` event) in that
   call. If ``on_handle`` raises, the launcher undoes the launch and re-raises. A handle is a
   JSON object (plain ``dict``) from which :meth:`Launcher.reattach` can find the work again
   from another process: a pid with its start time, a container id, a task ARN, a job run id.
2. **Logs by cursor.** :meth:`Launcher.read_logs` returns the complete lines written since
   a JSON-serialisable cursor and a new cursor. The session stores the cursor with the
   events it made from those lines (in the same transaction), so a reattached session
   resumes exactly where the stored events end: nothing lost, nothing duplicated. With
   ``final=True`` (after the work ended) a last line without a newline is returned too.
3. **Status.** :meth:`Launcher.poll` never blocks; :meth:`Launcher.wait` blocks until the
   work ends or the timeout passes. A finished status carries the exit code (``None`` when
   the backend cannot know it, e.g. after reattaching to a process that is not our child)
   and, on failure, a stop reason ("exit code 3", "OOMKilled", "task stopped: ...").
4. **Cancel.** :meth:`Launcher.cancel` asks the work to stop (SIGTERM, ``docker stop``,
   ``StopTask``), waits up to the grace period, then forces it (SIGKILL, kill, terminate).
   Nothing the launch started may be left running. Canceling finished work is a no-op.
5. **Clean up.** :meth:`Launcher.cleanup` removes everything the launch created
   (containers, temporary files, uploaded objects). Idempotent.
6. **Describe.** :meth:`Launcher.describe` gives the console URL and log locator of a
   handle where they exist; they are recorded with the handle.

Errors are :class:`~orchestrator.errors.LauncherError` naming the launcher, the work and how
to fix the problem. This module is the whole contract: nothing in it is specific to one
backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["LaunchSpec", "LaunchStatus", "Launched", "Launcher", "LogBatch"]

#: A handle: a JSON object describing launched work (always has ``"launcher"``: the name).
Handle = dict[str, Any]


@dataclass
class LaunchSpec:
    """What to launch.

    ``command`` is the argv (or the container command); ``env`` the complete environment
    additions, including the bootstrap variables (``DAGSTER_PIPES_CONTEXT`` ...);
    ``bootstrap`` the same bootstrap params as a mapping (for backends that pass them as
    arguments or in an API payload instead of the environment); ``labels`` identify the work
    (``run_id``, ``step_key``, ``asset``) for backends that can tag what they create;
    ``workdir`` a private directory the launch may use for its files (logs), which the session
    keeps until the work is collected; ``options`` backend-specific settings (image, volumes).
    """

    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    bootstrap: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Launched:
    """The result of :meth:`Launcher.launch`: the recorded handle and what describes it."""

    handle: Handle
    console_url: str | None = None
    log_locator: str | None = None


@dataclass
class LaunchStatus:
    """Where launched work stands. ``state`` is ``"running"``, ``"exited"`` or ``"unknown"``
    (the work cannot be found any more). ``stop_reason`` says why it ended when it failed."""

    state: str
    exit_code: int | None = None
    stop_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def succeeded(self) -> bool:
        """Ended with exit code 0 (``False`` while running or when the code is unknown)."""
        return self.state == "exited" and self.exit_code == 0


@dataclass
class LogBatch:
    """Lines read by :meth:`Launcher.read_logs`: ``(stream, text)`` pairs in the order they were
    read (``stream`` is ``"stdout"`` or ``"stderr"``; ``text`` has no line ending), and the
    cursor to pass next time."""

    lines: list[tuple[str, str]]
    cursor: Any


class Launcher(ABC):
    """A backend: launches external work and watches it. Subclass and implement every
    abstract method; set :attr:`name` to the kind users write (``"subprocess"``).

    Launchers are registered through the ``register_launchers`` plugin hook and looked up
    with ``orchestrator.plugins.get_launcher(name)``. An instance holds configuration only;
    all per-launch state lives in handles, so one instance serves many launches and a fresh
    instance in a new process can :meth:`reattach`.
    """

    #: The backend kind, e.g. ``"subprocess"`` or ``"docker"``.
    name: ClassVar[str] = ""

    @abstractmethod
    def launch(self, spec: LaunchSpec, *, on_handle: Callable[[Launched], None]) -> Launched:
        """Start the work described by *spec* and return its :class:`Launched`.

        Call ``on_handle(launched)`` once the handle is known and before the work starts
        (rule 1 of the module docstring); if it raises, stop the work, clean up and re-raise.
        Raise :class:`~orchestrator.errors.LauncherError` when the work cannot be started
        (command not found, image missing, daemon down), saying how to fix it.
        """

    @abstractmethod
    def read_logs(self, handle: Handle, cursor: Any, *, final: bool = False) -> LogBatch:
        """Complete stdout/stderr lines since *cursor* (``None``: from the start), without
        blocking. With ``final=True`` also a trailing partial line. The returned cursor is
        JSON-serialisable and is stored by the session with the events made from the lines.
        """

    @abstractmethod
    def poll(self, handle: Handle) -> LaunchStatus:
        """The current status, without blocking."""

    @abstractmethod
    def wait(self, handle: Handle, timeout: float | None = None) -> LaunchStatus:
        """Block until the work ends (or *timeout* seconds pass: then the status is running).

        Must return promptly when the calling thread is interrupted (KeyboardInterrupt or
        a signal handler raising): wait in short slices."""

    @abstractmethod
    def cancel(self, handle: Handle, grace_period: float = 10.0) -> LaunchStatus:
        """Ask the work to stop, wait up to *grace_period* seconds, then force it. Returns the
        final status (state ``"exited"`` or ``"unknown"``). No-op on finished work."""

    @abstractmethod
    def cleanup(self, handle: Handle) -> None:
        """Remove everything this launch created. Idempotent; never raises for things that
        are already gone."""

    @abstractmethod
    def reattach(self, handle: Handle) -> LaunchStatus:
        """Find recorded work again (from another process, after a restart) and return its
        status; afterwards :meth:`read_logs`, :meth:`poll`, :meth:`wait`, :meth:`cancel` and
        :meth:`cleanup` accept *handle*. Raises :class:`~orchestrator.errors.LauncherError`
        if the handle is not one of this launcher's."""

    def describe(self, handle: Handle) -> dict[str, str | None]:
        """``{"console_url": ..., "log_locator": ...}`` for a handle (``None`` where there is
        none). Override when the backend has a console or a log location."""
        return {"console_url": None, "log_locator": None}

    def tail(self, handle: Handle, lines: int = 20, stream: str | None = None) -> list[str]:
        """The last *lines* lines of the work's logs (``stream`` ``"stdout"``/``"stderr"``, or
        both when ``None``), for failure reports. The default reads every log line; backends
        with a cheaper way should override."""
        batch = self.read_logs(handle, None, final=True)
        picked = [text for s, text in batch.lines if stream is None or s == stream]
        return picked[-lines:]
