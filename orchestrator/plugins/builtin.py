"""The orchestrator's own features, registered through the plugin system.

Loaded first (it is in ``DEFAULT_PLUGINS``), so third-party plugins can replace any of
these names with ``register(name, obj, override=True)``. Objects are registered as import
paths: nothing here is imported until it is used.
"""

from __future__ import annotations

from typing import Any

from .hookspecs import hookimpl

ORCHESTRATOR_PLUGIN_API = 1


@hookimpl
def register_io_managers(register: Any) -> None:
    register(
        "fs",
        "orchestrator.io_managers.fs:FilesystemIOManager",
        description="Pickled values in files under the instance's storage directory",
    )
    register(
        "memory",
        "orchestrator.io_managers.memory:InMemoryIOManager",
        description="Values kept in memory, for one process (tests, in-process runs)",
    )
