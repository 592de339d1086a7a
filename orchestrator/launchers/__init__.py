"""Launchers: where external work runs. The contract is :mod:`orchestrator.launchers.base`
(one module, documented in its docstrings); :class:`SubprocessLauncher` is the first
implementation. Backends are registered through the ``register_launchers`` plugin hook::

    from orchestrator.launchers import get_launcher

    launcher = get_launcher("subprocess")()
"""

from __future__ import annotations

from typing import Any

from .base import Launched, Launcher, LaunchSpec, LaunchStatus, LogBatch

__all__ = ["LaunchSpec", "LaunchStatus", "Launched", "Launcher", "LogBatch",
           "SubprocessLauncher", "get_launcher"]


def get_launcher(name: str) -> Any:
    """The launcher class registered under *name* (through the plugin registry)."""
    from ..plugins import get_launcher as _get

    return _get(name)


def __getattr__(name: str) -> Any:
    if name == "SubprocessLauncher":
        from .subprocess import SubprocessLauncher

        return SubprocessLauncher
    raise AttributeError(f"module 'orchestrator.launchers' has no attribute {name!r}")
