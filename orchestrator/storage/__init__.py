"""Run storage: the contract (:class:`RunStorage`) and the embedded SQLite store.

``SqliteRunStorage`` and ``InMemoryRunStorage`` are imported on first use, so importing
this package stays cheap::

    from orchestrator.storage import SqliteRunStorage

    store = SqliteRunStorage(".orchestrator/runs.db")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AssetRecord, CheckRecord, PartitionStatus, RunStorage

if TYPE_CHECKING:
    from .sqlite import InMemoryRunStorage, SqliteRunStorage

__all__ = [
    "AssetRecord",
    "CheckRecord",
    "InMemoryRunStorage",
    "PartitionStatus",
    "RunStorage",
    "SqliteRunStorage",
]


def __getattr__(name: str) -> Any:
    if name in ("SqliteRunStorage", "InMemoryRunStorage"):
        from . import sqlite

        return getattr(sqlite, name)
    raise AttributeError(f"module 'orchestrator.storage' has no attribute {name!r}")
