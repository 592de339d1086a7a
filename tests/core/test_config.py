"""Config: Config classes, dict schemas, EnvVar secrets, run config loading and validation."""

from __future__ import annotations

import enum
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Literal, Optional

import pytest
from pydantic import Field as PydanticField
from pydantic import field_validator

from orchestrator.config import (
    NO_CONFIG,
    Config,
    ConfigurableResource,
    EnvVar,
    Field,
    Noneable,
    Permissive,
    ResolvedRunConfig,
    RunConfig,
    config_schema_doc,
    is_config_class,
    is_config_instance,
    load_run_config,
    redact_config,
    resolve_config,
    validate_run_config,
)
from orchestrator.errors import ConfigError
from orchestrator.resources import ResourceDefinition, resource_config_schema


class LoadConfig(Config):
    limit: int = PydanticField(10, description="How many rows to load.")
    path: str = PydanticField(description="Where the rows come from.")


class Inner(Config):
    x: int


class Outer(Config):
    a: int | str = 1
    inner: Optional[Inner] = None  # noqa: UP045 - the typing.Optional spelling is tested too
    items: list[Inner] = []
    mode: Literal["fast", "safe"] = "fast"


class Positive(Config):
    n: int

    @field_validator("n")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be positive")
        return value


def errors_of(schema, value, path="ops.load.config"):
    with pytest.raises(ConfigError) as info:
        resolve_config(schema, value, path)
    return info.value.errors


@pytest.fixture
def env(monkeypatch):
    def set_(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)

    return set_


# -- the three canonical errors, for both kinds of schema --------------------------------------

DICT_SCHEMA = {"limit": Field(int, default_value=10), "path": str}


@pytest.mark.parametrize("schema", [LoadConfig, DICT_SCHEMA], ids=["class", "dict"])
def test_all_problems_reported_with_exact_paths(schema):
    errors = errors_of(schema, {"limit": "ten", "lmit": 3})
    assert sorted(errors) == sorted([
        "ops.load.config.limit: expected int, got 'ten'",
        "ops.load.config: unknown field 'lmit' (did you mean 'limit'?)",
        "ops.load.config.path: required field missing",
    ])


@pytest.mark.parametrize("schema", [LoadConfig, DICT_SCHEMA], ids=["class", "dict"])
def test_valid_config_fills_defaults(schema):
    result = resolve_config(schema, {"path": "rows.csv"}, "ops.load.config")
    if schema is LoadConfig:
        assert result == LoadConfig(path="rows.csv") and result.limit == 10
    else:
        assert result == {"limit": 10, "path": "rows.csv"}


def test_unknown_field_without_close_match_lists_known_fields():
    assert errors_of(LoadConfig, {"path": "p", "zzz": 1}) == [
        "ops.load.config: unknown field 'zzz'; known fields: limit, path"]


def test_config_error_message_lists_every_problem():
    with pytest.raises(ConfigError) as info:
        resolve_config(LoadConfig, {"limit": "ten"}, "ops.load.config")
    text = str(info.value)
    assert "2 config problems" in text
    assert "ops.load.config.limit: expected int, got 'ten'" in text
    assert "ops.load.config.path: required field missing" in text


# -- Config classes --------------------------------------------------------------------------


def test_nested_models_lists_unions_and_literals_get_clean_paths():
    errors = errors_of(Outer, {"a": [], "inner": {"y": 1}, "items": [{"x": 1}, {"x": "q"}],
                               "mode": "slow"}, "ops.o.config")
    assert sorted(errors) == sorted([
        "ops.o.config.a: expected int | str, got []",
        "ops.o.config.inner.x: required field missing",
        "ops.o.config.inner: unknown field 'y'; known fields: x",
        "ops.o.config.items[1].x: expected int, got 'q'",
        "ops.o.config.mode: expected 'fast' or 'safe', got 'slow'",
    ])


def test_validator_messages_are_kept_without_pydantic_prefix():
    assert errors_of(Positive, {"n": -1}, "resources.r.config") == [
        "resources.r.config.n: must be positive (got -1)"]


def test_direct_construction_raises_config_error_naming_class_and_field():
    with pytest.raises(ConfigError) as info:
        LoadConfig(limit="ten", path="p")
    assert info.value.errors == ["LoadConfig.limit: expected int, got 'ten'"]


def test_config_is_frozen_and_forbids_extra():
    config = LoadConfig(path="p")
    with pytest.raises(Exception):
        config.limit = 3  # type: ignore[misc]
    with pytest.raises(ConfigError, match="unknown field 'extra'"):
        LoadConfig(path="p", extra=1)  # type: ignore[call-arg]


