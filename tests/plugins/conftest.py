"""Fixtures for plugin tests: a clean plugin manager, and real installed distributions.

``make_dist`` writes a real distribution (``<name>-<version>.dist-info`` with METADATA and
entry_points.txt, plus the plugin module) into a fresh directory; putting that directory
on ``sys.path`` (or PYTHONPATH for subprocesses) makes ``importlib.metadata`` find it
exactly as it finds a pip-installed package.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from plugin_helpers import ENV_VARS, unique, write_dist

from orchestrator.plugins import manager, reset_plugins


@pytest.fixture(autouse=True)
def clean_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no plugin manager, no built-in plugins and no installed
    plugins selected (the machine's installed plugins must not change results)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(manager.ENV_PLUGINS, "")
    monkeypatch.setattr(manager, "DEFAULT_PLUGINS", ())  # test_plugins_builtin.py covers them
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def make_dist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[str, str]]:
    """``make_dist(source, ...) -> (entry point name, module name)``; the dist is on
    sys.path for the rest of the test. ``entry_value`` may use ``{module}``."""

    site = tmp_path / "site"

    def make(
        source: str,
        *,
        name: str | None = None,
        version: str = "1.0",
        entry_point: str | None = None,
        entry_value: str | None = None,
    ) -> tuple[str, str]:
        module = unique("plugmod")
        dist_name = name or unique("plugdist").replace("_", "-")
        write_dist(
            site, dist_name, module, source, version=version,
            entry_point=entry_point,
            entry_value=entry_value.format(module=module) if entry_value else None,
        )
        if str(site) not in sys.path:
            monkeypatch.syspath_prepend(str(site))
        else:
            import importlib

            importlib.invalidate_caches()
        return entry_point or dist_name, module

    return make
