"""The ``detached`` launcher passes the orchestrator's launcher conformance suite: every
rule of the launcher contract, end to end through pipes sessions with real processes.

Subclassing ``LauncherConformance`` is all it takes; run with ``pytest``.
"""

from __future__ import annotations

import sys

import orchestrator_notify
import pytest
from orchestrator_notify.launcher import DetachedLauncher

from orchestrator.launchers import LaunchSpec
from orchestrator.plugins import get_launcher, plugin_registered, reset_plugins
from orchestrator.testing.launchers import LauncherConformance


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """This plugin registered from its module (reattaching looks launchers up by name)."""
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "")
    reset_plugins()
    with plugin_registered(orchestrator_notify, name="notify"):
        yield
    reset_plugins()


class TestDetachedLauncher(LauncherConformance):
    python = sys.executable  # the work runs on this machine, with this interpreter

    @pytest.fixture
    def launcher(self):
        return DetachedLauncher()

    def make_spec(self, script, tmp_path):
        return LaunchSpec(command=["sh", "-c", script], cwd=str(tmp_path))


def test_registered_under_its_name():
    assert get_launcher("detached") is DetachedLauncher


def test_exit_code_survives_a_restart(tmp_path):
    first = DetachedLauncher()
    launched = first.launch(LaunchSpec(["sh", "-c", "exit 5"]), on_handle=lambda _l: None)
    first.wait(launched.handle, 30)
    again = DetachedLauncher()  # a new orchestrator process knows nothing of the child
    status = again.reattach(launched.handle)
    assert (status.state, status.exit_code) == ("exited", 5)
    again.cleanup(launched.handle)
