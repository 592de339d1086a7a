"""A conformance suite for launchers: subclass it in a test module and every contract rule of
:mod:`orchestrator.launchers.base` is tested against your backend::

    # tests/test_my_launcher.py
    import pytest
    from orchestrator.launchers import LaunchSpec
    from orchestrator.launchers.conformance import LauncherConformance
    from my_backend import MyLauncher

    class TestMyLauncher(LauncherConformance):
        @pytest.fixture
        def launcher(self):
            return MyLauncher()

        def make_spec(self, script, tmp_path):
            return LaunchSpec(command=["sh", "-c", script], options={"image": "busybox"})

Scripts are POSIX shell snippets (``sh -c``), so a backend needs only a shell in its image.
This class checks the raw :class:`~orchestrator.launchers.base.Launcher` API only; the public
suite :class:`orchestrator.testing.launchers.LauncherConformance` extends it with whole pipes
sessions through the launcher (subclass that one). The suite needs pytest; it is imported
only by tests.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ..errors import LauncherError
from .base import Launched, Launcher, LaunchSpec

__all__ = ["LauncherConformance"]


def _collect(launcher: Launcher, handle: dict[str, Any]) -> list[tuple[str, str]]:
    return launcher.read_logs(handle, None, final=True).lines


class LauncherConformance:
    """Subclass with a ``launcher`` fixture and :meth:`make_spec`."""

    #: Seconds a backend may need to start trivial work (raise for slow platforms).
    timeout: float = 60.0

    def make_spec(self, script: str, tmp_path: Path) -> LaunchSpec:
        """A LaunchSpec running the shell snippet *script*."""
        raise NotImplementedError

    def launch(self, launcher: Launcher, script: str, tmp_path: Path,
               record: list[Launched] | None = None) -> Launched:
        sink = record if record is not None else []
        return launcher.launch(self.make_spec(script, tmp_path), on_handle=sink.append)

    # -- tests -------------------------------------------------------------------------------
    def test_success_and_logs(self, launcher: Launcher, tmp_path: Path) -> None:
        recorded: list[Launched] = []
        launched = self.launch(launcher, "echo out1; echo err1 >&2; echo out2", tmp_path,
                               recorded)
        assert recorded == [launched]
        import json

        json.dumps(launched.handle)  # JSON-serialisable
        assert launched.handle["launcher"] == launcher.name
        status = launcher.wait(launched.handle, self.timeout)
        assert status.state == "exited" and status.exit_code == 0 and status.succeeded
        lines = _collect(launcher, launched.handle)
        assert [t for s, t in lines if s == "stdout"] == ["out1", "out2"]
        assert [t for s, t in lines if s == "stderr"] == ["err1"]
        launcher.cleanup(launched.handle)

    def test_failure_by_exit_code(self, launcher: Launcher, tmp_path: Path) -> None:
        launched = self.launch(launcher, "echo boom >&2; exit 3", tmp_path)
        status = launcher.wait(launched.handle, self.timeout)
        assert status.exit_code == 3 and not status.succeeded
        assert status.stop_reason and "3" in status.stop_reason
        assert launcher.tail(launched.handle, 5, "stderr") == ["boom"]
        launcher.cleanup(launched.handle)

    def test_handle_recorded_before_work_starts(self, launcher: Launcher,
                                                tmp_path: Path) -> None:
        marker = tmp_path / "started"
        seen: list[bool] = []

        def on_handle(launched: Launched) -> None:
            time.sleep(0.3)  # work released too early would have created the marker by now
            seen.append(marker.exists())

        spec = self.make_spec(f"echo > {marker}", tmp_path)
        launched = launcher.launch(spec, on_handle=on_handle)
        launcher.wait(launched.handle, self.timeout)
        assert seen == [False]
        assert marker.exists()
        launcher.cleanup(launched.handle)

    def test_on_handle_failure_means_nothing_runs(self, launcher: Launcher,
                                                  tmp_path: Path) -> None:
        marker = tmp_path / "ran"

        def on_handle(launched: Launched) -> None:
            raise RuntimeError("store is down")

        with pytest.raises(RuntimeError, match="store is down"):
            launcher.launch(self.make_spec(f"echo > {marker}", tmp_path), on_handle=on_handle)
        time.sleep(0.3)
        assert not marker.exists()

    def test_logs_by_cursor_and_final_partial_line(self, launcher: Launcher,
                                                   tmp_path: Path) -> None:
        launched = self.launch(launcher, "echo a; echo b; printf c", tmp_path)
        launcher.wait(launched.handle, self.timeout)
        first = launcher.read_logs(launched.handle, None)
        assert [t for _s, t in first.lines] == ["a", "b"]
        again = launcher.read_logs(launched.handle, first.cursor)
        assert again.lines == []
        final = launcher.read_logs(launched.handle, first.cursor, final=True)
        assert final.lines == [("stdout", "c")]
        launcher.cleanup(launched.handle)

    def test_cancel_with_grace_then_force(self, launcher: Launcher, tmp_path: Path) -> None:
        launched = self.launch(launcher, "trap '' TERM; echo ready; sleep 300 & wait; "
                                         "sleep 300", tmp_path)
        deadline = time.monotonic() + self.timeout
        while not _collect(launcher, launched.handle) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert launcher.poll(launched.handle).state == "running"
        status = launcher.cancel(launched.handle, grace_period=0.5)
        assert status.finished
        assert launcher.poll(launched.handle).finished
        assert launcher.cancel(launched.handle, 0.5).finished  # no-op on finished work
        launcher.cleanup(launched.handle)

    def test_cleanup_is_idempotent(self, launcher: Launcher, tmp_path: Path) -> None:
        launched = self.launch(launcher, "echo x", tmp_path)
        launcher.wait(launched.handle, self.timeout)
        launcher.cleanup(launched.handle)
        launcher.cleanup(launched.handle)

    def test_reattach_from_a_fresh_launcher(self, launcher: Launcher, tmp_path: Path) -> None:
        gate = tmp_path / "gate"
        launched = self.launch(
            launcher, f"echo one; while [ ! -e {gate} ]; do sleep 0.05; done; echo two",
            tmp_path)
        deadline = time.monotonic() + self.timeout
        while not _collect(launcher, launched.handle) and time.monotonic() < deadline:
            time.sleep(0.02)
        first = launcher.read_logs(launched.handle, None)
        assert [t for _s, t in first.lines] == ["one"]
        other = type(launcher)()
        assert other.reattach(launched.handle).state == "running"
        gate.write_text("")
        status = other.wait(launched.handle, self.timeout)
        assert status.finished
        rest = other.read_logs(launched.handle, first.cursor, final=True)
        assert [t for _s, t in rest.lines] == ["two"]
        other.cleanup(launched.handle)
        launcher.wait(launched.handle, self.timeout)
        launcher.cleanup(launched.handle)

    def test_reattach_rejects_foreign_handles(self, launcher: Launcher) -> None:
        with pytest.raises(LauncherError):
            launcher.reattach({"launcher": "definitely-not-" + launcher.name})
