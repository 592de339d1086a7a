"""Metadata attached to materializations, checks and definitions.

Plain Python values are accepted anywhere metadata is (``{"rows": 10, "path": "/x"}``);
``MetadataValue`` builds typed entries when the type matters::

    MaterializeResult(metadata={
        "rows": 1200,
        "preview": MetadataValue.md("| a | b |\\n|---|---|\\n| 1 | 2 |"),
        "dashboard": MetadataValue.url("https://example.com/d/1"),
    })

Internally (and on the wire of the pipes protocol, and in the run store) every entry is
``{"type": <type>, "raw_value": <JSON value>}``: one representation everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MetadataValue",
    "TableColumn",
    "TableRecord",
    "TableSchema",
    "metadata_from_wire",
    "metadata_to_wire",
]


@dataclass(frozen=True, slots=True)
class TableColumn:
    name: str
    type: str = "string"
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "description": self.description,
                "constraints": {"nullable": True, "unique": False, "other": []}, "tags": {}}


@dataclass(frozen=True, slots=True)
class TableSchema:
    columns: Sequence[TableColumn] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"columns": [c.to_json() for c in self.columns], "constraints": {"other": []}}


@dataclass(frozen=True, slots=True)
class TableRecord:
    data: Mapping[str, Any]


class MetadataValue:
    """A typed metadata entry. Build one with the static constructors (Dagster's names)."""

    __slots__ = ("type", "raw_value")

    def __init__(self, type: str, raw_value: Any) -> None:  # noqa: A002 - wire name
        self.type = type
        self.raw_value = raw_value

    @property
    def value(self) -> Any:
        return self.raw_value

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, "raw_value": self.raw_value}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MetadataValue)
            and other.type == self.type
            and other.raw_value == self.raw_value
        )

    def __repr__(self) -> str:
        return f"MetadataValue.{self.type}({self.raw_value!r})"

    # constructors --------------------------------------------------------------------
    @staticmethod
    def text(value: str) -> MetadataValue:
        return MetadataValue("text", str(value))

    @staticmethod
    def int(value: int) -> MetadataValue:  # noqa: A003
        return MetadataValue("int", value)

    @staticmethod
    def float(value: float) -> MetadataValue:  # noqa: A003
        return MetadataValue("float", value)

    @staticmethod
    def bool(value: bool) -> MetadataValue:  # noqa: A003
        return MetadataValue("bool", value)

    @staticmethod
    def url(value: str) -> MetadataValue:
        return MetadataValue("url", value)

    @staticmethod
    def path(value: Any) -> MetadataValue:
        return MetadataValue("path", str(value))

    @staticmethod
    def md(value: str) -> MetadataValue:
        return MetadataValue("md", value)

    @staticmethod
    def json(value: Any) -> MetadataValue:
        return MetadataValue("json", value)

    @staticmethod
    def timestamp(value: Any) -> MetadataValue:
        ts = value.timestamp() if hasattr(value, "timestamp") else value
        return MetadataValue("timestamp", ts)

    @staticmethod
    def notebook(value: str) -> MetadataValue:
        return MetadataValue("notebook", value)

    @staticmethod
    def dagster_run(run_id: str) -> MetadataValue:
        return MetadataValue("dagster_run", run_id)

    @staticmethod
    def asset(key: Any) -> MetadataValue:
        from .asset_key import AssetKey

        return MetadataValue("asset", AssetKey.from_coercible(key).to_user_string())

    @staticmethod
    def null() -> MetadataValue:
        return MetadataValue("null", None)

    @staticmethod
    def table(records: Sequence[TableRecord | Mapping[str, Any]],
              schema: TableSchema | None = None) -> MetadataValue:
        rows = [dict(r.data) if isinstance(r, TableRecord) else dict(r) for r in records]
        return MetadataValue("table", {"records": rows,
                                       "schema": schema.to_json() if schema else None})

    @staticmethod
    def table_schema(schema: TableSchema) -> MetadataValue:
        return MetadataValue("table_schema", schema.to_json())


def _infer(value: Any) -> dict[str, Any]:
    """Core objects (MetadataValue, TableSchema, AssetKey) here; plain values through the
    protocol's inference (pipes_protocol), the one place both sides share."""
    if isinstance(value, MetadataValue):
        return value.to_wire()
    if isinstance(value, TableSchema):
        return MetadataValue.table_schema(value).to_wire()
    from .asset_key import AssetKey

    if isinstance(value, AssetKey):
        return {"type": "asset", "raw_value": value.to_user_string()}
    from pipes_protocol import ProtocolError, infer_metadata_entry

    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=repr)
    try:
        entry = infer_metadata_entry(value)
    except ProtocolError:
        return {"type": "text", "raw_value": repr(value)}
    if entry["type"] == "json":
        entry["raw_value"] = _jsonable(entry["raw_value"])
    return entry


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def metadata_to_wire(metadata: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Turn user metadata (plain values or MetadataValue) into wire entries."""
    if not metadata:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, value in metadata.items():
        if not isinstance(name, str):
            from .errors import DefinitionError

            raise DefinitionError(f"metadata keys must be strings, got {name!r}")
        out[name] = _infer(value)
    return out


def metadata_from_wire(entries: Mapping[str, Any]) -> dict[str, Any]:
    """Wire entries back to plain Python values (``{"rows": 10}``); tables stay dicts."""
    out: dict[str, Any] = {}
    for name, entry in entries.items():
        if isinstance(entry, Mapping) and "raw_value" in entry:
            raw = entry["raw_value"]
            if entry.get("type") == "float" and isinstance(raw, (int, float)):
                raw = float(raw)
            out[name] = raw
        else:
            out[name] = entry
    return out


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not (isinstance(value, float) and
                                                     (math.isnan(value) or math.isinf(value)))
