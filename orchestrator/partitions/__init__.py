"""Partitions of assets and jobs: definitions, mappings between assets and backfill policies.

::

    from orchestrator import DailyPartitionsDefinition, asset

    @asset(partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"))
    def events(context):
        start, end = context.partition_time_window
        ...

Import-light: only the standard library (cron parsing is imported on first use).
"""

from __future__ import annotations

from .definition import (
                         DailyPartitionsDefinition,
                         HourlyPartitionsDefinition,
                         MonthlyPartitionsDefinition,
                         MultiPartitionKey,
                         MultiPartitionsDefinition,
                         PartitionDimensionDefinition,
                         PartitionKeyRange,
                         PartitionsDefinition,
                         StaticPartitionsDefinition,
                         TimeWindow,
                         TimeWindowPartitionsDefinition,
                         WeeklyPartitionsDefinition,
                         contiguous_ranges,
                         time_window_of,
)
from .mapping import (
                         AllPartitionMapping,
                         IdentityPartitionMapping,
                         LastPartitionMapping,
                         MultiToSingleDimensionPartitionMapping,
                         PartitionMapping,
                         StaticPartitionMapping,
                         TimeWindowPartitionMapping,
                         default_partition_mapping,
                         upstream_partition_keys,
)
from .policy import BackfillPolicy, BackfillPolicyType

__all__ = [
    "AllPartitionMapping",
    "BackfillPolicy",
    "BackfillPolicyType",
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MonthlyPartitionsDefinition",
    "MultiPartitionKey",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionDimensionDefinition",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionsDefinition",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
    "contiguous_ranges",
    "default_partition_mapping",
    "time_window_of",
    "upstream_partition_keys",
]
