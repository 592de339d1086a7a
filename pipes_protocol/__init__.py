"""The pipes protocol: codec, parameter tables, schemas and conformance vectors.

Stdlib only and cheap to import; shared by the orchestrator (host) and the Python client.
Wire-compatible with Dagster Pipes 0.1 (see ``docs/protocol.md``)::

    >>> from pipes_protocol import make_message, dump_message, parse_message
    >>> line = dump_message(make_message("log", {"message": "hello", "level": "INFO"}))
    >>> parse_message(line)["params"]
    {'message': 'hello', 'level': 'INFO'}
"""

from __future__ import annotations

from ._asset_key import escape_asset_key, unescape_asset_key
from ._base import (
    ENV_CONTEXT,
    ENV_MESSAGES,
    FEATURES_KEY,
    FEATURES_VERSION,
    PROTOCOL_VERSION,
    VERSION_KEY,
    ProtocolError,
)
from ._bootstrap import decode_bootstrap, encode_bootstrap
from ._env import (
    CLI_BOOTSTRAP_FILE_ARG,
    CLI_CONTEXT_ARG,
    CLI_MESSAGES_ARG,
    CONTEXT_KEYS,
    ENV_BOOTSTRAP_FILE,
    FEATURES,
    bootstrap_cli_args,
    bootstrap_env_vars,
    make_features,
    plain_env_vars,
)
from ._messages import (
    EXTENSION_METHODS,
    LOG_LEVELS,
    METHOD_PARAMS,
    OUTPUT_FORMATS,
    dump_message,
    make_message,
    normalize_exception,
    parse_message,
    try_parse_message,
)
from ._metadata import METADATA_TYPES, infer_metadata_entry, normalize_metadata

__all__ = [
    "CLI_BOOTSTRAP_FILE_ARG",
    "CLI_CONTEXT_ARG",
    "CLI_MESSAGES_ARG",
    "CONTEXT_KEYS",
    "ENV_BOOTSTRAP_FILE",
    "ENV_CONTEXT",
    "ENV_MESSAGES",
    "EXTENSION_METHODS",
    "FEATURES",
    "FEATURES_KEY",
    "FEATURES_VERSION",
    "LOG_LEVELS",
    "METADATA_TYPES",
    "METHOD_PARAMS",
    "OUTPUT_FORMATS",
    "PROTOCOL_VERSION",
    "VERSION_KEY",
    "ProtocolError",
    "bootstrap_cli_args",
    "bootstrap_env_vars",
    "decode_bootstrap",
    "dump_message",
    "encode_bootstrap",
    "escape_asset_key",
    "infer_metadata_entry",
    "make_features",
    "make_message",
    "normalize_exception",
    "normalize_metadata",
    "parse_message",
    "plain_env_vars",
    "schema_path",
    "try_parse_message",
    "unescape_asset_key",
    "vectors_path",
]


def schema_path(name: str = "") -> str:
    """Path of the JSON Schema directory, or of ``schemas/<name>.json``."""
    import os

    base = os.path.join(os.path.dirname(__file__), "schemas")
    return os.path.join(base, f"{name}.json") if name else base


def vectors_path(name: str = "") -> str:
    """Path of the conformance-vector directory, or of ``vectors/<name>.json``."""
    import os

    base = os.path.join(os.path.dirname(__file__), "vectors")
    return os.path.join(base, f"{name}.json") if name else base
