"""Backfill policies: how many partitions of an asset one run may cover."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import DefinitionError

__all__ = ["BackfillPolicy", "BackfillPolicyType"]


class BackfillPolicyType(str, Enum):
    SINGLE_RUN = "SINGLE_RUN"
    MULTI_RUN = "MULTI_RUN"


@dataclass(frozen=True)
class BackfillPolicy:
    """``BackfillPolicy.single_run()``: a backfill covers a contiguous range of partitions
    in one run (the asset reads ``context.partition_key_range`` /
    ``context.partition_time_window``); ``BackfillPolicy.multi_run(max_partitions_per_run=10)``
    splits it into runs of at most that many partitions. Without a policy, one run per
    partition."""

    max_partitions_per_run: int | None = 1

    @classmethod
    def single_run(cls) -> BackfillPolicy:
        return cls(max_partitions_per_run=None)

    @classmethod
    def multi_run(cls, max_partitions_per_run: int = 1) -> BackfillPolicy:
        if not isinstance(max_partitions_per_run, int) or max_partitions_per_run < 1:
            raise DefinitionError(f"BackfillPolicy.multi_run: max_partitions_per_run must be a "
                                  f"positive int, got {max_partitions_per_run!r}")
        return cls(max_partitions_per_run=max_partitions_per_run)

    @property
    def policy_type(self) -> BackfillPolicyType:
        return (BackfillPolicyType.SINGLE_RUN if self.max_partitions_per_run is None
                else BackfillPolicyType.MULTI_RUN)
