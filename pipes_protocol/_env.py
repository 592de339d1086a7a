"""Context keys, negotiated features, bootstrap carriers and plain env vars for shells."""

from __future__ import annotations

from typing import Any

from ._base import ENV_CONTEXT, ENV_MESSAGES, FEATURES_KEY, FEATURES_VERSION, ProtocolError, quote

__all__ = [
    "CLI_BOOTSTRAP_FILE_ARG",
    "CLI_CONTEXT_ARG",
    "CLI_MESSAGES_ARG",
    "CONTEXT_KEYS",
    "ENV_BOOTSTRAP_FILE",
    "FEATURES",
    "bootstrap_cli_args",
    "bootstrap_env_vars",
    "make_features",
    "plain_env_vars",
]

#: The 10 context keys every host sends (``null`` where a value does not apply).
CONTEXT_KEYS: tuple[str, ...] = (
    "asset_keys",
    "code_version_by_asset_key",
    "provenance_by_asset_key",
    "partition_key",
    "partition_key_range",
    "partition_time_window",
    "run_id",
    "job_name",
    "retry_number",
    "extras",
)
#: Extension features a host may advertise under ``context["pipes_features"]["features"]``.
FEATURES: tuple[str, ...] = ("outputs", "progress", "heartbeat", "context_ref", "check_targets")

CLI_CONTEXT_ARG = "--dagster-pipes-context"
CLI_MESSAGES_ARG = "--dagster-pipes-messages"
CLI_BOOTSTRAP_FILE_ARG = "--pipes-bootstrap-file"
ENV_BOOTSTRAP_FILE = "PIPES_BOOTSTRAP_FILE"


