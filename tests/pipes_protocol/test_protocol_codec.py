"""The Python codec against the language-neutral vectors, plus direct edge cases."""

from __future__ import annotations

import doctest
import json
import math

import pytest
from pp_vectors import load_vectors, strict_equal

import pipes_protocol
from pipes_protocol import (
    ProtocolError,
    decode_bootstrap,
    dump_message,
    encode_bootstrap,
    escape_asset_key,
    infer_metadata_entry,
    make_message,
    normalize_metadata,
    parse_message,
    plain_env_vars,
    try_parse_message,
    unescape_asset_key,
)

BOOT = load_vectors("bootstrap")
KEYS = load_vectors("asset_keys")
META = load_vectors("metadata")
INFER = load_vectors("inference")
MSGS = load_vectors("messages")


@pytest.mark.parametrize("case", BOOT["cases"], ids=lambda c: c["name"])
def test_bootstrap_roundtrip_is_byte_exact(case):
    assert decode_bootstrap(case["encoded"]) == case["params"]
    assert encode_bootstrap(case["params"]) == case["encoded"]


@pytest.mark.parametrize("case", BOOT["lenient"], ids=lambda c: c["name"])
def test_bootstrap_lenient_inputs(case):
    assert decode_bootstrap(case["encoded"]) == case["params"]


@pytest.mark.parametrize("case", BOOT["invalid"], ids=lambda c: c["name"])
def test_bootstrap_invalid_inputs(case):
    with pytest.raises(ProtocolError, match=case["error"]) as info:
        decode_bootstrap(case["encoded"])
    assert "encode_bootstrap" in str(info.value) or "JSON object" in str(info.value)


def test_encode_bootstrap_rejects_non_json():
    with pytest.raises(ProtocolError, match="not JSON-serializable"):
        encode_bootstrap({"x": object()})
    with pytest.raises(ProtocolError, match="must be a JSON object"):
        encode_bootstrap(["path"])  # type: ignore[arg-type]


@pytest.mark.parametrize("case", KEYS["cases"], ids=lambda c: c["escaped"])
def test_asset_key_roundtrip(case):
    assert escape_asset_key(case["parts"]) == case["escaped"]
    assert unescape_asset_key(case["escaped"]) == case["parts"]


@pytest.mark.parametrize("case", KEYS["decode_only"], ids=lambda c: c["escaped"])
def test_asset_key_decode_only(case):
    assert unescape_asset_key(case["escaped"]) == case["parts"]


@pytest.mark.parametrize("case", KEYS["invalid"], ids=lambda c: c["escaped"] or "empty")
def test_asset_key_invalid(case):
    with pytest.raises(ProtocolError, match=case["error"]):
        unescape_asset_key(case["escaped"])


def test_escape_asset_key_accepts_asset_key_objects_and_rejects_bad_parts():
    from orchestrator.asset_key import AssetKey

    assert escape_asset_key(AssetKey(["a", "b/c"])) == "a/b\\/c"
    assert escape_asset_key("a/b") == "a\\/b"  # a str is ONE component
    with pytest.raises(ProtocolError, match="empty"):
        escape_asset_key([])
    with pytest.raises(ProtocolError, match="non-string component 3"):
        escape_asset_key(["a", 3])


@pytest.mark.parametrize("case", META["valid"], ids=lambda c: c["name"])
def test_metadata_normalization(case):
    got = normalize_metadata({"m": case["entry"]})["m"]
    if "normalized_special" in case:
        want = float(case["normalized_special"])
        assert got["type"] == "float"
        assert math.isnan(want) and math.isnan(got["raw_value"]) or got["raw_value"] == want
    else:
        assert strict_equal(got, case["normalized"]), (got, case["normalized"])


@pytest.mark.parametrize("case", META["invalid"], ids=lambda c: c["name"])
def test_metadata_invalid_names_the_entry(case):
    with pytest.raises(ProtocolError, match="metadata entry 'the_entry'"):
        normalize_metadata({"the_entry": case["entry"]})


def test_normalize_metadata_edge_cases():
    assert normalize_metadata(None) == {}
    assert normalize_metadata({"n": float("inf")})["n"] == {"type": "float", "raw_value": math.inf}
    with pytest.raises(ProtocolError, match="must be an object"):
        normalize_metadata(["x"])  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="metadata entry 'o'"):
        normalize_metadata({"o": object()})


@pytest.mark.parametrize("case", INFER["cases"], ids=lambda c: json.dumps(c["value"]))
def test_inference(case):
    assert strict_equal(infer_metadata_entry(case["value"]), case["entry"])


def test_inference_of_python_objects():
    import datetime
    import pathlib

    when = datetime.datetime(2024, 3, 5, tzinfo=datetime.UTC)
    assert infer_metadata_entry(when) == {"type": "timestamp", "raw_value": 1709596800.0}
    assert infer_metadata_entry(pathlib.Path("/x/y")) == {"type": "path", "raw_value": "/x/y"}
    assert infer_metadata_entry((1, 2)) == {"type": "json", "raw_value": [1, 2]}
    with pytest.raises(ProtocolError, match="cannot infer a metadata type for set"):
        infer_metadata_entry({1, 2})
    with pytest.raises(ProtocolError, match="unknown type 'nope'"):
        infer_metadata_entry({"type": "nope", "raw_value": 1})


@pytest.mark.parametrize("case", MSGS["cases"], ids=lambda c: c["name"])
def test_message_vectors(case):
    if case["verdict"] == "reject":
        with pytest.raises(ProtocolError, match=case["error"]) as info:
            parse_message(case["line"])
        assert "line" in str(info.value)
        return
    got = parse_message(case["line"])
    assert got["method"] == case["method"]
    assert len(got["warnings"]) == case["warnings"], got["warnings"]
    if case["params"] is not None:
        assert strict_equal(got["params"], case["params"]), got["params"]


