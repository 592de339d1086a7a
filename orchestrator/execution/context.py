"""Execution contexts: what a compute function sees as ``context``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..asset_key import AssetKey
from ..errors import DefinitionError
from ..results import AssetMaterialization

__all__ = ["AssetCheckExecutionContext", "AssetExecutionContext", "OpExecutionContext"]


class OpExecutionContext:
    """The context of a running op or asset step.

    ``context.log.info(...)``, ``context.resources.db``, ``context.op_config``,
    ``context.run_id``, ``context.partition_key``, ``context.asset_key``,
    ``context.selected_asset_keys``, ``context.add_output_metadata({...})``.
    """

    def __init__(self, *, run_id: str, job_name: str | None, step_key: str, op_def: Any,
                 log: Any, resources: Any, op_config: Any = None, instance: Any = None,
                 run: Any = None, partition_key: str | None = None,
                 partition_key_range: Any = None, retry_number: int = 0,
                 assets_def: Any = None, selected_output_names: list[str] | None = None,
                 mapping_key: str | None = None, emit: Any = None,
                 partitions_def: Any = None, check_keys: list[Any] | None = None) -> None:
        self._run_id = run_id
        self._job_name = job_name
        self._step_key = step_key
        self._op_def = op_def
        self.log = log
        self.resources = resources
        self._op_config = op_config
        self._instance = instance
        self._run = run
        self._partition_key = partition_key
        self._partition_key_range = partition_key_range
        self._retry_number = retry_number
        self._assets_def = assets_def
        self._selected_output_names = selected_output_names
        self._mapping_key = mapping_key
        self._emit = emit
        self._partitions_def = partitions_def
        self._check_keys = check_keys or []
        self.output_metadata: dict[tuple[str, str | None], dict[str, Any]] = {}
        self.logged_events: list[Any] = []

    # identity ---------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def run(self) -> Any:
        return self._run

    dagster_run = run

    @property
    def job_name(self) -> str | None:
        return self._job_name

    @property
    def op_def(self) -> Any:
        return self._op_def

    @property
    def op(self) -> Any:
        return self._op_def

    @property
    def step_key(self) -> str:
        return self._step_key

    @property
    def instance(self) -> Any:
        return self._instance

    @property
    def retry_number(self) -> int:
        return self._retry_number

    @property
    def op_config(self) -> Any:
        return self._op_config

    config = op_config

    @property
    def run_tags(self) -> Mapping[str, str]:
        return dict(self._run.tags) if self._run is not None else {}

    def has_tag(self, key: str) -> bool:
        return key in self.run_tags

    def get_tag(self, key: str) -> str | None:
        return self.run_tags.get(key)

    def get_mapping_key(self) -> str | None:
        return self._mapping_key

    # partitions -------------------------------------------------------------------------
    @property
    def has_partition_key(self) -> bool:
        return self._partition_key is not None

    @property
    def partition_key(self) -> str:
        if self._partition_key is None:
            raise DefinitionError(
                f"step '{self._step_key}' is not running for a partition: context.partition_key"
                f" exists only in partitioned runs (check context.has_partition_key)")
        return self._partition_key

    @property
    def partition_key_range(self) -> Any:
        if self._partition_key_range is not None:
            return self._partition_key_range
        if self._partition_key is not None:
            from ..partitions import PartitionKeyRange

            return PartitionKeyRange(self._partition_key, self._partition_key)
        raise DefinitionError(f"step '{self._step_key}' is not running for partitions")

    @property
    def partition_keys(self) -> list[str]:
        """Every partition key of this run (several in a range run)."""
        if self._partition_key_range is None:
            return [self.partition_key]
        pdef = self._partitions_def
        if pdef is None or not hasattr(pdef, "get_partition_keys_in_range"):
            rng = self._partition_key_range
            return [rng[0]] if rng[0] == rng[1] else list(rng)
        from ..partitions import PartitionKeyRange

        return pdef.get_partition_keys_in_range(PartitionKeyRange(*self._partition_key_range))

    @property
    def partition_time_window(self) -> Any:
        """The TimeWindow(start, end) of the partition, or of the whole range in a range run."""
        pdef = self._partitions_def
        if pdef is None or not (hasattr(pdef, "time_window_for") or
                                hasattr(pdef, "time_window_for_partition_key_range")):
            raise DefinitionError(
                f"step '{self._step_key}': partition_time_window needs a time-window "
                f"partitions definition (e.g. DailyPartitionsDefinition); this step has "
                f"{pdef!r}")
        rng = self._partition_key_range
        if rng is not None and rng[0] != rng[1]:
            fn = getattr(pdef, "time_window_for_partition_key_range", None)
            if fn is not None:
                from ..partitions import PartitionKeyRange

                return fn(PartitionKeyRange(*rng))
            from ..partitions import TimeWindow

            return TimeWindow(pdef.time_window_for(rng[0])[0], pdef.time_window_for(rng[1])[1])
        return pdef.time_window_for(self.partition_key_range[0])

    def asset_partition_key_for_output(self, output_name: str = "result") -> str:
        return self.partition_key

    def asset_partition_keys_for_output(self, output_name: str = "result") -> list[str]:
        return self.partition_keys

    def asset_partition_key_range_for_output(self, output_name: str = "result") -> Any:
        return self.partition_key_range

    # assets -----------------------------------------------------------------------------
    @property
    def has_assets_def(self) -> bool:
        return self._assets_def is not None

    @property
    def assets_def(self) -> Any:
        if self._assets_def is None:
            raise DefinitionError(f"step '{self._step_key}' is an op, not an asset")
        return self._assets_def

    @property
    def asset_key(self) -> AssetKey:
        keys = list(self.assets_def.keys)
        if len(keys) != 1:
            raise DefinitionError(
                f"step '{self._step_key}' materializes {len(keys)} assets; use "
                f"context.selected_asset_keys or context.asset_key_for_output(name)")
        return keys[0]

    @property
    def selected_asset_keys(self) -> frozenset[AssetKey]:
        return self.assets_def.keys if self._assets_def is not None else frozenset()

    @property
    def selected_asset_check_keys(self) -> frozenset[Any]:
        return frozenset(self._check_keys)

    @property
    def selected_output_names(self) -> list[str]:
        if self._selected_output_names is not None:
            return list(self._selected_output_names)
        return list(self._op_def.outs)

    def asset_key_for_output(self, output_name: str = "result") -> AssetKey:
        try:
            return self.assets_def.keys_by_output_name[output_name]
        except KeyError:
            raise DefinitionError(f"step '{self._step_key}' has no asset output "
                                  f"'{output_name}'") from None

    def asset_key_for_input(self, input_name: str) -> AssetKey:
        try:
            return self.assets_def.keys_by_input_name[input_name]
        except KeyError:
            raise DefinitionError(f"step '{self._step_key}' has no asset input "
                                  f"'{input_name}'") from None

    def output_for_asset_key(self, key: AssetKey) -> str:
        return self.assets_def.output_names_by_key[key]

    # recording --------------------------------------------------------------------------
    def add_output_metadata(self, metadata: Mapping[str, Any], output_name: str | None = None,
                            mapping_key: str | None = None) -> None:
        """Attach metadata to an output's materialization (the only output by default)."""
        if output_name is None:
            names = self.selected_output_names
            if len(names) != 1:
                raise DefinitionError(
                    f"step '{self._step_key}' has outputs {names}; pass output_name=")
            output_name = names[0]
        self.output_metadata.setdefault((output_name, mapping_key), {}).update(metadata)

    add_asset_metadata = add_output_metadata

    def log_event(self, event: AssetMaterialization | Any) -> None:
        """Record an AssetMaterialization (or observation) from inside an op."""
        self.logged_events.append(event)
        if self._emit is not None:
            self._emit(event)

    @property
    def pdb(self) -> Any:  # pragma: no cover - interactive
        import pdb

        return pdb.Pdb()


class AssetExecutionContext(OpExecutionContext):
    """The context of an asset step (the same surface as OpExecutionContext)."""


class AssetCheckExecutionContext(OpExecutionContext):
    """The context of an asset check step."""
