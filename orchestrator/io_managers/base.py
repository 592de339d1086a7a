"""IO managers decide how step outputs are stored and how inputs are loaded.

::

    class JsonIOManager(IOManager):
        def __init__(self, root):
            self.root = Path(root)

        def handle_output(self, context: OutputContext, obj):
            path = self.root / ("/".join(context.asset_key.path) + ".json")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(obj))

        def load_input(self, context: InputContext):
            path = self.root / ("/".join(context.asset_key.path) + ".json")
            return json.loads(path.read_text())

    defs = Definitions(assets=[...], resources={"io_manager": JsonIOManager("/data")})
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..asset_key import AssetKey
from ..errors import IOManagerError
from ..resources import ResourceDefinition

__all__ = ["IOManager", "IOManagerDefinition", "InputContext", "OutputContext", "io_manager"]


class _IOContext:
    """What input and output contexts share: the asset key and the partition key(s) — one
    key, or several (a range run, or an input that reads several upstream partitions
    through a partition mapping)."""

    name: str
    step_key: str
    _kind: str = "input/output"
    _asset_key: AssetKey | None
    _partition_key: str | None
    _partition_keys: list[str] | None

    @property
    def has_asset_key(self) -> bool:
        return self._asset_key is not None

    @property
    def asset_key(self) -> AssetKey:
        if self._asset_key is None:
            raise IOManagerError(
                f"{self._kind} '{self.name}' of step '{self.step_key}' is not an asset: it has "
                f"no asset_key; check context.has_asset_key first")
        return self._asset_key

    @property
    def has_partition_key(self) -> bool:
        return self._partition_key is not None

    @property
    def partition_key(self) -> str:
        if self._partition_key is None:
            raise IOManagerError(f"{self._kind} '{self.name}' of step '{self.step_key}' is not "
                                 f"partitioned; check context.has_partition_key first")
        return self._partition_key

    @property
    def asset_partition_key(self) -> str:
        return self.partition_key

    def get_asset_identifier(self) -> list[str]:
        parts = self.asset_key.path
        return parts + [self.partition_key] if self.has_partition_key else parts

    @property
    def has_asset_partitions(self) -> bool:
        return bool(self.asset_partition_keys)

    @property
    def asset_partition_keys(self) -> list[str]:
        """Every partition key this input/output covers (``[]`` when unpartitioned)."""
        if self._partition_keys is not None:
            return list(self._partition_keys)
        return [self._partition_key] if self._partition_key is not None else []

    @property
    def asset_partition_key_range(self) -> Any:
        from ..partitions import PartitionKeyRange

        keys = self.asset_partition_keys
        if not keys:
            raise IOManagerError("this input/output is not partitioned; check "
                                 "context.has_asset_partitions first")
        return PartitionKeyRange(keys[0], keys[-1])

    def for_partition(self, partition_key: str) -> Any:
        """A copy of this context for one of its partitions."""
        other = copy.copy(self)
        other._partition_key = partition_key
        other._partition_keys = None
        return other


def values_by_partition(context: Any, obj: Any) -> dict[str, Any]:
    """For an output covering several partitions: ``obj`` must be a dict holding a value
    for each of them. Used by IO managers that store one object per partition."""
    keys = context.asset_partition_keys
    if not isinstance(obj, Mapping) or set(keys) - set(obj):
        missing = sorted(set(keys) - set(obj)) if isinstance(obj, Mapping) else keys
        raise IOManagerError(
            f"output '{context.name}' of step '{context.step_key}' covers {len(keys)} partitions "
            f"({keys[0]}...{keys[-1]}) and this IO manager stores one object per partition: "
            f"return a dict of partition key -> value (missing: {missing[:3]}), return a "
            f"MaterializeResult without a value, or launch one run per partition")
    return {k: obj[k] for k in keys}


class OutputContext(_IOContext):
    """What an IO manager knows about an output it stores."""

    _kind = "output"

    def __init__(self, *, step_key: str, name: str, run_id: str, asset_key: AssetKey | None = None,
                 partition_key: str | None = None, mapping_key: str | None = None,
                 metadata: Mapping[str, Any] | None = None,
                 definition_metadata: Mapping[str, Any] | None = None, dagster_type: Any = None,
                 log: Any = None, resources: Any = None, op_def: Any = None,
                 resource_config: Any = None, partition_keys: Sequence[str] | None = None
                 ) -> None:
        self.step_key = step_key
        self.name = name
        self.run_id = run_id
        self._asset_key = asset_key
        self._partition_key = partition_key
        self._partition_keys = list(partition_keys) if partition_keys is not None else None
        self.mapping_key = mapping_key
        self.metadata = dict(metadata or {})
        self.definition_metadata = dict(definition_metadata or self.metadata)
        self.dagster_type = dagster_type
        self.log = log
        self.resources = resources
        self.op_def = op_def
        self.resource_config = resource_config
        self._user_metadata: dict[str, Any] = {}

    def get_identifier(self) -> list[str]:
        """A unique path for this output of this run: [run_id, step_key, name(, mapping)]."""
        ident = [self.run_id, self.step_key, self.name]
        if self.mapping_key:
            ident.append(self.mapping_key)
        return ident

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Attach metadata (e.g. the path written) to the output's materialization."""
        self._user_metadata.update(metadata)

    def consume_user_metadata(self) -> dict[str, Any]:
        md, self._user_metadata = self._user_metadata, {}
        return md


class InputContext(_IOContext):
    """What an IO manager knows about an input it loads."""

    _kind = "input"

    def __init__(self, *, name: str, step_key: str, run_id: str,
                 upstream_output: OutputContext | None, asset_key: AssetKey | None = None,
                 partition_key: str | None = None, metadata: Mapping[str, Any] | None = None,
                 dagster_type: Any = None, log: Any = None, resources: Any = None,
                 resource_config: Any = None, partition_keys: Sequence[str] | None = None
                 ) -> None:
        self.name = name
        self.step_key = step_key
        self.run_id = run_id
        self.upstream_output = upstream_output
        self._asset_key = asset_key
        self._partition_key = partition_key
        self._partition_keys = list(partition_keys) if partition_keys is not None else None
        self.metadata = dict(metadata or {})
        self.definition_metadata = self.metadata
        self.dagster_type = dagster_type
        self.log = log
        self.resources = resources
        self.resource_config = resource_config



class IOManager(ABC):
    """Stores outputs and loads inputs. Subclass and implement both methods."""

    @abstractmethod
    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Store ``obj``, the value of the output described by ``context``."""

    @abstractmethod
    def load_input(self, context: InputContext) -> Any:
        """Load the value of the input described by ``context``
        (``context.upstream_output`` says which output stored it)."""


class IOManagerDefinition(ResourceDefinition):
    """A resource whose value is an IOManager (made by ``@io_manager``)."""


def io_manager(fn: Callable[..., Any] | None = None, *, config_schema: Any = None,
               description: str | None = None,
               required_resource_keys: Any = None) -> Any:
    """Declare an IO manager from a function that takes an init context and returns an
    ``IOManager`` (Dagster's shape)::

        @io_manager(config_schema={"root": str})
        def json_io_manager(init_context):
            return JsonIOManager(init_context.resource_config["root"])
    """

    def deco(f: Callable[..., Any]) -> Any:
        return IOManagerDefinition(f, config_schema=config_schema,
                                   description=description or f.__doc__,
                                   required_resource_keys=required_resource_keys or ())

    return deco(fn) if fn is not None else deco
