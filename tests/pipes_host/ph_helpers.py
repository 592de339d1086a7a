"""Shared helpers for the host-side pipes tests: child scripts written to files, assets that
run them through PipesSubprocessClient, and event queries. Every test runs real processes."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


def child_env() -> dict[str, str]:
    """Environment additions so a child can ``import pipes_client``."""
    return {"PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _script_fixture(tmp_path: Path):
    """``script("body")`` writes a Python file (dedented) and returns its path."""
    counter = [0]

    def make(body: str, name: str | None = None) -> str:
        counter[0] += 1
        path = tmp_path / (name or f"child_{counter[0]}.py")
        path.write_text(textwrap.dedent(body))
        return str(path)

    return make


def _client_fixture():
    from orchestrator.pipes import PipesSubprocessClient

    return PipesSubprocessClient(env=child_env(), termination_grace_period=5.0)


def events(result: Any, etype: str | None = None) -> list[Any]:
    evs = result.all_events
    return [e for e in evs if etype is None or e.event_type.value == etype]


def messages(result: Any, etype: str = "LOG") -> list[str]:
    return [e.message for e in events(result, etype)]


def failure_text(result: Any) -> str:
    fails = result.get_step_failure_events()
    assert fails, "expected a step failure"
    err = fails[0].data["error"]
    return f"{err['type']}: {err['message']}"
