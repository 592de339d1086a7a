"""orchestrator: a slim data orchestrator whose heart is a language-agnostic protocol for
running work in external processes.

The public API follows Dagster's names and shapes::

    from orchestrator import asset, Definitions, materialize, AssetSelection, define_asset_job

    @asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    @asset
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    assert materialize([numbers, total]).success

Names are imported lazily on first use, so ``import orchestrator`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → module that defines it (imported on first access)
_EXPORTS: dict[str, str] = {
    # assets
    "AssetCheckKey": "orchestrator.assets.spec",
    "AssetCheckSpec": "orchestrator.assets.spec",
    "AssetDep": "orchestrator.assets.spec",
    "AssetIn": "orchestrator.assets.spec",
    "AssetOut": "orchestrator.assets.spec",
    "AssetSpec": "orchestrator.assets.spec",
    "AssetsDefinition": "orchestrator.assets.definition",
    "AssetChecksDefinition": "orchestrator.assets.definition",
    "AssetSelection": "orchestrator.assets.selection",
    "asset": "orchestrator.assets.decorators",
    "asset_check": "orchestrator.assets.decorators",
    "multi_asset": "orchestrator.assets.decorators",
    "AssetKey": "orchestrator.asset_key",
    # results
    "AssetCheckEvaluation": "orchestrator.results",
    "AssetCheckResult": "orchestrator.results",
    "AssetCheckSeverity": "orchestrator.results",
    "AssetMaterialization": "orchestrator.results",
    "DynamicOutput": "orchestrator.results",
    "Failure": "orchestrator.results",
    "MaterializeResult": "orchestrator.results",
    "Output": "orchestrator.results",
    "RetryRequested": "orchestrator.results",
    "MetadataValue": "orchestrator.metadata",
    "TableColumn": "orchestrator.metadata",
    "TableRecord": "orchestrator.metadata",
    "TableSchema": "orchestrator.metadata",
    # ops, graphs, jobs
    "DynamicOut": "orchestrator.ops",
    "In": "orchestrator.ops",
    "OpDefinition": "orchestrator.ops",
    "Out": "orchestrator.ops",
    "op": "orchestrator.ops",
    "GraphDefinition": "orchestrator.graphs",
    "JobDefinition": "orchestrator.graphs",
    "graph": "orchestrator.graphs",
    "job": "orchestrator.graphs",
    "Backoff": "orchestrator.retry",
    "Jitter": "orchestrator.retry",
    "RetryPolicy": "orchestrator.retry",
    # definitions
    "Definitions": "orchestrator.definitions",
    "define_asset_job": "orchestrator.definitions",
    # execution
    "materialize": "orchestrator.execution.api",
    "materialize_to_memory": "orchestrator.execution.api",
    "execute_job": "orchestrator.execution.api",
    "reexecute_run": "orchestrator.execution.api",
    "resume_run": "orchestrator.execution.resume",
    "ExecutionResult": "orchestrator.execution.result",
    "AssetExecutionContext": "orchestrator.execution.context",
    "AssetCheckExecutionContext": "orchestrator.execution.context",
    "OpExecutionContext": "orchestrator.execution.context",
    "build_asset_context": "orchestrator.execution.direct",
    "build_op_context": "orchestrator.execution.direct",
    "in_process_executor": "orchestrator.execution.executors",
    "multiprocess_executor": "orchestrator.execution.executors",
    # config, resources, types
    "Config": "orchestrator.config",
    "ConfigurableResource": "orchestrator.config",
    "EnvVar": "orchestrator.config",
    "Field": "orchestrator.config",
    "RunConfig": "orchestrator.config",
    "PermissiveConfig": "orchestrator.config",
    "Noneable": "orchestrator.config",
    "Permissive": "orchestrator.config",
    "Shape": "orchestrator.config",
    "InitResourceContext": "orchestrator.resources",
    "ResourceDefinition": "orchestrator.resources",
    "build_init_resource_context": "orchestrator.resources",
    "build_resources": "orchestrator.resources",
    "resource": "orchestrator.resources",
    "ResourceParam": "orchestrator._compute",
    "DagsterType": "orchestrator.types",
    "Nothing": "orchestrator.types",
    "TypeCheck": "orchestrator.types",
    "TypeDefinition": "orchestrator.types",
    # IO managers
    "FilesystemIOManager": "orchestrator.io_managers.fs",
    "InMemoryIOManager": "orchestrator.io_managers.memory",
    "IOManager": "orchestrator.io_managers.base",
    "IOManagerDefinition": "orchestrator.io_managers.base",
    "InputContext": "orchestrator.io_managers.base",
    "OutputContext": "orchestrator.io_managers.base",
    "io_manager": "orchestrator.io_managers.base",
    # partitions
    "AllPartitionMapping": "orchestrator.partitions",
    "BackfillPolicy": "orchestrator.partitions",
    "DailyPartitionsDefinition": "orchestrator.partitions",
    "HourlyPartitionsDefinition": "orchestrator.partitions",
    "IdentityPartitionMapping": "orchestrator.partitions",
    "LastPartitionMapping": "orchestrator.partitions",
    "MonthlyPartitionsDefinition": "orchestrator.partitions",
    "MultiPartitionKey": "orchestrator.partitions",
    "MultiPartitionsDefinition": "orchestrator.partitions",
    "MultiToSingleDimensionPartitionMapping": "orchestrator.partitions",
    "PartitionKeyRange": "orchestrator.partitions",
    "PartitionMapping": "orchestrator.partitions",
    "PartitionsDefinition": "orchestrator.partitions",
    "StaticPartitionMapping": "orchestrator.partitions",
    "StaticPartitionsDefinition": "orchestrator.partitions",
    "TimeWindow": "orchestrator.partitions",
    "TimeWindowPartitionMapping": "orchestrator.partitions",
    "TimeWindowPartitionsDefinition": "orchestrator.partitions",
    "WeeklyPartitionsDefinition": "orchestrator.partitions",
    # schedules, sensors
    "AssetSensorDefinition": "orchestrator.schedules",
    "DefaultScheduleStatus": "orchestrator.schedules",
    "DefaultSensorStatus": "orchestrator.schedules",
    "RunFailureSensorContext": "orchestrator.schedules",
    "RunRequest": "orchestrator.schedules",
    "RunStatusSensorContext": "orchestrator.schedules",
    "RunStatusSensorDefinition": "orchestrator.schedules",
    "ScheduleDefinition": "orchestrator.schedules",
    "ScheduleEvaluationContext": "orchestrator.schedules",
    "SensorDefinition": "orchestrator.schedules",
    "SensorEvaluationContext": "orchestrator.schedules",
    "SensorResult": "orchestrator.schedules",
    "SkipReason": "orchestrator.schedules",
    "asset_sensor": "orchestrator.schedules",
    "build_schedule_context": "orchestrator.schedules",
    "build_schedule_from_partitioned_job": "orchestrator.schedules",
    "build_sensor_context": "orchestrator.schedules",
    "run_failure_sensor": "orchestrator.schedules",
    "run_status_sensor": "orchestrator.schedules",
    "schedule": "orchestrator.schedules",
    "sensor": "orchestrator.schedules",
    # instance, events, errors
    "Instance": "orchestrator.instance",
    "Event": "orchestrator.events",
    "EventType": "orchestrator.events",
    "RunRecord": "orchestrator.events",
    "RunStatus": "orchestrator.events",
    "OrchestratorError": "orchestrator.errors",
    "DefinitionError": "orchestrator.errors",
    "ConfigError": "orchestrator.errors",
    "ResourceError": "orchestrator.errors",
    "TypeCheckError": "orchestrator.errors",
    "StepFailedError": "orchestrator.errors",
    "PipesError": "orchestrator.errors",
    "IOManagerError": "orchestrator.errors",
    "CheckFailedError": "orchestrator.errors",
    "RunCanceledError": "orchestrator.errors",
    "LauncherError": "orchestrator.errors",
    "PluginError": "orchestrator.errors",
    # plugins
    "hookimpl": "orchestrator.plugins.hookspecs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .asset_key import AssetKey
    from .assets.decorators import asset, asset_check, multi_asset
    from .assets.definition import AssetChecksDefinition, AssetsDefinition
    from .assets.selection import AssetSelection
    from .assets.spec import AssetCheckKey, AssetCheckSpec, AssetDep, AssetIn, AssetOut, AssetSpec
    from .config import Config, ConfigurableResource, EnvVar, Field, RunConfig
    from .definitions import Definitions, define_asset_job
    from .execution.api import execute_job, materialize, materialize_to_memory, reexecute_run
    from .execution.context import (
        AssetCheckExecutionContext,
        AssetExecutionContext,
        OpExecutionContext,
    )
    from .execution.direct import build_asset_context, build_op_context
    from .execution.executors import in_process_executor, multiprocess_executor
    from .execution.result import ExecutionResult
    from .execution.resume import resume_run
    from .graphs import GraphDefinition, JobDefinition, graph, job
    from .instance import Instance
    from .io_managers.base import (
        InputContext,
        IOManager,
        IOManagerDefinition,
        OutputContext,
        io_manager,
    )
    from .io_managers.fs import FilesystemIOManager
    from .io_managers.memory import InMemoryIOManager
    from .metadata import MetadataValue, TableColumn, TableRecord, TableSchema
    from .ops import DynamicOut, In, OpDefinition, Out, op
    from .partitions import (
        AllPartitionMapping,
        BackfillPolicy,
        DailyPartitionsDefinition,
        HourlyPartitionsDefinition,
        IdentityPartitionMapping,
        LastPartitionMapping,
        MonthlyPartitionsDefinition,
        MultiPartitionKey,
        MultiPartitionsDefinition,
        MultiToSingleDimensionPartitionMapping,
        PartitionKeyRange,
        PartitionMapping,
        PartitionsDefinition,
        StaticPartitionMapping,
        StaticPartitionsDefinition,
        TimeWindow,
        TimeWindowPartitionMapping,
        TimeWindowPartitionsDefinition,
        WeeklyPartitionsDefinition,
    )
    from .results import (
        AssetCheckEvaluation,
        AssetCheckResult,
        AssetCheckSeverity,
        AssetMaterialization,
        DynamicOutput,
        Failure,
        MaterializeResult,
        Output,
        RetryRequested,
    )
    from .retry import Backoff, Jitter, RetryPolicy
    from .schedules import (
        AssetSensorDefinition,
        DefaultScheduleStatus,
        DefaultSensorStatus,
        RunFailureSensorContext,
        RunRequest,
        RunStatusSensorContext,
        RunStatusSensorDefinition,
        ScheduleDefinition,
        ScheduleEvaluationContext,
        SensorDefinition,
        SensorEvaluationContext,
        SensorResult,
        SkipReason,
        asset_sensor,
        build_schedule_context,
        build_schedule_from_partitioned_job,
        build_sensor_context,
        run_failure_sensor,
        run_status_sensor,
        schedule,
        sensor,
    )
    from .types import DagsterType, Nothing, TypeCheck, TypeDefinition
