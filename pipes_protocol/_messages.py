"""Message envelope, the per-method parameter table, and the host/client codecs."""

from __future__ import annotations

from typing import Any

from ._asset_key import escape_asset_key, unescape_asset_key
from ._base import PROTOCOL_VERSION, VERSION_KEY, ProtocolError, quote
from ._metadata import normalize_metadata

__all__ = [
    "EXTENSION_METHODS",
    "LOG_LEVELS",
    "METHOD_PARAMS",
    "OUTPUT_FORMATS",
    "dump_message",
    "make_message",
    "normalize_exception",
    "parse_message",
    "try_parse_message",
]

_OMIT = "omit"  # default marker: leave the key out when the value is null (see ``closed``)

#: One table for every method: ``{method: {param: (kind, required, default)}}``.
#: ``kind`` names a value check (see ``_KINDS``); a param that is not required is filled with
#: ``default`` when missing (``"omit"``: left out). Every key listed is sent by our clients
#: (Dagster's host dispatches ``**params`` and rejects missing or extra keys).
METHOD_PARAMS: dict[str, dict[str, tuple[str, bool, Any]]] = {
    "opened": {"extras": ("object", False, {})},
    "closed": {"exception": ("exception|null", False, _OMIT)},
    "log": {"message": ("string", True, None), "level": ("level", False, "INFO")},
    "report_asset_materialization": {
        "asset_key": ("asset_key|null", False, None),
        "data_version": ("string|null", False, None),
        "metadata": ("metadata|null", False, None),
    },
    "report_asset_check": {
        "asset_key": ("asset_key|null", False, None),
        "check_name": ("string", True, None),
        "passed": ("bool", True, None),
        "severity": ("severity", False, "ERROR"),
        "metadata": ("metadata|null", False, None),
    },
    "report_custom_message": {"payload": ("any", False, None)},
    "log_external_stream": {
        "stream": ("stream", True, None),
        "text": ("string", True, None),
        "extras": ("object", False, {}),
    },
    # negotiated extensions (sent only when the context's pipes_features lists the feature)
    "report_output": {
        "asset_key": ("asset_key|null", False, None),
        "url": ("string", True, None),
        "format": ("format", True, None),
        "metadata": ("metadata|null", False, None),
    },
    "progress": {
        "asset_key": ("asset_key|null", False, None),
        "current": ("number", True, None),
        "total": ("number|null", False, None),
        "message": ("string|null", False, None),
    },
    "heartbeat": {},
}

#: Extension method -> the feature a host must advertise before a client may send it.
EXTENSION_METHODS: dict[str, str] = {
    "report_output": "outputs",
    "progress": "progress",
    "heartbeat": "heartbeat",
}
#: Formats of ``report_output``: JSON for plain values, Parquet for tables, pickle for
#: Python-to-Python values (only when the host lists it in ``output_formats``).
OUTPUT_FORMATS: tuple[str, ...] = ("json", "parquet", "pickle")
#: Canonical log levels; ``WARN`` and ``FATAL`` are read as ``WARNING`` and ``CRITICAL``.
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}


