"""Metadata entries ``{"type": T, "raw_value": X}``: inference (client) and validation (host)."""

from __future__ import annotations

import math
from typing import Any

from ._base import ProtocolError, quote

__all__ = ["METADATA_TYPES", "infer_metadata_entry", "normalize_metadata"]

#: Every metadata ``type`` a host accepts (Dagster 1.13's set). ``__infer__`` asks the host
#: to infer the type from the JSON value; our clients send explicit types instead.
METADATA_TYPES: tuple[str, ...] = (
    "__infer__",
    "text",
    "url",
    "path",
    "notebook",
    "md",
    "dagster_run",
    "int",
    "float",
    "bool",
    "timestamp",
    "json",
    "null",
    "asset",
    "table",
    "table_schema",
    "table_column_lineage",
)
_STRING_TYPES = frozenset({"text", "url", "path", "notebook", "md", "dagster_run"})
_FLOAT_WORDS = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf,
                "-infinity": -math.inf, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


def _is_entry(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 2 and "type" in value and "raw_value" in value


def infer_metadata_entry(value: Any) -> dict[str, Any]:
    """The wire entry a client sends for a bare Python value.

    Types are explicit (never ``__infer__``) so a host in any language gets the intended type:
    ``str``→text, ``bool``→bool, ``int``→int, ``float``→float (incl. NaN/inf), ``None``→null,
    ``list``/``tuple``/``dict``→json, ``datetime``→timestamp (seconds since epoch),
    ``os.PathLike``→path. A dict that is already an entry (keys exactly ``type`` and
    ``raw_value``) is passed through after checking its type name::

        >>> infer_metadata_entry(3)
        {'type': 'int', 'raw_value': 3}
        >>> infer_metadata_entry({"rows": 3})
        {'type': 'json', 'raw_value': {'rows': 3}}
        >>> infer_metadata_entry({"type": "url", "raw_value": "https://x.org"})
        {'type': 'url', 'raw_value': 'https://x.org'}
    """
    if value is None:
        return {"type": "null", "raw_value": None}
    if isinstance(value, bool):
        return {"type": "bool", "raw_value": value}
    if isinstance(value, int):
        return {"type": "int", "raw_value": int(value)}
    if isinstance(value, float):
        return {"type": "float", "raw_value": float(value)}
    if isinstance(value, str):
        return {"type": "text", "raw_value": value}
    if _is_entry(value):
        if value["type"] not in METADATA_TYPES:
            raise ProtocolError(
                f"metadata entry {quote(value)} has unknown type {quote(value['type'])}; "
                f"use one of {', '.join(METADATA_TYPES)}"
            )
        return {"type": value["type"], "raw_value": value["raw_value"]}
    if isinstance(value, (list, tuple, dict)):
        return {"type": "json", "raw_value": list(value) if isinstance(value, tuple) else value}
    if hasattr(value, "__fspath__"):
        return {"type": "path", "raw_value": str(value.__fspath__())}
    if hasattr(value, "timestamp") and hasattr(value, "isoformat"):
        try:
            return {"type": "timestamp", "raw_value": float(value.timestamp())}
        except (TypeError, ValueError, OverflowError):
            pass
    raise ProtocolError(
        f"cannot infer a metadata type for {type(value).__name__} value {quote(value)}; pass a "
        "str/int/float/bool/None/list/dict, or an explicit entry "
        "{'type': 'json', 'raw_value': ...}"
    )


def _err(name: str, mtype: str, expected: str, raw: Any) -> ProtocolError:
    return ProtocolError(
        f"metadata entry {name!r} of type {mtype!r} needs {expected}, got "
        f"{type(raw).__name__} {quote(raw)}; send a matching raw_value or change the type"
    )


def _check_column(name: str, mtype: str, col: Any) -> dict[str, Any]:
    if not isinstance(col, dict) or not isinstance(col.get("name"), str):
        raise _err(name, mtype, "columns like {'name': str, 'type': str}", col)
    ctype = col.get("type", "string")
    if not isinstance(ctype, str):
        raise _err(name, mtype, f"a string 'type' for column {col['name']!r}", ctype)
    out = dict(col)
    out["type"] = ctype
    desc = col.get("description")
    if desc is not None and not isinstance(desc, str):
        raise _err(name, mtype, f"a string 'description' for column {col['name']!r}", desc)
    tags = col.get("tags")
    if tags is not None and not (
        isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values())
    ):
        raise _err(name, mtype, f"'tags' of str to str for column {col['name']!r}", tags)
    cons = col.get("constraints")
    if cons is not None:
        ok = isinstance(cons, dict) and all(
            isinstance(cons.get(k, False), bool) for k in ("nullable", "unique")
        ) and isinstance(cons.get("other", []), list)
        if not ok:
            raise _err(name, mtype, "constraints {'nullable': bool, 'unique': bool, "
                       "'other': [str]}", cons)
    return out


def _check_columns(name: str, mtype: str, cols: Any) -> list[dict[str, Any]]:
    if not isinstance(cols, list):
        raise _err(name, mtype, "a list of columns", cols)
    return [_check_column(name, mtype, c) for c in cols]


