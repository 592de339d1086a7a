"""A toy backend: the ``detached`` launcher (registered by this plugin's
``register_launchers`` hook).

It runs the command as a detached local process (its own session and process group) behind
a small shell wrapper that writes the command's exit code to a file. Because the exit code is
in a file, a reattached launcher (after the orchestrator restarted) still knows how the work
ended. Only the public launcher contract is used (``orchestrator.launchers``), so this file
is a model for real backends: replace "start a process" with "submit a job" and "read a
file" with "read the job's log API". It passes ``orchestrator.testing.launchers.
LauncherConformance`` (see ``tests/test_launcher.py``).

How it keeps the contract:

1. handle first: the wrapper waits for a ``go`` line on its stdin before running the
   command; the launcher writes it only after ``on_handle`` returned (and closes the pipe
   without it when ``on_handle`` raised, so the command never runs);
2. logs by cursor: stdout and stderr go to files; the cursor is their byte offsets;
3. status: the exit-code file, else whether the process still exists;
4. cancel: SIGTERM to the process group, SIGKILL after the grace period;
5. cleanup: the launch's directory is removed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any, ClassVar

from orchestrator import LauncherError
from orchestrator.launchers import Launched, Launcher, LaunchSpec, LaunchStatus, LogBatch

# Runs "$@" once a "go" line arrives on stdin, then records its exit code.
WRAPPER = (
    'IFS= read -r go || exit 125; [ "$go" = go ] || exit 125; '
    '"$@" </dev/null >"$DETACHED_DIR/stdout" 2>"$DETACHED_DIR/stderr"; '
    'code=$?; echo $code >"$DETACHED_DIR/exit_code.tmp"; '
    'mv "$DETACHED_DIR/exit_code.tmp" "$DETACHED_DIR/exit_code"'
)


class DetachedLauncher(Launcher):
    """Runs commands as detached local processes; exit codes survive a restart."""

    name: ClassVar[str] = "detached"

    def __init__(self) -> None:
        self._procs: dict[int, subprocess.Popen] = {}

    # -- launch ------------------------------------------------------------------------------
    def launch(self, spec: LaunchSpec, *, on_handle: Callable[[Launched], None]) -> Launched:
        if not spec.command:
            raise LauncherError("detached launcher: the command is empty; pass "
                                "command=['program', 'arg', ...]")
        directory = tempfile.mkdtemp(prefix="detached-")
        env = {**os.environ, **spec.env, "DETACHED_DIR": directory}
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", WRAPPER, "detached", *spec.command], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=spec.cwd,
                start_new_session=True)
        except OSError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise LauncherError(f"detached launcher: cannot start /bin/sh: {exc}") from exc
        self._procs[proc.pid] = proc
        handle = {"launcher": self.name, "pid": proc.pid, "dir": directory}
        launched = Launched(handle, log_locator=f"file://{directory}/stdout")
        try:
            on_handle(launched)
        except BaseException:
            proc.stdin.close()  # no "go": the command never runs
            proc.wait()
            self.cleanup(handle)
            raise
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        return launched

    # -- logs ------------------------------------------------------------------------------
    def read_logs(self, handle: dict[str, Any], cursor: Any, *, final: bool = False
                  ) -> LogBatch:
        cursor = dict(cursor or {"stdout": 0, "stderr": 0})
        lines: list[tuple[str, str]] = []
        for stream in ("stdout", "stderr"):
            try:
                with open(os.path.join(handle["dir"], stream), "rb") as fh:
                    fh.seek(cursor[stream])
                    data = fh.read()
            except FileNotFoundError:
                continue
            if not final:
                data = data[:data.rfind(b"\n") + 1]  # complete lines only
            cursor[stream] += len(data)
            text = data.decode("utf-8", "replace")
            lines += [(stream, line) for line in text.splitlines()]
        return LogBatch(lines, cursor)

    # -- status ----------------------------------------------------------------------------
    def poll(self, handle: dict[str, Any]) -> LaunchStatus:
        pid = handle["pid"]
        proc = self._procs.get(pid)
        if proc is not None:
            proc.poll()  # reap our own child, so that it does not linger as a zombie
        try:
            with open(os.path.join(handle["dir"], "exit_code")) as fh:
                code = int(fh.read())
            return LaunchStatus("exited", code, None if code == 0 else f"exit code {code}")
        except (FileNotFoundError, ValueError):
            pass
        if proc is not None and proc.returncode is None or proc is None and _alive(pid):
            return LaunchStatus("running")
        return LaunchStatus("exited", None, "stopped before recording an exit code")

    def wait(self, handle: dict[str, Any], timeout: float | None = None) -> LaunchStatus:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.poll(handle)
            if status.finished or deadline is not None and time.monotonic() >= deadline:
                return status
            time.sleep(0.02)

    # -- cancel / cleanup ----------------------------------------------------------------------
    def cancel(self, handle: dict[str, Any], grace_period: float = 10.0) -> LaunchStatus:
        pgid = handle["pid"]  # the wrapper leads its own process group
        for sig, wait in ((signal.SIGTERM, grace_period), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _group_alive(pgid):
                self.poll(handle)
                time.sleep(0.02)
            if not _group_alive(pgid):
                break
        return self.poll(handle)

    def cleanup(self, handle: dict[str, Any]) -> None:
        proc = self._procs.pop(handle["pid"], None)
        if proc is not None and proc.poll() is None:
            self._procs[handle["pid"]] = proc  # still running: keep reaping it
        shutil.rmtree(handle["dir"], ignore_errors=True)

    def reattach(self, handle: dict[str, Any]) -> LaunchStatus:
        if not isinstance(handle, dict) or handle.get("launcher") != self.name:
            raise LauncherError(f"detached launcher cannot reattach to {handle!r:.200}: not a "
                                f"detached handle; use the launcher named in it")
        if not os.path.isdir(handle.get("dir", "")):
            return LaunchStatus("unknown", None, f"launch directory {handle.get('dir')} is gone")
        return self.poll(handle)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # members may be zombies waiting for their parent (us): count only live ones
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
    return False