def test_instance_of_the_schema_is_accepted_as_value():
    given = LoadConfig(path="p", limit=2)
    assert resolve_config(LoadConfig, given, "ops.load.config") is given


def test_non_mapping_value_for_a_class_is_reported():
    assert errors_of(LoadConfig, [1, 2]) == [
        "ops.load.config: expected a mapping of fields for LoadConfig (limit, path), got [1, 2]"]


def test_is_config_helpers():
    assert is_config_class(LoadConfig) and not is_config_class(list[int])
    assert is_config_instance(LoadConfig(path="p")) and not is_config_instance({})


def test_dict_schema_field_in_a_config_class_is_refused_with_a_hint():
    with pytest.raises(ConfigError) as info:
        class Wrong(Config):
            limit: int = Field(int, default_value=3)  # orchestrator's Field, not pydantic's

    assert str(info.value).startswith("Wrong.limit: orchestrator's Field is for dict-style "
                                      "config_schema; in a Config class use pydantic's Field")


def test_env_var_inside_a_nested_config_dict(env):
    class Creds(Config):
        key: str

    class Client(Config):
        creds: Creds

    declared = Client(creds={"key": EnvVar("TEST_NESTED_KEY")})
    env("TEST_NESTED_KEY", "nested-secret-77")
    built = resolve_config(declared, None, "resources.client.config")
    assert built.creds.key == "nested-secret-77"
    assert repr(built) == "Client(creds=Creds(key=<EnvVar TEST_NESTED_KEY>))"
    assert repr(built.creds) == "Creds(key=<EnvVar TEST_NESTED_KEY>)"


def test_run_config_resource_instance_replaces_the_declared_one():
    class Store(ConfigurableResource):
        bucket: str

    from orchestrator.resources import build_resources, resource_schemas_for

    declared = {"store": Store(bucket="declared")}
    resolved = validate_run_config(RunConfig(resources={"store": Store(bucket="from-run")}), {},
                                   resource_schemas_for(declared))
    with build_resources(declared, resolved.resources) as res:
        assert res.store.bucket == "from-run"


def test_permissive_config_keeps_extra_fields(env):
    from orchestrator.config import PermissiveConfig

    class Options(PermissiveConfig):
        verbose: bool = False

    assert resolve_config(Options, {"verbose": True, "color": "auto"}, "x").model_extra == {
        "color": "auto"}
    env("TEST_EXTRA_SECRET", "extra-secret-9")
    built = resolve_config(Options(token=EnvVar("TEST_EXTRA_SECRET")), None, "x")
    assert built.model_extra == {"token": "extra-secret-9"}
    assert "extra-secret-9" not in repr(built)


# -- dict-style schemas ----------------------------------------------------------------------


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


def test_plain_type_schemas():
    assert resolve_config(int, 3, "ops.a.config") == 3
    assert errors_of(int, True, "ops.a.config") == ["ops.a.config: expected int, got True"]
    assert resolve_config(float, 3, "x") == 3.0 and isinstance(resolve_config(float, 3, "x"), float)
    assert errors_of(str, None, "ops.a.config") == [
        "ops.a.config: required config missing; expected str"]
    assert resolve_config(None, {"anything": [1]}, "x") == {"anything": [1]}


def test_field_options_and_nested_shapes():
    schema = {
        "host": Field(str, description="Server."),
        "port": Field(int, default_value=5432),
        "timeout": Field(float, is_required=False),
        "tls": {"verify": Field(bool, default_value=True)},
        "tags": [str],
        "mode": Mode,
        "level": Literal["info", "debug"],
        "note": Noneable(str),
    }
    result = resolve_config(schema, {"host": "h", "tags": ["a"], "mode": "SAFE",
                                     "level": "info"}, "resources.db.config")
    assert result == {"host": "h", "port": 5432, "tls": {"verify": True}, "tags": ["a"],
                      "mode": Mode.SAFE, "level": "info", "note": None}
    errors = errors_of(schema, {"tags": ["a", 2], "mode": "slow", "level": "x",
                                "tls": {"verify": "yes"}, "note": 3}, "resources.db.config")
    assert sorted(errors) == sorted([
        "resources.db.config.host: required field missing",
        "resources.db.config.tags[1]: expected str, got 2",
        "resources.db.config.mode: expected one of 'FAST', 'SAFE', got 'slow'",
        "resources.db.config.level: expected Literal['info', 'debug'], got str ('x')",
        "resources.db.config.tls.verify: expected bool, got 'yes'",
        "resources.db.config.note: expected str, got 3",
    ])