def _normalize_entry(name: str, mtype: Any, raw: Any) -> dict[str, Any]:
    if mtype == "__infer__":
        if isinstance(raw, (dict, list)):
            return {"type": "json", "raw_value": raw}
        return infer_metadata_entry(raw)
    if not isinstance(mtype, str) or mtype not in METADATA_TYPES:
        hint = " ('job' is not a Dagster host type)" if mtype == "job" else ""
        raise ProtocolError(
            f"metadata entry {name!r} has unknown type {quote(mtype)}{hint}; use one of "
            f"{', '.join(METADATA_TYPES)}"
        )
    if mtype in _STRING_TYPES:
        if not isinstance(raw, str):
            raise _err(name, mtype, "a string", raw)
        return {"type": mtype, "raw_value": raw}
    if mtype == "int":
        if isinstance(raw, bool):
            return {"type": "int", "raw_value": int(raw)}
        if isinstance(raw, int):
            return {"type": "int", "raw_value": raw}
        if isinstance(raw, float) and raw.is_integer():
            return {"type": "int", "raw_value": int(raw)}
        raise _err(name, mtype, "an integer (1.0 is accepted, 1.5 is not)", raw)
    if mtype == "float":
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return {"type": "float", "raw_value": float(raw)}
        if isinstance(raw, str) and raw.strip().lower() in _FLOAT_WORDS:
            return {"type": "float", "raw_value": _FLOAT_WORDS[raw.strip().lower()]}
        raise _err(name, mtype, "a number (or 'NaN', 'Infinity', '-Infinity')", raw)
    if mtype == "bool":
        if not isinstance(raw, bool):
            raise _err(name, mtype, "true or false", raw)
        return {"type": "bool", "raw_value": raw}
    if mtype == "timestamp":
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return {"type": "timestamp", "raw_value": float(raw)}
        if isinstance(raw, str):
            from datetime import datetime, timezone

            try:
                when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise _err(name, mtype, "seconds since epoch or an ISO-8601 string", raw) from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            return {"type": "timestamp", "raw_value": when.timestamp()}
        raise _err(name, mtype, "seconds since epoch (a number)", raw)
    if mtype == "json":
        return {"type": "json", "raw_value": raw}
    if mtype == "null":
        return {"type": "null", "raw_value": None}
    if mtype == "asset":
        if isinstance(raw, str) and raw:
            return {"type": "asset", "raw_value": raw.split("/")}
        if isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
            return {"type": "asset", "raw_value": list(raw)}
        raise _err(name, mtype, "an asset key string 'a/b' or a list of strings", raw)
    if mtype == "table":
        if not isinstance(raw, dict):
            raise _err(name, mtype, "{'records': [...], 'schema': [...]}", raw)
        records = raw.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise _err(name, mtype, "'records' as a list of objects", records)
        for rec in records:
            for col, val in rec.items():
                if val is not None and not isinstance(val, (str, int, float, bool)):
                    raise _err(name, mtype, f"scalar record values (column {col!r})", val)
        schema = raw["schema"] if "schema" in raw else raw.get("columns")
        return {"type": "table", "raw_value": {
            "records": records,
            "schema": None if schema is None else _check_columns(name, mtype, schema)}}
    if mtype == "table_schema":
        cols = raw.get("columns", raw.get("schema")) if isinstance(raw, dict) else raw
        return {"type": "table_schema", "raw_value": {"columns": _check_columns(name, mtype, cols)}}
    # table_column_lineage
    deps = raw.get("deps_by_column") if isinstance(raw, dict) else None
    if not isinstance(deps, dict):
        raise _err(name, mtype, "{'deps_by_column': {column: [deps]}}", raw)
    out: dict[str, list[dict[str, Any]]] = {}
    for col, items in deps.items():
        if not isinstance(items, list):
            raise _err(name, mtype, f"a list of deps for column {col!r}", items)
        fixed = []
        for dep in items:
            key = dep.get("asset_key") if isinstance(dep, dict) else None
            if isinstance(key, str):
                key = [key]
            if not (isinstance(key, list) and key and all(isinstance(p, str) for p in key)
                    and isinstance(dep.get("column_name"), str)):
                raise _err(name, mtype, "deps like {'asset_key': str|[str], 'column_name': str}",
                           dep)
            fixed.append({"asset_key": key, "column_name": dep["column_name"]})
        out[col] = fixed
    return {"type": "table_column_lineage", "raw_value": {"deps_by_column": out}}


def normalize_metadata(metadata: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Validate and normalize received metadata for the HOST (the one place values are checked).

    Returns ``{name: {"type": T, "raw_value": X}}`` with ``__infer__`` resolved and values
    coerced where the intent is clear: an int where a float is expected, ``1.0`` where an int
    is expected, NaN/Infinity (tokens or the strings ``"NaN"``/``"Infinity"``), ISO strings for
    ``timestamp``, bare values (inferred). Normalized shapes: ``asset`` → list of components,
    lineage ``asset_key`` → list of components. A genuinely wrong value raises
    :class:`ProtocolError` naming the entry::

        >>> normalize_metadata({"n": {"type": "float", "raw_value": 1}, "k": 2})
        {'n': {'type': 'float', 'raw_value': 1.0}, 'k': {'type': 'int', 'raw_value': 2}}
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ProtocolError(
            f"metadata must be an object {{name: {{'type', 'raw_value'}}}} or null, got "
            f"{type(metadata).__name__} {quote(metadata)}"
        )
    result: dict[str, dict[str, Any]] = {}
    for name, entry in metadata.items():
        if not isinstance(name, str):
            raise ProtocolError(f"metadata entry name {quote(name)} must be a string")
        if isinstance(entry, dict) and "type" in entry and "raw_value" in entry:
            result[name] = _normalize_entry(name, entry["type"], entry["raw_value"])
        else:
            try:
                result[name] = infer_metadata_entry(entry)
            except ProtocolError as exc:
                raise ProtocolError(f"metadata entry {name!r}: {exc}") from None
    return result
