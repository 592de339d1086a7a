"""Test helpers for plugin and backend authors (public API; they need pytest only where
noted):

- :class:`orchestrator.testing.launchers.LauncherConformance`: the launcher conformance
  suite to subclass in your tests (imports pytest);
- :class:`PipesTestContext`: a stand-in asset context for driving a pipes session outside
  a run, collecting the events it emits.

::

    from orchestrator.testing import PipesTestContext
    from orchestrator.testing.launchers import LauncherConformance

Attributes are imported on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LauncherConformance", "PipesTestContext", "run_in_session"]

_WHERE = {"LauncherConformance": "launchers", "run_in_session": "launchers",
          "PipesTestContext": "pipes"}


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'orchestrator.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