def test_permissive_keeps_unknown_fields():
    assert resolve_config(Permissive({"a": int}), {"a": 1, "b": 2}, "x") == {"a": 1, "b": 2}


def test_shape_value_must_be_a_mapping():
    assert errors_of({"a": int}, "nope", "ops.x.config") == [
        "ops.x.config: expected a mapping with fields 'a', got 'nope'"]


def test_bad_schemas_are_reported():
    with pytest.raises(ConfigError, match="has a default_value and is_required=True"):
        Field(int, default_value=1, is_required=True)
    with pytest.raises(ConfigError, match="exactly one element type"):
        resolve_config([int, str], [1], "ops.x.config")


def test_config_class_inside_dict_schema():
    result = resolve_config({"load": LoadConfig}, {"load": {"path": "p"}}, "x")
    assert result == {"load": LoadConfig(path="p")}
    assert errors_of({"load": LoadConfig}, {"load": {}}, "x") == [
        "x.load.path: required field missing"]


# -- EnvVar and secrets ----------------------------------------------------------------------


class ApiConfig(Config):
    url: str = "https://example.invalid"
    api_key: str
    port: int = 443
    headers: dict[str, str] = {}


def test_env_var_is_resolved_when_built_not_when_declared(env):
    declared = ApiConfig(api_key=EnvVar("TEST_API_KEY_1"))  # variable not set yet: fine
    assert "TEST_API_KEY_1" not in os.environ
    assert errors_of(declared, None, "resources.api.config") == [
        "resources.api.config.api_key: environment variable 'TEST_API_KEY_1' is not set; "
        "set it in the environment of the run (export TEST_API_KEY_1=...) or give the value "
        "directly"]
    env("TEST_API_KEY_1", "s3cr3t-value-1")
    built = resolve_config(declared, None, "resources.api.config")
    assert built.api_key == "s3cr3t-value-1"
    assert declared.api_key == EnvVar("TEST_API_KEY_1")  # the declaration is unchanged


def test_secrets_never_show_in_repr_str_or_redacted_config(env):
    env("TEST_API_KEY_2", "s3cr3t-value-2")
    built = resolve_config(ApiConfig(api_key=EnvVar("TEST_API_KEY_2")), None, "x")
    for text in (repr(built), str(built), repr(redact_config(built))):
        assert "s3cr3t-value-2" not in text
        assert "<EnvVar TEST_API_KEY_2>" in text
    assert redact_config(built)["api_key"] == "<EnvVar TEST_API_KEY_2>"
    assert redact_config({"nested": ["s3cr3t-value-2"]}) == {"nested": ["<EnvVar TEST_API_KEY_2>"]}
    assert redact_config("postgres://u:s3cr3t-value-2@h") == \
        "postgres://u:<EnvVar TEST_API_KEY_2>@h"
    assert repr(EnvVar("X")) == "EnvVar('X')"


def test_env_values_are_converted_to_the_field_type(env):
    env("TEST_PORT", "8443")
    built = resolve_config(ApiConfig(api_key="k", port=EnvVar("TEST_PORT")), None, "x")
    assert built.port == 8443
    env("TEST_DEBUG", "true")
    dict_built = resolve_config({"port": int, "debug": bool},
                                {"port": {"env": "TEST_PORT"}, "debug": {"env": "TEST_DEBUG"}},
                                "r.config")
    assert dict_built == {"port": 8443, "debug": True}


def test_bad_env_value_is_reported_without_showing_it(env):
    env("TEST_BAD_PORT", "not-a-port-secret")
    errors = errors_of(ApiConfig(api_key="k", port=EnvVar("TEST_BAD_PORT")), None, "res.config")
    assert errors == ["res.config.port: expected int, got <EnvVar TEST_BAD_PORT>"]
    errors = errors_of({"port": int}, {"port": {"env": "TEST_BAD_PORT"}}, "res.config")
    assert errors == ["res.config.port: expected int, got <EnvVar TEST_BAD_PORT>"]


def test_env_var_inside_a_dict_field_is_resolved_and_redacted(env):
    env("TEST_TOKEN", "tok-secret-123")
    built = resolve_config(ApiConfig(api_key="k", headers={"Authorization": EnvVar("TEST_TOKEN")}),
                           None, "x")
    assert built.headers == {"Authorization": "tok-secret-123"}
    assert "tok-secret-123" not in repr(built)
    assert "<EnvVar TEST_TOKEN>" in repr(built)


