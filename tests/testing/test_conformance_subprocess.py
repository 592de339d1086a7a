"""The built-in subprocess launcher passes the public conformance suite
(``orchestrator.testing.launchers.LauncherConformance``), end to end through pipes sessions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestrator.launchers import LaunchSpec, SubprocessLauncher
from orchestrator.testing.launchers import LauncherConformance


class TestSubprocessConformance(LauncherConformance):
    python = sys.executable

    @pytest.fixture
    def launcher(self):
        return SubprocessLauncher()

    def make_spec(self, script: str, tmp_path: Path) -> LaunchSpec:
        return LaunchSpec(command=["sh", "-c", script], cwd=str(tmp_path))
