"""The local-subprocess launcher: runs a command as a child process on this machine.

How it keeps the launcher contract (:mod:`orchestrator.launchers.base`):

- **Handle before work.** The command is started behind a gate: ``/bin/sh`` is spawned in a
  new session (its own process group) and blocks reading one line from a pipe; only after
  ``on_handle`` returned (the session has stored the ``EXTERNAL_LAUNCHED`` event with the pid)
  does the launcher write ``go`` and the shell ``exec``\\ s the command, keeping the pid. If
  the orchestrator dies before releasing the gate, the pipe closes and the shell exits 125
  without running anything. The gate costs one ``sh`` exec (about a millisecond).
- **Handle.** ``{"launcher": "subprocess", "pid", "start_time", "host", "workdir",
  "stdout", "stderr", "command"}``; ``start_time`` (from ``/proc/<pid>/stat``) tells a reused
  pid from ours when reattaching.
- **Logs.** stdout and stderr go to files in the launch's work directory, never to pipes: a
  chatty child can never block on a full pipe, the child survives an orchestrator crash
  (no SIGPIPE), and a reattached session resumes reading at the stored byte offsets.
- **Cancel.** SIGTERM to the whole process group, then SIGKILL after the grace period; the
  group is also killed when its leader ended but left processes behind.

::

    from orchestrator.launchers import LaunchSpec, SubprocessLauncher

    launcher = SubprocessLauncher()
    launched = launcher.launch(LaunchSpec(["echo", "hi"]), on_handle=lambda l: None)
    assert launcher.wait(launched.handle).exit_code == 0
    assert launcher.read_logs(launched.handle, None, final=True).lines == [("stdout", "hi")]
    launcher.cleanup(launched.handle)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any, ClassVar

from ..errors import LauncherError
from ._files import FileTail, read_tail_lines
from .base import Handle, Launched, Launcher, LaunchSpec, LaunchStatus, LogBatch

__all__ = ["SubprocessLauncher"]

#: The gate reads "go" from stdin (a pipe from us), then runs the command with stdin from
#: /dev/null. (stdin because dash only redirects single-digit descriptors.)
_GATE = 'IFS= read -r go; [ "$go" = go ] || exit 125; exec "$@" </dev/null'


def _proc_start_time(pid: int) -> int | None:
    """Start time of *pid* in clock ticks since boot (``None`` if it does not exist)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    try:
        if fields[0] in (b"Z", b"X"):  # zombie or dead: the work has ended
            return None
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class SubprocessLauncher(Launcher):
    """Runs commands as local child processes (see the module docstring for the details).

    ``SubprocessLauncher()`` needs no configuration; a launch's
    ``LaunchSpec.options["inherit_env"]`` (default ``True``) says whether the child starts
    from this process's environment.
    """

    name: ClassVar[str] = "subprocess"

    def __init__(self) -> None:
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._tails: dict[tuple[int, str], FileTail] = {}

    # -- launch ------------------------------------------------------------------------
    def launch(self, spec: LaunchSpec, *, on_handle: Callable[[Launched], None]) -> Launched:
        command = [str(c) for c in spec.command]
        if not command:
            raise LauncherError("subprocess launcher: the command is empty; pass command=[...]"
                                " with the program first, e.g. ['python', 'job.py']")
        env = dict(os.environ) if spec.options.get("inherit_env", True) else {}
        env.update({str(k): str(v) for k, v in spec.env.items()})
        cwd = spec.cwd
        if cwd is not None and not os.path.isdir(cwd):
            raise LauncherError(f"subprocess launcher: working directory {cwd!r} does not "
                                f"exist; create it or pass another cwd=")
        program = command[0]
        if os.sep in program:
            path = program if os.path.isabs(program) or cwd is None else os.path.join(cwd,
                                                                                      program)
            found = path if os.path.isfile(path) and os.access(path, os.X_OK) else None
        else:
            found = shutil.which(program, path=env.get("PATH", os.defpath))
        if found is None:
            raise LauncherError(
                f"subprocess launcher: cannot run {program!r}: not found or not executable"
                f" (PATH={env.get('PATH', os.defpath)!r}, cwd={cwd!r}); install it, give its "
                f"full path, or fix PATH in env=")
        owns = spec.workdir is None
        workdir = spec.workdir or tempfile.mkdtemp(prefix="orch-launch-")
        os.makedirs(workdir, exist_ok=True)
        out_path = os.path.join(workdir, "stdout.log")
        err_path = os.path.join(workdir, "stderr.log")
        gate_r, gate_w = os.pipe()
        try:
            with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
                proc = subprocess.Popen(
                    ["/bin/sh", "-c", _GATE, "orchestrator-gate", *command],
                    stdin=gate_r, stdout=out_f, stderr=err_f, env=env, cwd=cwd,
                    start_new_session=True, close_fds=True)
        except OSError as exc:
            os.close(gate_r)
            os.close(gate_w)
            if owns:
                shutil.rmtree(workdir, ignore_errors=True)
            raise LauncherError(f"subprocess launcher: cannot start {command!r}: {exc}") from exc
        os.close(gate_r)
        self._procs[proc.pid] = proc
        released = False
        try:
            handle: Handle = {
                "launcher": self.name, "pid": proc.pid,
                "start_time": _proc_start_time(proc.pid), "host": socket.gethostname(),
                "workdir": workdir, "owns_workdir": owns, "stdout": out_path,
                "stderr": err_path, "command": command,
            }
            launched = Launched(handle=handle, **self.describe(handle))
            on_handle(launched)
            try:
                os.write(gate_w, b"go\n")
                released = True
            except OSError as exc:
                proc.wait()
                tail = read_tail_lines(err_path, 5)
                raise LauncherError(f"subprocess launcher: the launch gate of {command!r} "
                                    f"died before the command ran ({exc}); stderr: {tail}"
                                    ) from exc
        except BaseException:
            # on_handle failed (or we were interrupted): the gate sees EOF, nothing runs
            os.close(gate_w)
            gate_w = -1
            if not released:
                proc.wait()
                self._procs.pop(proc.pid, None)
                self.cleanup({"pid": proc.pid, "workdir": workdir, "owns_workdir": owns})
            raise
        finally:
            if gate_w >= 0:
                os.close(gate_w)
        return launched

    def describe(self, handle: Handle) -> dict[str, str | None]:
        return {"console_url": None,
                "log_locator": f"file://{handle['stdout']} file://{handle['stderr']}"}

    # -- logs ----------------------------------------------------------------------------
    def read_logs(self, handle: Handle, cursor: Any, *, final: bool = False) -> LogBatch:
        cursor = dict(cursor or {})
        lines: list[tuple[str, str]] = []
        pid = int(handle["pid"])
        for stream in ("stdout", "stderr"):
            tail = self._tails.get((pid, stream))
            if tail is None:
                tail = self._tails[(pid, stream)] = FileTail(handle[stream])
            tail.offset = int(cursor.get(stream, tail.offset if cursor else 0))
            got, cursor[stream] = tail.read(final)
            if got:
                lines.extend((stream, ln) for ln in got)
        return LogBatch(lines, cursor)

    def tail(self, handle: Handle, lines: int = 20, stream: str | None = None) -> list[str]:
        if stream is not None:
            return read_tail_lines(handle[stream], lines)
        return (read_tail_lines(handle["stdout"], lines)
                + read_tail_lines(handle["stderr"], lines))[-lines:]

    # -- status ----------------------------------------------------------------------------
    def _status_of(self, proc: subprocess.Popen[bytes]) -> LaunchStatus:
        code = proc.returncode
        if code is None:
            return LaunchStatus("running")
        if code == 0:
            return LaunchStatus("exited", 0)
        if code < 0:
            return LaunchStatus("exited", code, f"killed by {_signal_name(code)}")
        return LaunchStatus("exited", code, f"exit code {code}")

    def _foreign_alive(self, handle: Handle) -> bool:
        if handle.get("host") not in (None, socket.gethostname()):
            raise LauncherError(
                f"subprocess launcher: process {handle.get('pid')} runs on host "
                f"{handle.get('host')!r}, not on this one ({socket.gethostname()!r}); "
                f"reattach from that machine")
        start = _proc_start_time(int(handle["pid"]))
        return start is not None and (handle.get("start_time") in (None, start))

    def poll(self, handle: Handle) -> LaunchStatus:
        proc = self._procs.get(int(handle["pid"]))
        if proc is not None:
            proc.poll()
            return self._status_of(proc)
        if self._foreign_alive(handle):
            return LaunchStatus("running")
        return LaunchStatus("exited", None)

    def wait(self, handle: Handle, timeout: float | None = None) -> LaunchStatus:
        proc = self._procs.get(int(handle["pid"]))
        if proc is not None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            return self._status_of(proc)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._foreign_alive(handle):
            if deadline is not None and time.monotonic() >= deadline:
                return LaunchStatus("running")
            time.sleep(0.02)
        return LaunchStatus("exited", None)

    # -- cancel / cleanup ----------------------------------------------------------------
    @staticmethod
    def _killpg(pgid: int, sig: int) -> bool:
        try:
            os.killpg(pgid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def _group_alive(self, pgid: int) -> bool:
        return self._killpg(pgid, 0)

    def cancel(self, handle: Handle, grace_period: float = 10.0) -> LaunchStatus:
        pid = int(handle["pid"])
        if self.poll(handle).state == "running":
            self._killpg(pid, signal.SIGTERM)
            status = self.wait(handle, grace_period)
            if status.state == "running":
                self._killpg(pid, signal.SIGKILL)
                status = self.wait(handle, 5.0)
        # the leader ended: give the rest of its group the remaining grace, then kill it
        deadline = time.monotonic() + min(grace_period, 2.0)
        while self._group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._killpg(pid, signal.SIGKILL)
        return self.poll(handle)

    def cleanup(self, handle: Handle) -> None:
        pid = int(handle["pid"])
        for stream in ("stdout", "stderr"):
            tail = self._tails.pop((pid, stream), None)
            if tail is not None:
                tail.close()
        proc = self._procs.get(pid)
        if proc is not None and proc.returncode is not None:
            self._procs.pop(pid, None)
        if handle.get("owns_workdir"):
            shutil.rmtree(handle["workdir"], ignore_errors=True)

    def reattach(self, handle: Handle) -> LaunchStatus:
        if not isinstance(handle, dict) or handle.get("launcher") != self.name or "pid" not in \
                handle:
            raise LauncherError(
                f"subprocess launcher cannot reattach to {handle!r:.200}: not a subprocess "
                f"handle (needs launcher='subprocess' and pid); use the launcher named in it")
        return self.poll(handle)