def test_run_config_env_reference_in_a_config_class(env):
    env("TEST_PATH", "/data/rows.csv")
    built = resolve_config(LoadConfig, {"path": {"env": "TEST_PATH"}}, "ops.load.config")
    assert built.path == "/data/rows.csv"
    assert repr(built) == "LoadConfig(limit=10, path=<EnvVar TEST_PATH>)"


def test_deferred_construction_still_checks_the_other_fields():
    with pytest.raises(ConfigError) as info:
        ApiConfig(api_key=EnvVar("K"), port="ten", bogus=1)  # type: ignore[call-arg]
    assert sorted(info.value.errors) == sorted([
        "ApiConfig: unknown field 'bogus'; known fields: api_key, headers, port, url",
        "ApiConfig.port: expected int, got 'ten'",
    ])


def test_model_validate_with_env_var_is_refused():
    with pytest.raises(Exception, match="EnvVar values are resolved when the run builds"):
        ApiConfig.model_validate({"api_key": EnvVar("K")})


def test_env_var_in_a_class_default(env):
    class WithDefault(Config):
        token: str = EnvVar("TEST_DEFAULT_TOKEN")  # type: ignore[assignment]

    env("TEST_DEFAULT_TOKEN", "from-env-default")
    assert resolve_config(WithDefault, None, "x").token == "from-env-default"


def test_env_var_name_is_validated_and_pickles():
    with pytest.raises(ConfigError, match="name of an environment variable"):
        EnvVar("")
    with pytest.raises(ConfigError, match="name of an environment variable"):
        EnvVar("A=B")
    restored = pickle.loads(pickle.dumps(EnvVar("NAME")))
    assert isinstance(restored, EnvVar) and restored.env_var_name == "NAME"


# -- run config ------------------------------------------------------------------------------


def test_run_config_object_and_dict_forms_are_equivalent():
    rc = RunConfig(ops={"load": LoadConfig(path="p")},
                   resources={"db": {"config": {"url": "u"}}})
    assert load_run_config(rc) == {"ops": {"load": {"config": LoadConfig(path="p")}},
                                   "resources": {"db": {"config": {"url": "u"}}}}
    assert load_run_config(None) == {}
    with pytest.raises(ConfigError, match="must be a dict, a RunConfig or the path"):
        load_run_config(42)


def test_load_run_config_from_yaml(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("ops:\n  load:\n    config:\n      limit: 5\n      path: {env: ROWS}\n")
    assert load_run_config(path) == {"ops": {"load": {"config": {"limit": 5,
                                                                 "path": {"env": "ROWS"}}}}}
    assert load_run_config(str(path)) == load_run_config(path)


def test_yaml_errors_name_file_and_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("ops:\n  load:\n    config: {limit: 5\n  other: 1\n")
    with pytest.raises(ConfigError) as info:
        load_run_config(path)
    assert str(path) in str(info.value) and "line 4" in str(info.value)
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"run config file '.*nope.yaml' does not exist"):
        load_run_config(missing)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_run_config(listing)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_run_config(empty) == {}


def test_validate_run_config_collects_every_problem():
    db = ResourceDefinition(lambda c: None, config_schema={"url": str})
    with pytest.raises(ConfigError) as info:
        validate_run_config(
            {"op": {}, "ops": {"lod": {"config": {}}, "load": {"config": {"limit": "ten"}},
                               "count": {"limit": 3}},
             "resources": {"db": {"config": {}}, "cache": {"config": {}}}},
            op_schemas={"load": LoadConfig, "count": {"limit": int}, "plain": None},
            resource_schemas={"db": resource_config_schema(db)},
        )
    assert sorted(info.value.errors) == sorted([
        "run config: unknown top-level key 'op' (did you mean 'ops'?); allowed: ops, "
        "resources, execution, loggers",
        "ops.lod: unknown op (did you mean 'load'?); known ops: count, load, plain",
        "ops.load.config.limit: expected int, got 'ten'",
        "ops.load.config.path: required field missing",
        "ops.count: unknown key 'limit'; op config goes under 'config', e.g. "
        "{'ops': {'count': {'config': {...}}}}",
        "ops.count.config.limit: required field missing",
        "resources.cache: unknown resource; known resources: db",
        "resources.db.config.url: required field missing",
    ])


