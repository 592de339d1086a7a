"""The subprocess launcher against the launcher contract (the public conformance suite), plus
what is specific to it: the gate, process groups, errors, handles."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from orchestrator import LauncherError
from orchestrator.launchers import LaunchSpec, SubprocessLauncher
from orchestrator.launchers.conformance import LauncherConformance
from orchestrator.launchers.subprocess import _proc_start_time


class TestSubprocessLauncher(LauncherConformance):
    @pytest.fixture
    def launcher(self):
        return SubprocessLauncher()

    def make_spec(self, script: str, tmp_path: Path) -> LaunchSpec:
        return LaunchSpec(command=["sh", "-c", script], cwd=str(tmp_path))


def test_registered_through_the_plugin_system():
    from orchestrator.plugins import get_context_injector, get_launcher, get_message_channel

    assert get_launcher("subprocess") is SubprocessLauncher
    from orchestrator.pipes import (
        PipesChunkedMessageReader,
        PipesEnvContextInjector,
        PipesFileMessageReader,
        PipesStdioMessageReader,
        PipesTempFileContextInjector,
        PipesUrlContextInjector,
    )

    assert get_message_channel("file") is PipesFileMessageReader
    assert get_message_channel("stdio") is PipesStdioMessageReader
    assert get_message_channel("chunked") is PipesChunkedMessageReader
    assert get_context_injector("temp_file") is PipesTempFileContextInjector
    assert get_context_injector("env") is PipesEnvContextInjector
    assert get_context_injector("url") is PipesUrlContextInjector


def test_handle_identifies_the_process(tmp_path):
    launcher = SubprocessLauncher()
    launched = launcher.launch(LaunchSpec(["sleep", "5"]), on_handle=lambda _l: None)
    h = launched.handle
    assert h["start_time"] == _proc_start_time(h["pid"])
    assert launched.log_locator.startswith("file://")
    # a handle whose start time does not match (a reused pid) is not "running"
    fake = dict(h, start_time=h["start_time"] + 1)
    assert SubprocessLauncher().poll(fake).state == "exited"
    launcher.cancel(h, 1)
    launcher.cleanup(h)
    assert not os.path.exists(h["workdir"])


def test_cancel_kills_processes_left_by_the_leader(tmp_path):
    pidfile = tmp_path / "bg"
    launcher = SubprocessLauncher()
    launched = launcher.launch(LaunchSpec(["sh", "-c", f"sleep 300 & echo $! > {pidfile}"]),
                               on_handle=lambda _l: None)
    assert launcher.wait(launched.handle, 30).exit_code == 0
    bg = int(pidfile.read_text())
    assert _proc_start_time(bg) is not None  # the leader left a process behind
    launcher.cancel(launched.handle, 0.2)
    for _ in range(500):
        if _proc_start_time(bg) is None:
            break
        time.sleep(0.01)
    assert _proc_start_time(bg) is None


def test_environment_and_cwd(tmp_path):
    launcher = SubprocessLauncher()
    launched = launcher.launch(LaunchSpec(["sh", "-c", "echo $GREETING; pwd"],
                                          env={"GREETING": "hi"}, cwd=str(tmp_path)),
                               on_handle=lambda _l: None)
    launcher.wait(launched.handle)
    lines = launcher.read_logs(launched.handle, None, final=True).lines
    assert lines == [("stdout", "hi"), ("stdout", str(tmp_path))]
    launcher.cleanup(launched.handle)


def test_bad_input_errors_say_how_to_fix(tmp_path):
    launcher = SubprocessLauncher()
    with pytest.raises(LauncherError, match="command is empty"):
        launcher.launch(LaunchSpec([]), on_handle=lambda _l: None)
    with pytest.raises(LauncherError, match="working directory .* does not exist"):
        launcher.launch(LaunchSpec(["true"], cwd=str(tmp_path / "nope")),
                        on_handle=lambda _l: None)
    with pytest.raises(LauncherError, match="not found or not executable"):
        launcher.launch(LaunchSpec(["./missing.sh"], cwd=str(tmp_path)),
                        on_handle=lambda _l: None)
    with pytest.raises(LauncherError, match="not a subprocess handle"):
        launcher.reattach({"launcher": "docker", "container": "abc"})
