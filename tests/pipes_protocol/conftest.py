from __future__ import annotations

import json

import pytest

from pipes_protocol import schema_path


@pytest.fixture(scope="session")
def validator():
    """``validator(name)`` -> a jsonschema validator for ``schemas/<name>.json`` with $refs."""
    import os

    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = []
    for fn in os.listdir(schema_path()):
        with open(os.path.join(schema_path(), fn), encoding="utf-8") as fh:
            schema = json.load(fh)
        Draft202012Validator.check_schema(schema)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)

    def make(name: str) -> Draft202012Validator:
        with open(schema_path(name), encoding="utf-8") as fh:
            schema = json.load(fh)
        return Draft202012Validator(schema, registry=registry)

    return make
