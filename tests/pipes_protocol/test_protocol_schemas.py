"""Every vector checked against the JSON Schemas (draft 2020-12)."""

from __future__ import annotations

import json

import pytest
from pp_vectors import load_vectors

MSGS = load_vectors("messages")
BOOT = load_vectors("bootstrap")


@pytest.mark.parametrize(
    "case", [c for c in MSGS["cases"] if c["conforms"] is not None], ids=lambda c: c["name"]
)
def test_message_vectors_against_schema(validator, case):
    try:
        doc = json.loads(case["line"])
    except ValueError:
        assert case["conforms"] is False
        return
    errors = list(validator("message").iter_errors(doc))
    assert (not errors) == case["conforms"], [e.message for e in errors]


@pytest.mark.parametrize("case", BOOT["cases"], ids=lambda c: c["name"])
def test_bootstrap_params_against_schema(validator, case):
    params = case["params"]
    name = "message_params" if "messages" in case["name"] or "stdio" in case["name"] else None
    if name is None:
        name = "context_params"
    validator(name).validate(params)
    if "data" in params:
        validator("context").validate(params["data"])


def test_metadata_vectors_against_schema(validator):
    v = validator("metadata_entry")
    for case in load_vectors("metadata")["valid"]:
        v.validate(case["entry"])
        if "normalized" in case:
            v.validate(case["normalized"])
    # the schema catches the type errors it can express
    caught = [c["name"] for c in load_vectors("metadata")["invalid"] if not v.is_valid(c["entry"])]
    assert {"text not a string", "int fractional", "bool from string", "unknown type",
            "float from string"} <= set(caught)


def test_inference_and_asset_key_vectors_against_schema(validator):
    for case in load_vectors("inference")["cases"]:
        validator("metadata_entry").validate(case["entry"])
    keys = load_vectors("asset_keys")
    for case in keys["cases"]:
        validator("asset_key").validate(case["escaped"])
    assert not validator("asset_key").is_valid("a\\")


def test_context_schema_requires_all_ten_keys(validator):
    from pipes_protocol import CONTEXT_KEYS, make_features

    ctx = {k: None for k in CONTEXT_KEYS} | {"run_id": "r", "retry_number": 0, "extras": {}}
    validator("context").validate(ctx)
    validator("context").validate(ctx | {"pipes_features": make_features(outputs={"a": "/o/a"})})
    del ctx["job_name"]
    assert not validator("context").is_valid(ctx)


def test_exception_schema_recurses(validator):
    exc = {"name": "E", "message": "m", "stack": [], "context": None,
           "cause": {"name": None, "message": "c", "stack": ["x"], "cause": None, "context": None}}
    validator("exception").validate(exc)
    exc["cause"]["stack"] = "x"
    assert not validator("exception").is_valid(exc)


def test_one_params_schema_per_method():
    import os

    from pipes_protocol import METHOD_PARAMS, schema_path

    for method, spec in METHOD_PARAMS.items():
        with open(os.path.join(schema_path(), f"params_{method}.json")) as fh:
            schema = json.load(fh)
        assert set(schema.get("properties", {})) == set(spec), method


def test_client_call_vectors_expect_schema_valid_messages(validator):
    doc = load_vectors("client_calls")
    validator("context").validate(doc["context"])
    v = validator("message")
    for case in doc["cases"]:
        for msg in case.get("expect", []):
            v.validate({"__dagster_pipes_version": "0.1", **msg})