def test_validate_run_config_returns_each_config():
    db = ResourceDefinition(lambda c: None,
                            config_schema={"url": str, "pool": Field(int, default_value=4)})
    resolved = validate_run_config(
        RunConfig(ops={"load": LoadConfig(path="p")}, resources={"db": {"config": {"url": "u"}}}),
        op_schemas={"load": LoadConfig, "plain": None, "count": {"n": Field(int, default_value=1)}},
        resource_schemas={"db": db.config_schema},
    )
    assert resolved == ResolvedRunConfig(
        ops={"load": LoadConfig(path="p"), "count": {"n": 1}},
        resources={"db": {"url": "u", "pool": 4}},
    )
    assert "plain" not in resolved.ops  # no schema and no config: nothing to pass


def test_plain_object_resource_takes_no_config():
    with pytest.raises(ConfigError) as info:
        validate_run_config({"resources": {"client": {"config": {"x": 1}}}}, {},
                            {"client": resource_config_schema(object())})
    assert info.value.errors == [
        "resources.client.config: this resource is a plain object and takes no config; "
        "remove it from the run config"]
    assert resource_config_schema(object()) is NO_CONFIG


def test_configurable_resource_fields_from_run_config(env):
    class Store(ConfigurableResource):
        bucket: str
        region: str = "eu"

    schemas = {"store": resource_config_schema(Store.configure_at_launch(region="us"))}
    with pytest.raises(ConfigError) as info:
        validate_run_config({}, {}, schemas)
    assert info.value.errors == ["resources.store.config.bucket: required field missing"]
    resolved = validate_run_config({"resources": {"store": {"config": {"bucket": "b"}}}}, {},
                                   schemas)
    assert resolved.resources == {"store": {"bucket": "b"}}


def test_resolved_run_config_repr_hides_secrets(env):
    env("TEST_RC_SECRET", "rc-secret-value")
    resolved = validate_run_config({"ops": {"a": {"config": {"token": {"env": "TEST_RC_SECRET"}}}}},
                                   {"a": {"token": str}}, {})
    assert resolved.ops["a"]["token"] == "rc-secret-value"
    assert "rc-secret-value" not in repr(resolved)
    assert redact_config(resolved)["ops"] == {"a": {"token": "<EnvVar TEST_RC_SECRET>"}}


# -- describing schemas ----------------------------------------------------------------------


def test_config_schema_doc_for_dict_schema():
    doc = config_schema_doc({"limit": Field(int, default_value=10, description="Rows."),
                             "path": str, "tags": [str], "note": Noneable(str)})
    assert doc == {
        "type": "object",
        "properties": {
            "limit": {"type": "integer", "default": 10, "description": "Rows."},
            "path": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        "required": ["path", "tags"],
        "additionalProperties": False,
    }
    assert config_schema_doc(None) == {}


def test_config_schema_doc_for_config_class_and_resource_instance():
    doc = config_schema_doc(LoadConfig)
    assert doc["title"] == "LoadConfig"
    assert doc["required"] == ["path"]
    assert doc["properties"]["limit"] == {
        "type": "integer", "description": "How many rows to load.", "default": 10}
    assert doc["properties"]["path"] == {"type": "string",
                                         "description": "Where the rows come from."}
    nested = config_schema_doc(Outer)
    assert nested["properties"]["inner"]["anyOf"][0]["title"] == "Inner"
    assert nested["properties"]["mode"] == {"enum": ["fast", "safe"], "default": "fast"}

    class Api(ConfigurableResource):
        """Talks to the API."""

        key: str
        base: str = "https://x.invalid"

    instance_doc = config_schema_doc(Api(key=EnvVar("API_KEY_DOC")))
    assert instance_doc["required"] == []
    assert instance_doc["properties"]["key"]["default"] == "<EnvVar API_KEY_DOC>"
    assert instance_doc["description"] == "Talks to the API."


# -- import cost -----------------------------------------------------------------------------


def test_config_module_imports_pydantic_only_when_config_classes_are_used():
    code = (
        "import sys\n"
        "from orchestrator.config import resolve_config, Field, validate_run_config, EnvVar\n"
        "assert resolve_config({'a': Field(int, default_value=1)}, None, 'x') == {'a': 1}\n"
        "print('pydantic' in sys.modules)\n"
        "from orchestrator.config import Config\n"
        "print('pydantic' in sys.modules, Config.__module__, Config.__qualname__)\n"
    )
    repo = Path(__file__).resolve().parents[2]  # this checkout, whatever is installed
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=repo)
    assert out.stdout.split("\n")[:2] == ["False", "True orchestrator.config Config"]


# The examples in docs/concepts/ are run by tests/docs/test_docs_examples.py.