def test_parse_message_accepts_bytes_and_quotes_long_lines():
    assert parse_message(b'{"method": "heartbeat", "params": null}')["method"] == "heartbeat"
    long_line = '{"method": "nope", "params": {"x": "' + "y" * 5000 + '"}}'
    with pytest.raises(ProtocolError) as info:
        parse_message(long_line)
    assert len(str(info.value)) < 800 and "chars>" in str(info.value)


def test_try_parse_message_separates_output_from_messages():
    assert try_parse_message("plain output line\n") is None
    assert try_parse_message('{"other": "json"}') is None
    assert try_parse_message('not json but mentions __dagster_pipes_version') is None
    msg = try_parse_message('{"__dagster_pipes_version": "0.1", "method": "log", '
                            '"params": {"message": "m", "level": "INFO"}}\n')
    assert msg is not None and msg["params"]["message"] == "m"
    with pytest.raises(ProtocolError, match="unknown message method"):
        try_parse_message('{"__dagster_pipes_version": "0.1", "method": "x", "params": {}}')


def test_make_and_dump_are_strict():
    line = dump_message(make_message("report_asset_materialization", {"asset_key": "a"}))
    assert "\n" not in line
    assert json.loads(line)["params"] == {"asset_key": "a", "data_version": None, "metadata": None}
    # closed without exception omits the key (Dagster's host would choke on "exception": null)
    assert json.loads(dump_message(make_message("closed")))["params"] == {}
    with pytest.raises(ProtocolError, match="unexpected param"):
        make_message("log", {"message": "m", "lvl": "INFO"})
    with pytest.raises(ProtocolError, match="missing required param 'message'"):
        make_message("log", {})
    with pytest.raises(ProtocolError, match="unknown message method"):
        make_message("observe", {})
    with pytest.raises(ProtocolError, match="'passed' must be true or false"):
        make_message("report_asset_check", {"check_name": "c", "passed": "no"})
    with pytest.raises(ProtocolError, match="not JSON-serializable"):
        dump_message(make_message("report_custom_message", {"payload": object()}))
    line = dump_message(make_message("log", {"message": "h\u00e9\n"}))
    assert line.isascii() and parse_message(line)["params"]["message"] == "h\u00e9\n"


def test_plain_env_vars():
    ctx = {
        "asset_keys": ["a/b", "c"], "code_version_by_asset_key": {"a/b": "1", "c": None},
        "partition_key": "2024-03-05",
        "partition_key_range": {"start": "2024-03-05", "end": "2024-03-05"},
        "partition_time_window": {"start": "2024-03-05T00:00:00+00:00",
                                  "end": "2024-03-06T00:00:00+00:00"},
        "run_id": "r1", "job_name": None, "retry_number": 2, "extras": {"k": "v"},
        "pipes_features": {"version": "1", "features": ["progress", "heartbeat"],
                           "heartbeat_interval": 5.0},
    }
    env = plain_env_vars(ctx, {"stdio": "stderr"})
    assert env["PIPES_ASSET_KEYS"] == "a/b\nc" and "PIPES_ASSET_KEY" not in env
    assert "PIPES_JOB_NAME" not in env and env["PIPES_RETRY_NUMBER"] == "2"
    assert env["PIPES_PARTITION_TIME_WINDOW_END"] == "2024-03-06T00:00:00+00:00"
    assert env["PIPES_PARTITION_KEY_RANGE_START"] == "2024-03-05"
    assert env["PIPES_MESSAGES_STDIO"] == "stderr" and "PIPES_MESSAGES_PATH" not in env
    assert env["PIPES_FEATURES"] == "progress,heartbeat"
    assert env["PIPES_HEARTBEAT_INTERVAL"] == "5.0"
    assert json.loads(env["PIPES_EXTRAS"]) == {"k": "v"}
    assert all(isinstance(v, str) for v in env.values())
    with pytest.raises(ProtocolError, match="stdio must be"):
        plain_env_vars(ctx, {"stdio": "stdin"})


def test_make_features():
    feats = pipes_protocol.make_features(outputs={"a": "/tmp/o/a"}, heartbeat_interval=2)
    assert feats["features"] == list(pipes_protocol.FEATURES)
    assert feats["heartbeat_interval"] == 2.0 and feats["output_formats"] == ["json", "parquet"]
    with pytest.raises(ProtocolError, match="unknown feature"):
        pipes_protocol.make_features(["teleport"])


@pytest.mark.parametrize("module", ["pipes_protocol", "pipes_protocol._bootstrap",
                                    "pipes_protocol._asset_key", "pipes_protocol._metadata",
                                    "pipes_protocol._messages", "pipes_protocol._env",
                                    "pipes_protocol._base"])
def test_docstring_examples(module):
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


def test_public_api_is_sorted_and_exists():
    def isort_key(name: str) -> tuple[int, str]:  # CONSTANTS, Classes, functions (ruff RUF022)
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert pipes_protocol.__all__ == sorted(pipes_protocol.__all__, key=isort_key)
    for name in pipes_protocol.__all__:
        assert hasattr(pipes_protocol, name), name


def test_import_is_stdlib_only_and_light():
    import subprocess
    import sys

    code = ("import sys; before = set(sys.modules); import pipes_protocol; "
            "print(sorted(m for m in set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = eval(out.stdout)
    allowed = {"__future__", "math"}
    assert all(m.startswith("pipes_protocol") or m in allowed for m in loaded), loaded
