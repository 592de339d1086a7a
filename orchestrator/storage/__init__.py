"""Run storage: the contract (:class:`RunStorage`) and the embedded SQLite store."""

from .base import AssetRecord, CheckRecord, PartitionStatus, RunStorage

__all__ = ["AssetRecord", "CheckRecord", "PartitionStatus", "RunStorage"]
