"""Fixtures for the CLI tests: a temporary instance home and working directory, a runner
for the real ``orchestrator`` console script (``cli``), and a sample project.

Subprocesses import this working tree first (PYTHONPATH), whatever the editable install
points at.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import PROJECT, Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    return Cli(tmp_path / "home", work)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write("proj/defs.py", source)`` writes dedented source under tmp_path/work."""

    def _write(rel: str, source: str) -> Path:
        path = tmp_path / "work" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def project(write: Callable[[str, str], Path]) -> Path:
    return write("proj/defs.py", PROJECT)
