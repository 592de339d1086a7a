"""Bootstrap payload codec: ``base64(zlib(json(params)))``, byte-compatible with Dagster."""

from __future__ import annotations

from typing import Any

from ._base import ProtocolError, quote

__all__ = ["decode_bootstrap", "encode_bootstrap"]


def encode_bootstrap(params: dict[str, Any]) -> str:
    """Encode bootstrap params (context params or message params) for an env var or argument.

    The output is exactly what Dagster produces: Python's default ``json.dumps`` (ASCII,
    ``", "`` and ``": "`` separators), zlib at the default level, standard base64 with padding::

        >>> encode_bootstrap({"path": "/tmp/ctx.json"})[:2]
        'eJ'
        >>> decode_bootstrap(encode_bootstrap({"path": "/tmp/ctx.json"}))
        {'path': '/tmp/ctx.json'}
    """
    import base64
    import json
    import zlib

    if not isinstance(params, dict):
        raise ProtocolError(
            f"bootstrap params must be a JSON object (dict), got {type(params).__name__} "
            f"{quote(params)}; pass e.g. {{'path': '/tmp/context.json'}}"
        )
    try:
        text = json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(
            f"bootstrap params {quote(params)} are not JSON-serializable: {exc}; "
            "use only str, int, float, bool, None, list and dict values"
        ) from None
    return base64.b64encode(zlib.compress(text.encode("utf-8"))).decode("ascii")


def decode_bootstrap(value: str | bytes) -> dict[str, Any]:
    """Decode a ``DAGSTER_PIPES_CONTEXT`` / ``DAGSTER_PIPES_MESSAGES`` value into params.

    Lenient where the intent is unambiguous: surrounding whitespace, missing ``=`` padding and
    the URL-safe base64 alphabet (``-``/``_``) are accepted. Strict where a producer is broken
    (its output would also break Dagster's own clients): raw JSON, gzip or raw deflate instead of
    zlib, non-base64 text, or a payload that is not a JSON object raise :class:`ProtocolError`
    saying which of these it looks like and how to produce the right encoding::

        >>> decode_bootstrap("eJyrVipILMlQslJQKskt0E/OzytJrSjRyyrOz1OqBQCK0An1")
        {'path': 'tmp/context.json'}
    """
    import base64
    import binascii
    import json
    import zlib

    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise ProtocolError(
                f"bootstrap value {quote(value)} is not ASCII base64 text; "
                "encode params as base64(zlib(json)) (pipes_protocol.encode_bootstrap)"
            ) from None
    if not isinstance(value, str):
        raise ProtocolError(
            f"bootstrap value must be a string, got {type(value).__name__} {quote(value)}"
        )
    how = "encode params as base64(zlib(json)) with pipes_protocol.encode_bootstrap"
    text = value.strip()
    if not text:
        raise ProtocolError(f"bootstrap value is empty ({quote(value)}); {how}")
    if text[0] in "{[":
        raise ProtocolError(
            f"bootstrap value {quote(value)} looks like raw JSON, not base64(zlib(json)); {how}"
        )
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(
            f"bootstrap value {quote(value)} is not valid base64 (standard alphabet, "
            f"characters A-Z a-z 0-9 + / =); {how}"
        ) from None
    if raw[:2] == b"\x1f\x8b":
        raise ProtocolError(
            f"bootstrap value {quote(value)} is base64 of gzip data; the protocol uses zlib "
            f"(RFC 1950, bytes start 78 xx), not gzip, despite Dagster's docstring; {how}"
        )
    try:
        data = zlib.decompress(raw)
    except zlib.error as exc:
        hint = "raw deflate or other data" if raw[:1] != b"\x78" else "truncated zlib data"
        raise ProtocolError(
            f"bootstrap value {quote(value)} is base64 but not zlib data ({hint}: {exc}); {how}"
        ) from None
    try:
        params = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(
            f"bootstrap value {quote(value)} decompresses to invalid UTF-8 JSON ({exc}); {how}"
        ) from None
    if not isinstance(params, dict):
        raise ProtocolError(
            f"bootstrap value {quote(value)} decodes to {type(params).__name__} "
            f"{quote(params)}, expected a JSON object such as {{\"path\": ...}}"
        )
    return params
