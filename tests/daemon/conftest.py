from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator.code_location import CodeLocationOrigin
from orchestrator.daemon import Daemon, ManualClock
from orchestrator.instance import Instance

HEADER = """
from orchestrator import *
from orchestrator.schedules import *
from orchestrator.partitions import *
"""


@pytest.fixture
def instance(tmp_path):
    inst = Instance.from_home(tmp_path / "home")
    yield inst
    inst.close()


@pytest.fixture
def write_defs(tmp_path):
    """write_defs(source) -> CodeLocationOrigin of a definitions file holding ``source``."""
    counter = iter(range(1000))

    def make(source: str, name: str | None = None) -> CodeLocationOrigin:
        path = tmp_path / f"{name or f'defs_{next(counter)}'}.py"
        path.write_text(HEADER + textwrap.dedent(source))
        return CodeLocationOrigin.for_file(str(path))

    return make


@pytest.fixture
def make_daemon(instance):
    """make_daemon(origin, clock=..., **kwargs) -> Daemon (runs stay QUEUED unless
    run_queue=True)."""

    def make(origin, clock=None, **kwargs):
        kwargs.setdefault("run_queue", False)
        return Daemon.for_origins(instance, [origin], clock=clock or ManualClock(
            "2024-01-01T00:00:00Z"), **kwargs)

    return make


@pytest.fixture
def wait_for():
    """wait_for(predicate, timeout=60): poll until predicate() is truthy (no timing asserts)."""
    return _wait_for


def _wait_for(predicate, timeout=60.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["ORCHESTRATOR_HOME"] = str(home)
    return env
