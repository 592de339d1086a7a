"""The conformance suite fails launchers that break the contract: each broken launcher here
differs from the subprocess launcher by one bug, and the case meant to catch it fails."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from orchestrator.launchers import LaunchSpec, SubprocessLauncher
from orchestrator.testing.launchers import LauncherConformance


class Suite(LauncherConformance):
    python = sys.executable
    timeout = 20.0

    def make_spec(self, script: str, tmp_path: Path) -> LaunchSpec:
        return LaunchSpec(command=["sh", "-c", script], cwd=str(tmp_path))


class KillsOnlyTheLeader(SubprocessLauncher):
    groups: ClassVar[list[int]] = []

    def cancel(self, handle, grace_period=10.0):
        self.groups.append(int(handle["pid"]))
        try:
            os.kill(int(handle["pid"]), signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.wait(handle, 5)


class LeavesFilesBehind(SubprocessLauncher):
    def cleanup(self, handle):
        pass


class DropsTheLastPartialLine(SubprocessLauncher):
    def read_logs(self, handle, cursor, *, final=False):
        return super().read_logs(handle, cursor, final=False)


class DuplicatesLines(SubprocessLauncher):
    def read_logs(self, handle, cursor, *, final=False):
        batch = super().read_logs(handle, cursor, final=final)
        batch.lines = [x for line in batch.lines for x in (line, line)]
        return batch


@pytest.mark.parametrize(("broken", "case"), [
    (KillsOnlyTheLeader, "test_cancel_leaves_nothing_running"),
    (LeavesFilesBehind, "test_cleanup_leaves_nothing_behind"),
    (DropsTheLastPartialLine, "test_logs_by_cursor_and_final_partial_line"),
    (DuplicatesLines, "test_pipes_large_messages"),
])
def test_the_suite_catches(broken, case, tmp_path):
    launcher = broken()
    kwargs = {"channel": "file"} if case == "test_pipes_large_messages" else {}
    try:
        with pytest.raises(AssertionError):
            getattr(Suite(), case)(launcher, tmp_path, **kwargs)
    finally:
        for pgid in KillsOnlyTheLeader.groups:  # what the broken cancel left running
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    # the unbroken launcher passes the same case
    (tmp_path / "ok").mkdir()
    getattr(Suite(), case)(SubprocessLauncher(), tmp_path / "ok", **kwargs)