def _bad(method: str, param: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError(
        f"{method}: param {param!r} must be {expected}, got {type(value).__name__} "
        f"{quote(value)}"
    )


def normalize_exception(exc: Any, _depth: int = 0) -> dict[str, Any] | None:
    """Check a ``closed`` exception object and fill missing keys (host side).

    Shape: ``{"name": str|null, "message": str, "stack": [str], "cause": exc|null,
    "context": exc|null}``. A bare string becomes ``{"message": s, ...}``; a ``stack`` given
    as one string is split into lines; chains deeper than 32 are cut.
    """
    if exc is None or _depth > 32:
        return None
    if isinstance(exc, str):
        return {"name": None, "message": exc, "stack": [], "cause": None, "context": None}
    if not isinstance(exc, dict):
        raise ProtocolError(
            f"closed: 'exception' must be an object {{name, message, stack, cause, context}}, "
            f"got {type(exc).__name__} {quote(exc)}"
        )
    name = exc.get("name")
    message = exc.get("message", "")
    stack = exc.get("stack") or []
    if isinstance(stack, str):
        stack = stack.splitlines(keepends=True)
    if name is not None and not isinstance(name, str):
        raise _bad("closed", "exception.name", "a string or null", name)
    if not isinstance(message, str):
        raise _bad("closed", "exception.message", "a string", message)
    if not isinstance(stack, list) or not all(isinstance(s, str) for s in stack):
        raise _bad("closed", "exception.stack", "a list of strings", stack)
    return {
        "name": name,
        "message": message,
        "stack": list(stack),
        "cause": normalize_exception(exc.get("cause"), _depth + 1),
        "context": normalize_exception(exc.get("context"), _depth + 1),
    }


def _check(method: str, param: str, kind: str, value: Any, host: bool) -> Any:
    """Validate one param value; on the host also normalize it (levels, keys, metadata)."""
    nullable = kind.endswith("|null")
    base = kind[:-5] if nullable else kind
    if value is None:
        if nullable or base == "any":
            return None
        raise _bad(method, param, base.replace("_", " "), value)
    if base == "any":
        return value
    if base == "object":
        if not isinstance(value, dict):
            raise _bad(method, param, "an object", value)
        return value
    if base == "string":
        if not isinstance(value, str):
            raise _bad(method, param, "a string", value)
        return value
    if base == "bool":
        if not isinstance(value, bool):
            raise _bad(method, param, "true or false", value)
        return value
    if base == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(method, param, "a number", value)
        return value
    if base == "asset_key":
        if host and isinstance(value, list):
            return escape_asset_key(value)
        if not isinstance(value, str):
            raise _bad(method, param, "an escaped asset key string like 'a/b'", value)
        unescape_asset_key(value)
        return value
    if base == "level":
        if isinstance(value, int) and not isinstance(value, bool):
            if not host:
                return value
            idx = max(0, min(4, value // 10 - 1))
            return LOG_LEVELS[idx]
        if not isinstance(value, str):
            raise _bad(method, param, f"one of {', '.join(LOG_LEVELS)}", value)
        up = value.upper()
        up = _LEVEL_ALIASES.get(up, up)
        if up not in LOG_LEVELS:
            raise _bad(method, param, f"one of {', '.join(LOG_LEVELS)} (any case)", value)
        return up if host else value
    if base == "severity":
        if not isinstance(value, str) or value.upper() not in ("WARN", "ERROR"):
            raise _bad(method, param, "'WARN' or 'ERROR'", value)
        return value.upper()
    if base == "stream":
        if value not in ("stdout", "stderr"):
            raise _bad(method, param, "'stdout' or 'stderr'", value)
        return value
    if base == "format":
        if value not in OUTPUT_FORMATS:
            raise _bad(method, param, f"one of {', '.join(OUTPUT_FORMATS)}", value)
        return value
    if base == "metadata":
        if host:
            return normalize_metadata(value) or None
        if not isinstance(value, dict):
            raise _bad(method, param, "an object of metadata entries or null", value)
        return value
    if base == "exception":
        return normalize_exception(value) if host else value
    raise AssertionError(f"unknown kind {kind}")  # pragma: no cover


def make_message(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build a complete envelope (client side): every listed param present, none extra.

        >>> make_message("log", {"message": "hi"})  # doctest: +NORMALIZE_WHITESPACE
        {'__dagster_pipes_version': '0.1', 'method': 'log',
         'params': {'message': 'hi', 'level': 'INFO'}}
        >>> make_message("closed")
        {'__dagster_pipes_version': '0.1', 'method': 'closed', 'params': {}}
    """
    spec = METHOD_PARAMS.get(method)
    if spec is None:
        raise ProtocolError(
            f"unknown message method {quote(method)}; use one of {', '.join(METHOD_PARAMS)}"
        )
    given = dict(params or {})
    extra = sorted(set(given) - set(spec))
    if extra:
        raise ProtocolError(
            f"{method}: unexpected param(s) {', '.join(map(repr, extra))}; "
            f"allowed: {', '.join(spec) or '(none)'}"
        )
    out: dict[str, Any] = {}
    for name, (kind, required, default) in spec.items():
        if name in given:
            value = given[name]
        elif required:
            raise ProtocolError(f"{method}: missing required param {name!r}")
        else:
            value = default
        if value is _OMIT or (value is None and default is _OMIT):
            continue
        if isinstance(value, dict) and value is default:
            value = {}
        out[name] = _check(method, name, kind, value, host=False)
    return {VERSION_KEY: PROTOCOL_VERSION, "method": method, "params": out}


def dump_message(msg: dict[str, Any]) -> str:
    """Serialize an envelope to one JSON line (no trailing newline), checking it first.

    Output is Python's default ``json.dumps`` (ASCII only, so any reader can split on ``\\n``).
    NaN/Infinity float metadata is written as the tokens Dagster's host accepts.
    """
    import json

    if not isinstance(msg, dict) or "method" not in msg:
        raise ProtocolError(f"message {quote(msg)} must be a dict made by make_message()")
    checked = make_message(msg["method"], msg.get("params"))
    try:
        return json.dumps(checked)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(
            f"{msg['method']}: params are not JSON-serializable ({exc}); convert values to "
            "str/int/float/bool/None/list/dict"
        ) from None


def _line_text(line: str | bytes) -> str:
    if isinstance(line, bytes):
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(f"message line {quote(line)} is not UTF-8") from None
    if not isinstance(line, str):
        raise ProtocolError(f"message line must be str or bytes, got {type(line).__name__}")
    return line


def parse_message(line: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """Parse and validate one received message (HOST side).

    Lenient about what it reads: surrounding whitespace, a missing version key (file
    channel), missing optional params (filled with their defaults), ``params: null``, a list
    ``asset_key``, level/severity in any case, Rust-style ``closed`` params that hold the
    exception fields directly, extra keys (kept, and reported in ``"warnings"``). Strict about
    what is broken: malformed JSON, an unknown method, a missing required param, a wrong
    param type or bad metadata raise :class:`ProtocolError` quoting the (truncated) line.

    Returns ``{"__dagster_pipes_version", "method", "params", "warnings": [str]}`` with params
    normalized (metadata via :func:`normalize_metadata`, levels upper-case)::

        >>> m = parse_message('{"__dagster_pipes_version": "0.1", "method": "log", '
        ...                   '"params": {"message": "hi", "level": "warn"}}')
        >>> m["params"], m["warnings"]
        ({'message': 'hi', 'level': 'WARNING'}, [])
    """
    import json

    if isinstance(line, dict):
        raw: Any = line
        shown = quote(line)
    else:
        text = _line_text(line)
        shown = quote(text.strip())
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ProtocolError(f"malformed JSON in message line {shown}: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"message line {shown} is not a JSON object")
    warnings: list[str] = []
    version = raw.get(VERSION_KEY)
    if version is None:
        warnings.append(f"message has no {VERSION_KEY!r} key")
        version = PROTOCOL_VERSION
    elif not isinstance(version, str) or not version.startswith("0."):
        raise ProtocolError(
            f"unsupported protocol version {quote(version)} in line {shown}; this host "
            f"speaks {PROTOCOL_VERSION}"
        )
    elif version != PROTOCOL_VERSION:
        warnings.append(f"protocol version {version!r} read as {PROTOCOL_VERSION!r}")
    method = raw.get("method")
    spec = METHOD_PARAMS.get(method) if isinstance(method, str) else None
    if spec is None:
        raise ProtocolError(
            f"unknown message method {quote(method)} in line {shown}; known methods: "
            f"{', '.join(METHOD_PARAMS)}"
        )
    extra_top = sorted(set(raw) - {VERSION_KEY, "method", "params"})
    if extra_top:
        warnings.append(f"extra envelope key(s) {', '.join(map(repr, extra_top))} ignored")
    params = raw.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ProtocolError(f"params of {method} must be an object or null in line {shown}")
    params = dict(params)
    if method == "closed" and "exception" not in params and "message" in params:
        warnings.append("closed: exception fields found directly in params (read as exception)")
        params = {"exception": params}
    out: dict[str, Any] = {}
    try:
        for name, (kind, required, default) in spec.items():
            if name in params:
                value = params.pop(name)
            elif required:
                raise ProtocolError(f"{method}: missing required param {name!r}")
            else:
                value = None if default is _OMIT else default
                if isinstance(value, dict):
                    value = {}
            out[name] = _check(method, name, kind, value, host=True)
    except ProtocolError as exc:
        raise ProtocolError(f"{exc} in line {shown}") from None
    if params:
        warnings.append(f"{method}: unknown param(s) {', '.join(map(repr, sorted(params)))} kept")
        out.update(params)
    return {VERSION_KEY: version, "method": method, "params": out, "warnings": warnings}


def try_parse_message(line: str | bytes) -> dict[str, Any] | None:
    """For stream channels: ``None`` when *line* is not a pipes message (ordinary output:
    not a JSON object, or no version key), else :func:`parse_message`'s result (which raises
    :class:`ProtocolError` if the line claims to be a message but is broken)."""
    import json

    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    if VERSION_KEY not in text:
        return None
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        raw = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(raw, dict) or VERSION_KEY not in raw:
        return None
    return parse_message(raw)