def make_features(
    features: list[str] | tuple[str, ...] = FEATURES,
    *,
    heartbeat_interval: float = 30.0,
    outputs: dict[str, str] | None = None,
    output_formats: list[str] | tuple[str, ...] = ("json", "parquet"),
    check_targets: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The ``pipes_features`` object a host puts in the context to advertise extensions.

        >>> make_features(["progress"])
        {'version': '1', 'features': ['progress']}
        >>> make_features(["outputs"], outputs={"a": "/tmp/out/a"})["outputs"]
        {'a': '/tmp/out/a'}

    ``outputs`` maps each escaped asset key to a base URL (local path or fsspec URL) without
    extension; the client writes ``<base>.<format>`` and reports it with ``report_output``.

    ``check_targets`` maps the escaped key of an asset the step does *not* materialize to the
    names of the checks the step declares on it (e.g. dbt source tests on an upstream asset);
    a client may then send ``report_asset_check`` for exactly those pairs:

        >>> make_features(["check_targets"], check_targets={"raw/orders": ["fresh"]})
        {'version': '1', 'features': ['check_targets'], 'check_targets': {'raw/orders': ['fresh']}}
    """
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ProtocolError(f"unknown feature(s) {quote(unknown)}; known: {', '.join(FEATURES)}")
    out: dict[str, Any] = {"version": FEATURES_VERSION, "features": list(features)}
    if "heartbeat" in features:
        out["heartbeat_interval"] = float(heartbeat_interval)
    if "outputs" in features:
        out["outputs"] = dict(outputs or {})
        out["output_formats"] = list(output_formats)
    if "check_targets" in features:
        targets: dict[str, list[str]] = {}
        for key, names in (check_targets or {}).items():
            if not isinstance(key, str) or not key or isinstance(names, str) or not all(
                    isinstance(n, str) and n for n in names):
                raise ProtocolError(
                    f"check_targets: expected {{escaped asset key: [check name, ...]}}, got "
                    f"{quote(key)}: {quote(names)}; escape keys with escape_asset_key()")
            targets[key] = list(names)
        out["check_targets"] = targets
    return out


def bootstrap_env_vars(context_params: dict[str, Any],
                       message_params: dict[str, Any]) -> dict[str, str]:
    """``{DAGSTER_PIPES_CONTEXT: ..., DAGSTER_PIPES_MESSAGES: ...}`` for a child's environment."""
    from ._bootstrap import encode_bootstrap

    return {ENV_CONTEXT: encode_bootstrap(context_params),
            ENV_MESSAGES: encode_bootstrap(message_params)}


def bootstrap_cli_args(context_params: dict[str, Any], message_params: dict[str, Any]) -> list[str]:
    """``["--dagster-pipes-context", v, "--dagster-pipes-messages", v]`` as Dagster passes them."""
    env = bootstrap_env_vars(context_params, message_params)
    return [CLI_CONTEXT_ARG, env[ENV_CONTEXT], CLI_MESSAGES_ARG, env[ENV_MESSAGES]]


def _set(out: dict[str, str], name: str, value: Any) -> None:
    if value is not None:
        out[name] = str(value)


def plain_env_vars(context: dict[str, Any], message_params: dict[str, Any]) -> dict[str, str]:
    """Plain ``PIPES_*`` variables next to the encoded bootstrap, for shells and tools that
    cannot decode base64+zlib. A variable is left out when its value is null.

    ``PIPES_ASSET_KEYS`` holds the escaped asset keys joined by newlines (``\\n``), so a shell
    loops over them with ``IFS`` set to a newline; ``PIPES_ASSET_KEY`` (and
    ``PIPES_CODE_VERSION``) are set only when exactly one asset is in scope::

        >>> env = plain_env_vars({"run_id": "r1", "asset_keys": ["a/b"], "retry_number": 0},
        ...                      {"path": "/tmp/msgs"})
        >>> env["PIPES_ASSET_KEY"], env["PIPES_MESSAGES_PATH"], env["PIPES_RETRY_NUMBER"]
        ('a/b', '/tmp/msgs', '0')
    """
    import json

    if not isinstance(context, dict):
        raise ProtocolError(f"context must be a dict, got {type(context).__name__}")
    if not isinstance(message_params, dict):
        raise ProtocolError(f"message params must be a dict, got {type(message_params).__name__}")
    out: dict[str, str] = {"PIPES_PROTOCOL_VERSION": "0.1"}
    _set(out, "PIPES_RUN_ID", context.get("run_id"))
    _set(out, "PIPES_JOB_NAME", context.get("job_name"))
    _set(out, "PIPES_RETRY_NUMBER", context.get("retry_number"))
    keys = context.get("asset_keys") or []
    if keys:
        out["PIPES_ASSET_KEYS"] = "\n".join(keys)
    if len(keys) == 1:
        out["PIPES_ASSET_KEY"] = keys[0]
        versions = context.get("code_version_by_asset_key") or {}
        _set(out, "PIPES_CODE_VERSION", versions.get(keys[0]))
    _set(out, "PIPES_PARTITION_KEY", context.get("partition_key"))
    rng = context.get("partition_key_range") or {}
    _set(out, "PIPES_PARTITION_KEY_RANGE_START", rng.get("start"))
    _set(out, "PIPES_PARTITION_KEY_RANGE_END", rng.get("end"))
    win = context.get("partition_time_window") or {}
    _set(out, "PIPES_PARTITION_TIME_WINDOW_START", win.get("start"))
    _set(out, "PIPES_PARTITION_TIME_WINDOW_END", win.get("end"))
    out["PIPES_EXTRAS"] = json.dumps(context.get("extras") or {}, separators=(",", ":"))
    feats = context.get(FEATURES_KEY) or {}
    if feats.get("features"):
        out["PIPES_FEATURES"] = ",".join(feats["features"])
        if "heartbeat" in feats["features"]:
            _set(out, "PIPES_HEARTBEAT_INTERVAL", feats.get("heartbeat_interval"))
    if "path" in message_params:
        out["PIPES_MESSAGES_PATH"] = str(message_params["path"])
    elif "stdio" in message_params or "buffered_stdio" in message_params:
        stream = message_params.get("stdio") or message_params.get("buffered_stdio")
        if stream not in ("stdout", "stderr"):
            raise ProtocolError(
                f"message params {quote(message_params)}: stdio must be 'stdout' or 'stderr'"
            )
        out["PIPES_MESSAGES_STDIO"] = stream
    return out
