"""The plugin template's toy backend (examples/plugin-template, the ``detached`` launcher)
passes the public conformance suite, run here from the repository."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "plugin-template"
if str(TEMPLATE) not in sys.path:
    sys.path.insert(0, str(TEMPLATE))

# the template is not installed: these imports need TEMPLATE on sys.path first
import orchestrator_notify  # noqa: E402
from orchestrator_notify.launcher import DetachedLauncher  # noqa: E402

from orchestrator.launchers import LaunchSpec  # noqa: E402
from orchestrator.plugins import plugin_registered, reset_plugins  # noqa: E402
from orchestrator.testing.launchers import LauncherConformance  # noqa: E402


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "")
    reset_plugins()
    with plugin_registered(orchestrator_notify, name="notify"):
        yield
    reset_plugins()


class TestTemplateLauncherConformance(LauncherConformance):
    python = sys.executable

    @pytest.fixture
    def launcher(self):
        return DetachedLauncher()

    def make_spec(self, script: str, tmp_path: Path) -> LaunchSpec:
        return LaunchSpec(command=["sh", "-c", script], cwd=str(tmp_path))
