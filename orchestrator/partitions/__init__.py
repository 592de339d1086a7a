"""Partitions of assets and jobs."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["PartitionKeyRange"]


class PartitionKeyRange(NamedTuple):
    """An inclusive range of partition keys: ``PartitionKeyRange("2024-01-01", "2024-01-31")``."""

    start: str
    end: str
