"""Fixtures of the host-side pipes tests (helpers live in ``ph_helpers``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ph_helpers


@pytest.fixture
def script(tmp_path: Path):
    """``script("body")`` writes a dedented Python file and returns its path."""
    return ph_helpers._script_fixture(tmp_path)


@pytest.fixture
def client():
    """A PipesSubprocessClient whose children can import pipes_client."""
    return ph_helpers._client_fixture()
