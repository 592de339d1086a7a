"""Partition mappings: which partitions of an upstream asset a downstream partition reads.

::

    @asset(partitions_def=daily,
           ins={"events": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))})
    def two_days(context, events):  # events: {"2024-01-01": ..., "2024-01-02": ...}
        ...

Without a mapping: two time-window assets map by overlapping time; an unpartitioned asset
reads every partition of a partitioned upstream; otherwise keys map to the same keys.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import DefinitionError
from .definition import PartitionsDefinition, TimeWindow, TimeWindowPartitionsDefinition

__all__ = [
    "AllPartitionMapping",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionMapping",
    "StaticPartitionMapping",
    "TimeWindowPartitionMapping",
    "default_partition_mapping",
    "upstream_partition_keys",
]


class PartitionMapping:
    """Base class: maps downstream partition keys to upstream ones and back."""

    def get_upstream_partition_keys(self, downstream_keys: Sequence[str],
                                    downstream_def: PartitionsDefinition | None,
                                    upstream_def: PartitionsDefinition,
                                    current_time: Any = None) -> list[str]:
        raise NotImplementedError

    def get_downstream_partition_keys(self, upstream_keys: Sequence[str],
                                      upstream_def: PartitionsDefinition,
                                      downstream_def: PartitionsDefinition,
                                      current_time: Any = None) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class IdentityPartitionMapping(PartitionMapping):
    """Downstream partition ``k`` reads upstream partition ``k``."""

    def get_upstream_partition_keys(self, downstream_keys: Sequence[str],
                                    downstream_def: PartitionsDefinition | None,
                                    upstream_def: PartitionsDefinition,
                                    current_time: Any = None) -> list[str]:
        if downstream_def is None:
            return upstream_def.get_partition_keys(current_time)
        missing = [k for k in downstream_keys if not upstream_def.has_partition_key(k,
                                                                                   current_time)]
        if missing:
            raise DefinitionError(
                f"IdentityPartitionMapping: upstream {upstream_def!r} has no partition "
                f"{missing[0]!r}; give the dependency a partition_mapping= that says which "
                f"upstream partitions to read")
        return list(downstream_keys)

    def get_downstream_partition_keys(self, upstream_keys: Sequence[str],
                                      upstream_def: PartitionsDefinition,
                                      downstream_def: PartitionsDefinition,
                                      current_time: Any = None) -> list[str]:
        return [k for k in upstream_keys if downstream_def.has_partition_key(k, current_time)]


@dataclass(frozen=True)
class AllPartitionMapping(PartitionMapping):
    """Every downstream partition reads every upstream partition."""

    def get_upstream_partition_keys(self, downstream_keys: Sequence[str],
                                    downstream_def: PartitionsDefinition | None,
                                    upstream_def: PartitionsDefinition,
                                    current_time: Any = None) -> list[str]:
        return upstream_def.get_partition_keys(current_time)

    def get_downstream_partition_keys(self, upstream_keys: Sequence[str],
                                      upstream_def: PartitionsDefinition,
                                      downstream_def: PartitionsDefinition,
                                      current_time: Any = None) -> list[str]:
        return downstream_def.get_partition_keys(current_time)


@dataclass(frozen=True)
class LastPartitionMapping(PartitionMapping):
    """Every downstream partition reads the latest upstream partition."""

    def get_upstream_partition_keys(self, downstream_keys: Sequence[str],
                                    downstream_def: PartitionsDefinition | None,
                                    upstream_def: PartitionsDefinition,
                                    current_time: Any = None) -> list[str]:
        last = upstream_def.get_last_partition_key(current_time)
        return [last] if last is not None else []

    def get_downstream_partition_keys(self, upstream_keys: Sequence[str],
                                      upstream_def: PartitionsDefinition,
                                      downstream_def: PartitionsDefinition,
                                      current_time: Any = None) -> list[str]:
        last = upstream_def.get_last_partition_key(current_time)
        return downstream_def.get_partition_keys(current_time) if last in upstream_keys else []


@dataclass(frozen=True)
class TimeWindowPartitionMapping(PartitionMapping):
    """Map by time: a downstream window reads the upstream windows that overlap it, the
    first shifted by ``start_offset`` upstream partitions and the last by ``end_offset``.
    ``TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)``: the previous partition.
    Upstream partitions before the upstream's start are an error unless
    ``allow_nonexistent_upstream_partitions=True`` (then they are left out)."""

    start_offset: int = 0
    end_offset: int = 0
    allow_nonexistent_upstream_partitions: bool = False

    def __post_init__(self) -> None:
        if self.start_offset > self.end_offset:
            raise DefinitionError(
                f"TimeWindowPartitionMapping: start_offset ({self.start_offset}) must not be "
                f"greater than end_offset ({self.end_offset})")

    @staticmethod
    def _check(d: Any, role: str) -> TimeWindowPartitionsDefinition:
        if not isinstance(d, TimeWindowPartitionsDefinition):
            raise DefinitionError(f"TimeWindowPartitionMapping needs time-window partitions on "
                                  f"both sides; the {role} has {d!r}")
        return d

    def get_upstream_partition_keys(self, downstream_keys: Sequence[str],
                                    downstream_def: PartitionsDefinition | None,
                                    upstream_def: PartitionsDefinition,
                                    current_time: Any = None) -> list[str]:
        down = self._check(downstream_def, "downstream asset")
        up = self._check(upstream_def, "upstream asset")
        if not downstream_keys:
            return []
        windows = [down.time_window_for_partition_key(k) for k in downstream_keys]
        union = TimeWindow(min(w.start for w in windows), max(w.end for w in windows))
        keys = up.get_partition_keys_in_time_window(union)
        if not keys:
            if self.allow_nonexistent_upstream_partitions:
                return []
            raise DefinitionError(
                f"TimeWindowPartitionMapping: no partition of upstream {up!r} overlaps "
                f"{union.start.isoformat()}..{union.end.isoformat()}")
        first = up.key_offset(keys[0], self.start_offset) if self.start_offset else keys[0]
        last = up.key_offset(keys[-1], self.end_offset) if self.end_offset else keys[-1]
        if first is None:
            if not self.allow_nonexistent_upstream_partitions:
                raise DefinitionError(
                    f"TimeWindowPartitionMapping(start_offset={self.start_offset}): partition "
                    f"{downstream_keys[0]!r} would read upstream partitions before the "
                    f"upstream's first one ({up.get_first_partition_key()!r}); pass "
                    f"allow_nonexistent_upstream_partitions=True to read only those that exist")
            first = up.get_first_partition_key()
        if last is None:
            return []
        from .definition import PartitionKeyRange

        return up.get_partition_keys_in_range(PartitionKeyRange(first, last))

    def get_downstream_partition_keys(self, upstream_keys: Sequence[str],
                                      upstream_def: PartitionsDefinition,
                                      downstream_def: PartitionsDefinition,
                                      current_time: Any = None) -> list[str]:
        up = self._check(upstream_def, "upstream asset")
        down = self._check(downstream_def, "downstream asset")
        out: list[str] = []
        existing = set(down.get_partition_keys(current_time))
        for k in upstream_keys:
            lo = up.key_offset(k, -self.end_offset)
            hi = up.key_offset(k, -self.start_offset)
            if lo is None and hi is None:
                continue
            w_lo = up.time_window_for_partition_key(lo or up.get_first_partition_key())
            w_hi = up.time_window_for_partition_key(hi or lo)  # type: ignore[arg-type]
            for dk in down.get_partition_keys_in_time_window(TimeWindow(w_lo.start, w_hi.end)):
                if dk in existing and dk not in out:
                    out.append(dk)
        return out


@dataclass(frozen=True)
class StaticPartitionMapping(PartitionMapping):
    """Explicit mapping from each upstream key to one or more downstream keys:
    ``StaticPartitionMapping({"eu-west": "eu", "eu-north": "eu", "us-east": "us"})``."""

    downstream_partition_keys_by_upstream_partition_key: Mapping[str, str | Collection[str]] = \
        field(default_factory=dict)

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for up, down in self.downstream_partition_keys_by_upstream_partition_key.items():
            for d in ([down] if isinstance(down, str) else list(down)):
                pairs.append((up, d))
        return pairs

    def get_upstream_partition_keys(self, downstream_keys: Sequence[str],
                                    downstream_def: PartitionsDefinition | None,
                                    upstream_def: PartitionsDefinition,
                                    current_time: Any = None) -> list[str]:
        wanted = set(downstream_keys)
        return [u for u, d in self._pairs() if d in wanted and
                upstream_def.has_partition_key(u, current_time)]

    def get_downstream_partition_keys(self, upstream_keys: Sequence[str],
                                      upstream_def: PartitionsDefinition,
                                      downstream_def: PartitionsDefinition,
                                      current_time: Any = None) -> list[str]:
        wanted = set(upstream_keys)
        out: list[str] = []
        for u, d in self._pairs():
            if u in wanted and d not in out:
                out.append(d)
        return out

    def __hash__(self) -> int:
        return hash(tuple(self._pairs()))


@dataclass(frozen=True)
class MultiToSingleDimensionPartitionMapping(PartitionMapping):
    """Between a MultiPartitionsDefinition and a single-dimension definition equal to one of
    its dimensions: a multi key maps to (and from) the key of that dimension.
    ``partition_dimension_name`` is needed only when several dimensions would match."""

    partition_dimension_name: str | None = None

    def _dimension(self, multi: Any, single: Any) -> str:
        from .definition import MultiPartitionsDefinition

        if not isinstance(multi, MultiPartitionsDefinition):
            raise DefinitionError(f"MultiToSingleDimensionPartitionMapping needs a "
                                  f"MultiPartitionsDefinition on one side; got {multi!r}")
        if self.partition_dimension_name is not None:
            if self.partition_dimension_name not in multi.partition_dimension_names:
                raise DefinitionError(
                    f"MultiToSingleDimensionPartitionMapping: no dimension "
                    f"{self.partition_dimension_name!r} in {multi!r}")
            return self.partition_dimension_name
        names = [d.name for d in multi.partitions_defs if d.partitions_def == single]
        if len(names) != 1:
            raise DefinitionError(
                f"MultiToSingleDimensionPartitionMapping: {len(names)} dimensions of {multi!r} "
                f"match {single!r}; pass partition_dimension_name=")
        return names[0]

    def get_upstream_partition_keys(self, downstream_keys: Sequence[str],
                                    downstream_def: PartitionsDefinition | None,
                                    upstream_def: PartitionsDefinition,
                                    current_time: Any = None) -> list[str]:
        from .definition import MultiPartitionsDefinition

        if isinstance(upstream_def, MultiPartitionsDefinition):  # many multi keys per key
            dim = self._dimension(upstream_def, downstream_def)
            wanted = set(downstream_keys)
            return [k for k in upstream_def.get_partition_keys(current_time)
                    if k.keys_by_dimension[dim] in wanted]  # type: ignore[attr-defined]
        dim = self._dimension(downstream_def, upstream_def)
        keys = [downstream_def.get_partition_key_from_str(k)  # type: ignore[union-attr]
                .keys_by_dimension[dim] for k in downstream_keys]
        return list(dict.fromkeys(keys))

    def get_downstream_partition_keys(self, upstream_keys: Sequence[str],
                                      upstream_def: PartitionsDefinition,
                                      downstream_def: PartitionsDefinition,
                                      current_time: Any = None) -> list[str]:
        return self.__class__(self.partition_dimension_name).get_upstream_partition_keys(
            upstream_keys, upstream_def, downstream_def, current_time)


def default_partition_mapping(upstream_def: PartitionsDefinition | None,
                              downstream_def: PartitionsDefinition | None) -> PartitionMapping:
    if isinstance(upstream_def, TimeWindowPartitionsDefinition) and isinstance(
            downstream_def, TimeWindowPartitionsDefinition):
        return TimeWindowPartitionMapping()
    if upstream_def is not None and downstream_def is None:
        return AllPartitionMapping()
    from .definition import MultiPartitionsDefinition

    if isinstance(upstream_def, MultiPartitionsDefinition) != isinstance(
            downstream_def, MultiPartitionsDefinition):
        return MultiToSingleDimensionPartitionMapping()
    return IdentityPartitionMapping()


def upstream_partition_keys(mapping: PartitionMapping | None, downstream_keys: Sequence[str],
                            downstream_def: PartitionsDefinition | None,
                            upstream_def: PartitionsDefinition | None,
                            current_time: Any = None) -> list[str] | None:
    """The upstream keys a set of downstream keys reads (None: upstream is unpartitioned)."""
    if upstream_def is None:
        return None
    if mapping is None:
        mapping = default_partition_mapping(upstream_def, downstream_def)
    if not isinstance(mapping, PartitionMapping):
        raise DefinitionError(f"partition_mapping must be a PartitionMapping (e.g. "
                              f"TimeWindowPartitionMapping()), got {mapping!r}")
    return mapping.get_upstream_partition_keys(list(downstream_keys), downstream_def,
                                               upstream_def, current_time)
