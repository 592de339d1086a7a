"""Constants and the one exception class of the pipes protocol (no imports beyond builtins)."""

from __future__ import annotations

PROTOCOL_VERSION = "0.1"
ENV_CONTEXT = "DAGSTER_PIPES_CONTEXT"
ENV_MESSAGES = "DAGSTER_PIPES_MESSAGES"
VERSION_KEY = "__dagster_pipes_version"
FEATURES_KEY = "pipes_features"
FEATURES_VERSION = "1"

_MAX_QUOTE = 200


class ProtocolError(ValueError):
    """Something on the wire does not follow the pipes protocol.

    The message quotes the offending value (truncated to a few hundred characters), says
    what was expected and how to fix it::

        >>> from pipes_protocol import ProtocolError, parse_message
        >>> try:
        ...     parse_message('{"method": "nope", "params": {}}')
        ... except ProtocolError as exc:
        ...     print(str(exc).split(";")[0])
        unknown message method 'nope' in line '{"method": "nope", "params": {}}'
    """


def quote(value: object, limit: int = _MAX_QUOTE) -> str:
    """``repr`` of *value*, cut to *limit* characters with a marker when longer."""
    text = repr(value)
    if len(text) > limit:
        return text[: limit - 15] + f"...<{len(text)} chars>"
    return text
