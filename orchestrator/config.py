"""Config: typed config classes, dict-style schemas, run config and secrets from the environment.

Assets and ops take config as a ``config`` parameter annotated with a :class:`Config`
subclass; resources are :class:`ConfigurableResource` subclasses (see
``orchestrator.resources``). Run config follows Dagster's shape::

    from pydantic import Field
    from orchestrator.config import Config, EnvVar, RunConfig, validate_run_config

    class LoadConfig(Config):
        limit: int = Field(10, description="How many rows to load.")
        path: str = Field(description="Where the rows come from.")

    resolved = validate_run_config(
        {"ops": {"load": {"config": {"path": "rows.csv"}}}},
        op_schemas={"load": LoadConfig},
        resource_schemas={},
    )
    resolved.ops["load"]          # LoadConfig(limit=10, path='rows.csv')

Every problem in a run config is reported at once as ``ConfigError.errors``, each an exact
path: ``"ops.load.config.limit: expected int, got 'ten'"``.

Secrets: ``EnvVar("API_KEY")`` in Python, ``{"env": "API_KEY"}`` in run config. They are
resolved when the config or resource is built (not when it is declared), and
:func:`redact_config` and the reprs of built configs show ``<EnvVar API_KEY>`` instead of
the value.

Importing this module does not import pydantic: :class:`Config` and
:class:`ConfigurableResource` are created on first access, so dict schemas, run config
loading and validation stay cheap for code that never uses config classes.
"""

from __future__ import annotations

import copy
import enum
import os
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from orchestrator.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from pydantic import BaseModel as _BaseModel

    class Config(_BaseModel):
        ...

    class ConfigurableResource(Config):
        ...

    class PermissiveConfig(Config):
        ...


__all__ = [
    "NO_CONFIG",
    "Config",
    "ConfigurableResource",
    "EnvVar",
    "Field",
    "Noneable",
    "Permissive",
    "PermissiveConfig",
    "ResolvedRunConfig",
    "RunConfig",
    "Shape",
    "config_schema_doc",
    "is_config_class",
    "is_config_instance",
    "load_run_config",
    "redact_config",
    "resolve_config",
    "validate_run_config",
]

_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()

#: Schema meaning "takes no config at all" (a plain Python object used as a resource).
NO_CONFIG: Any = type("_NoConfig", (), {"__repr__": lambda self: "NO_CONFIG"})()


# --------------------------------------------------------------------------------------------
# Secrets from the environment
# --------------------------------------------------------------------------------------------


class EnvVar(str):
    """A reference to an environment variable, resolved when the config is built.

    Use it as the value of a config or resource field; the variable is read when the
    resource is built for a run, so definitions load without the secret present::

        api = ApiResource(api_key=EnvVar("API_KEY"))

    In run config (dicts or YAML) write ``{"env": "API_KEY"}`` instead. A resolved value is
    never shown: reprs and :func:`redact_config` print ``<EnvVar API_KEY>``. ``EnvVar`` is a
    ``str`` (its text is the variable *name*) so that ``api_key: str = EnvVar("KEY")``
    passes static type checkers.
    """

    __slots__ = ()

    def __new__(cls, name: str) -> EnvVar:
        if not isinstance(name, str) or not name or "=" in name or "\x00" in name:
            raise ConfigError(
                f"EnvVar(...) takes the name of an environment variable such as 'API_KEY', "
                f"got {name!r}"
            )
        return super().__new__(cls, name)

    @property
    def env_var_name(self) -> str:
        """The name of the environment variable."""
        return str.__str__(self)

    def get_value(self, default: str | None = None) -> str | None:
        """The variable's current value, or ``default`` when it is not set."""
        return os.environ.get(self.env_var_name, default)

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (EnvVar, (self.env_var_name,))


def _marker(name: str) -> str:
    return f"<EnvVar {name}>"


# value -> variable name, for every secret resolved in this process (redaction only).
_SECRET_VALUES: dict[str, str] = {}
_SUBSTRING_MIN = 6  # secrets this long are also redacted inside longer strings


def _lookup_env(name: str, where: str, errors: list[str]) -> Any:
    value = os.environ.get(name)
    if value is None:
        errors.append(
            f"{where}: environment variable {name!r} is not set; set it in the environment "
            f"of the run (export {name}=...) or give the value directly"
        )
        return _MISSING
    if value:
        _SECRET_VALUES[value] = name
    return value


def _env_ref_name(value: Any) -> str | None:
    """The variable name when ``value`` is an EnvVar or a run-config ``{"env": NAME}``."""
    if isinstance(value, EnvVar):
        return value.env_var_name
    if type(value) is dict and len(value) == 1 and isinstance(value.get("env"), str):
        return value["env"]
    return None


def _contains_env(value: Any) -> bool:
    if isinstance(value, EnvVar):
        return True
    if isinstance(value, Mapping):
        return any(_contains_env(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_env(v) for v in value)
    return False


def _redact_string(text: str) -> str:
    name = _SECRET_VALUES.get(text)
    if name is not None:
        return _marker(name)
    for secret, secret_name in _SECRET_VALUES.items():
        if len(secret) >= _SUBSTRING_MIN and secret in text:
            text = text.replace(secret, _marker(secret_name))
    return text


def redact_config(value: Any) -> Any:
    """Return ``value`` with every secret replaced by a marker such as ``<EnvVar API_KEY>``.

    Works on run config dicts, :class:`ResolvedRunConfig`, config and resource instances
    (returned as plain dicts) and any nesting of dicts, lists and tuples. Use it before
    logging or storing config::

        log.info("resource config: %s", redact_config(resource_config))
    """
    if isinstance(value, EnvVar):
        return _marker(value.env_var_name)
    if isinstance(value, str):
        return _redact_string(value) if _SECRET_VALUES else value
    if isinstance(value, ResolvedRunConfig):
        return {
            "ops": redact_config(value.ops),
            "resources": redact_config(value.resources),
            "execution": redact_config(value.execution),
        }
    if isinstance(value, RunConfig):
        return redact_config(value.to_config_dict())
    if is_config_instance(value):
        return redact_config(_instance_fields(value, redacted=True))
    if isinstance(value, Mapping):
        name = _env_ref_name(value)
        if name is not None:
            return _marker(name)
        return {k: redact_config(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_config(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_config(v) for v in value)
    return value


# --------------------------------------------------------------------------------------------
# Dict-style schemas (Dagster's config_schema=...)
# --------------------------------------------------------------------------------------------


class Field:
    """A field of a dict-style config schema (Dagster's ``Field``)::

        @resource(config_schema={
            "host": str,
            "port": Field(int, default_value=5432, description="TCP port."),
            "timeout": Field(float, is_required=False),
        })
        def database(context): ...

    A field with a ``default_value`` is optional; ``is_required=False`` without a default
    leaves the key out when it is not given. For config classes use ``pydantic.Field``.
    """

    __slots__ = ("config_type", "default_value", "description", "is_required")

    def __init__(
        self,
        config: Any = Any,
        default_value: Any = _MISSING,
        is_required: bool | None = None,
        description: str | None = None,
    ) -> None:
        if is_required and default_value is not _MISSING:
            raise ConfigError(
                f"Field({type_label(config)}) has a default_value and is_required=True; "
                f"a field with a default is optional, drop one of the two"
            )
        self.config_type = config
        self.default_value = default_value
        self.is_required = (default_value is _MISSING) if is_required is None else is_required
        self.description = description

    @property
    def has_default(self) -> bool:
        return self.default_value is not _MISSING

    def __repr__(self) -> str:
        parts = [type_label(self.config_type)]
        if self.has_default:
            parts.append(f"default_value={self.default_value!r}")
        if not self.is_required and not self.has_default:
            parts.append("is_required=False")
        return f"Field({', '.join(parts)})"


class Shape:
    """A mapping with fixed fields; the dict schema ``{"a": int}`` means ``Shape({"a": int})``."""

    __slots__ = ("description", "fields")
    permissive = False

    def __init__(self, fields: Mapping[str, Any], description: str | None = None) -> None:
        if not isinstance(fields, Mapping) or not all(isinstance(k, str) for k in fields):
            raise ConfigError(
                f"{type(self).__name__}(...) takes a dict of field name -> type, got {fields!r}"
            )
        self.fields = dict(fields)
        self.description = description

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fields!r})"


class Permissive(Shape):
    """Like :class:`Shape` but keeps fields it does not declare (Dagster's ``Permissive``)."""

    __slots__ = ()
    permissive = True

    def __init__(self, fields: Mapping[str, Any] | None = None, description: str | None = None):
        super().__init__(fields or {}, description)


class Noneable:
    """A value that may also be ``None``; as a field it is optional and defaults to ``None``."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __repr__(self) -> str:
        return f"Noneable({type_label(self.inner)})"


def type_label(schema: Any) -> str:
    """A readable name of a schema for messages: ``int``, ``list[str]``, ``{host, port}``."""
    if schema is Any or schema is None:
        return "Any"
    if isinstance(schema, Field):
        return type_label(schema.config_type)
    if isinstance(schema, Noneable):
        return f"{type_label(schema.inner)} | None"
    if isinstance(schema, Shape):
        if not schema.fields:
            return "a mapping"
        return "a mapping with fields " + ", ".join(repr(k) for k in schema.fields)
    if isinstance(schema, Mapping):
        return type_label(Shape(schema))
    if isinstance(schema, list) and len(schema) == 1:
        return f"list[{type_label(schema[0])}]"
    from orchestrator.types import type_name

    return type_name(schema)


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib  # lazily: only error messages need it

    known = [k for k in known if isinstance(k, str)]
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if known:
        return f"; known fields: {', '.join(sorted(known))}"
    return "; this config takes no fields"


def _shown(value: Any, env_name: str | None = None) -> str:
    if env_name is not None:
        return _marker(env_name)
    if isinstance(value, str) and _SECRET_VALUES:
        value = _redact_string(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_BOOL_STRINGS = {"true": True, "1": True, "yes": True, "on": True,
                 "false": False, "0": False, "no": False, "off": False}


def _coerce_env_string(target: Any, text: str) -> Any:
    """Env values are strings: make them the scalar the schema asks for, when it is one."""
    try:
        if target is int:
            return int(text)
        if target is float:
            return float(text)
    except ValueError:
        return text
    if target is bool:
        return _BOOL_STRINGS.get(text.strip().lower(), text)
    return text


def _check_scalar(schema: type, value: Any) -> bool:
    if schema is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if schema is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if schema is bool:
        return isinstance(value, bool)
    if schema is str:
        return isinstance(value, str)
    return isinstance(value, schema)


def _resolve(schema: Any, value: Any, path: str, errors: list[str]) -> Any:
    """Validate ``value`` against ``schema``; append problems to ``errors``; return the result."""
    if schema is NO_CONFIG:
        if value is not _MISSING and value is not None:
            errors.append(f"{path}: this resource is a plain object and takes no config; "
                          f"remove it from the run config")
        return None
    if isinstance(schema, Field):
        if value is _MISSING or value is None and not isinstance(schema.config_type, Noneable):
            if schema.has_default:
                return copy.deepcopy(schema.default_value)
            if not schema.is_required:
                return None
        return _resolve(schema.config_type, value, path, errors)

    env_name = None
    if not (isinstance(schema, (Mapping, Shape)) and "env" in _shape_fields(schema)):
        env_name = _env_ref_name(value)
        if env_name is not None:
            value = _lookup_env(env_name, path, errors)
            if value is _MISSING:
                return _MISSING
            inner = schema.inner if isinstance(schema, Noneable) else schema
            value = _coerce_env_string(inner, value)

    if schema is None or schema is Any or schema is object:
        return _substitute_env(value, path, errors) if value is not _MISSING else None

    if isinstance(schema, Noneable):
        if value is _MISSING or value is None:
            return None
        return _resolve(schema.inner, value, path, errors)

    if isinstance(schema, (Mapping, Shape)):
        return _resolve_shape(schema if isinstance(schema, Shape) else Shape(schema), value,
                              path, errors)

    if is_config_class(schema) or is_config_instance(schema):
        return _resolve_model(schema, value, path, errors)

    if value is _MISSING or value is None:
        errors.append(f"{path}: required config missing; expected {type_label(schema)}")
        return None

    if isinstance(schema, list):
        if len(schema) != 1:
            raise ConfigError(
                f"{path}: a list schema holds exactly one element type, e.g. [str]; "
                f"got {schema!r}"
            )
        if not isinstance(value, (list, tuple)):
            errors.append(f"{path}: expected {type_label(schema)}, got {_shown(value, env_name)}")
            return None
        return [_resolve(schema[0], item, _join(path, i), errors) for i, item in enumerate(value)]

    if isinstance(schema, type) and issubclass(schema, enum.Enum):
        if isinstance(value, schema):
            return value
        if isinstance(value, str) and value in schema.__members__:
            return schema[value]
        for member in schema:
            if member.value == value and type(member.value) is type(value):
                return member
        choices = ", ".join(repr(m) for m in schema.__members__)
        errors.append(f"{path}: expected one of {choices}, got {_shown(value, env_name)}")
        return None

    if schema in (int, float, bool, str):
        if _check_scalar(schema, value):
            return float(value) if schema is float else value
        errors.append(f"{path}: expected {schema.__name__}, got {_shown(value, env_name)}")
        return None

    from orchestrator.types import type_checker_for

    checker = type_checker_for(schema)
    if checker is not None:
        result = checker(value)
        if not result.success:
            if env_name is not None:
                errors.append(f"{path}: expected {type_label(schema)}, got {_marker(env_name)}")
            else:
                errors.append(f"{path}: {result.description}")
            return None
    return value


def _shape_fields(schema: Any) -> Mapping[str, Any]:
    return schema.fields if isinstance(schema, Shape) else schema


def _substitute_env(value: Any, path: str, errors: list[str]) -> Any:
    """Resolve env references anywhere inside an unchecked (``Any``) value."""
    name = _env_ref_name(value)
    if name is not None:
        return _lookup_env(name, path, errors)
    if isinstance(value, Mapping):
        return {k: _substitute_env(v, _join(path, k), errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, _join(path, i), errors) for i, v in enumerate(value)]
    return value


def _resolve_shape(shape: Shape, value: Any, path: str, errors: list[str]) -> Any:
    if value is _MISSING or value is None:
        value = {}
    if not isinstance(value, Mapping):
        errors.append(f"{path}: expected {type_label(shape)}, got {_shown(value)}")
        return None
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key not in shape.fields:
            if shape.permissive:
                result[key] = _substitute_env(item, _join(path, key), errors)
            else:
                errors.append(f"{path}: unknown field {key!r}{_suggest(key, shape.fields)}")
    for name, field_schema in shape.fields.items():
        where = _join(path, name)
        if name in value:
            resolved = _resolve(field_schema, value[name], where, errors)
            if resolved is not _MISSING:
                result[name] = resolved
            continue
        if isinstance(field_schema, Field):
            if field_schema.has_default:
                result[name] = copy.deepcopy(field_schema.default_value)
            elif field_schema.is_required:
                errors.append(f"{where}: required field missing")
            continue
        if isinstance(field_schema, Noneable):
            result[name] = None
        elif (isinstance(field_schema, (Mapping, Shape)) and not _has_required(field_schema)
              or is_config_class(field_schema) and not _model_has_required(field_schema)):
            result[name] = _resolve(field_schema, {}, where, errors)
        elif field_schema is Any or field_schema is None:
            continue
        else:
            errors.append(f"{where}: required field missing")
    return result


def _has_required(shape: Any) -> bool:
    for field_schema in _shape_fields(shape).values():
        if isinstance(field_schema, Field):
            if field_schema.is_required:
                return True
        elif isinstance(field_schema, (Mapping, Shape)):
            if _has_required(field_schema):
                return True
        elif is_config_class(field_schema):
            if _model_has_required(field_schema):
                return True
        elif not isinstance(field_schema, Noneable) and field_schema not in (Any, None):
            return True
    return False


def _model_has_required(cls: Any) -> bool:
    return any(f.is_required() for f in cls.model_fields.values())


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def resolve_config(schema: Any, value: Any, path: str) -> Any:
    """Validate one config value against its schema and return the result.

    ``schema`` is a :class:`Config` subclass (returns an instance), a dict-style schema
    (``int``, ``{"limit": int}``, ``Field(int, default_value=3)``, ``[str]``,
    :class:`Noneable`, :class:`Permissive`; returns the validated value with defaults
    filled in), a :class:`ConfigurableResource` instance (run config fills or overrides its
    fields), or ``None`` (anything goes, returned as given). ``path`` prefixes every error::

        resolve_config({"limit": int}, {"limit": "ten"}, "ops.load.config")
        # ConfigError: ops.load.config.limit: expected int, got 'ten'
    """
    errors: list[str] = []
    result = _resolve(schema, _MISSING if value is None else value, path, errors)
    if errors:
        raise _config_error(errors)
    return None if result is _MISSING else result


def _config_error(errors: list[str]) -> ConfigError:
    unique = list(dict.fromkeys(errors))
    if len(unique) == 1:
        return ConfigError(unique[0], unique)
    listing = "\n  ".join(unique)
    return ConfigError(f"{len(unique)} config problems:\n  {listing}", unique)


class RunConfig:
    """Run config in Python (Dagster's ``RunConfig``)::

        RunConfig(
            ops={"load": LoadConfig(limit=5)},
            resources={"db": {"config": {"host": "localhost"}}},
        )

    ``ops`` values are :class:`Config` instances or ``{"config": ...}`` dicts; ``resources``
    values are :class:`ConfigurableResource` instances (they replace the resource's config)
    or ``{"config": ...}`` dicts. :func:`load_run_config` turns it into the plain dict form.
    """

    __slots__ = ("execution", "ops", "resources")

    def __init__(
        self,
        ops: Mapping[str, Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        execution: Mapping[str, Any] | None = None,
    ) -> None:
        self.ops = dict(ops or {})
        self.resources = dict(resources or {})
        self.execution = dict(execution or {})

    def to_config_dict(self) -> dict[str, Any]:
        """The plain dict form: ``{"ops": {name: {"config": ...}}, "resources": {...}}``."""
        result: dict[str, Any] = {}
        if self.ops:
            result["ops"] = {k: self._entry(v) for k, v in self.ops.items()}
        if self.resources:
            result["resources"] = {k: self._entry(v) for k, v in self.resources.items()}
        if self.execution:
            result["execution"] = dict(self.execution)
        return result

    @staticmethod
    def _entry(value: Any) -> Any:
        if is_config_instance(value):
            return {"config": value}
        return value

    def __repr__(self) -> str:
        return f"RunConfig({redact_config(self.to_config_dict())!r})"


class ResolvedRunConfig:
    """A validated run config: ``ops[name]`` and ``resources[key]`` hold each one's config.

    ``ops[name]`` is the op's :class:`Config` instance or validated dict value.
    ``resources[key]`` is the config to pass to ``build_resources(..., resource_config=...)``.
    The repr never shows secrets.
    """

    __slots__ = ("execution", "ops", "resources")

    def __init__(
        self,
        ops: dict[str, Any] | None = None,
        resources: dict[str, Any] | None = None,
        execution: dict[str, Any] | None = None,
    ) -> None:
        self.ops: dict[str, Any] = ops or {}
        self.resources: dict[str, Any] = resources or {}
        self.execution: dict[str, Any] = execution or {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResolvedRunConfig):
            return NotImplemented
        return (self.ops, self.resources, self.execution) == (
            other.ops, other.resources, other.execution)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = redact_config(self)
        return f"ResolvedRunConfig(ops={shown['ops']!r}, resources={shown['resources']!r})"


_TOP_LEVEL_KEYS = ("ops", "resources", "execution", "loggers")


def load_run_config(value: Any) -> dict[str, Any]:
    """Normalise run config to a plain dict.

    Accepts ``None`` (empty), a dict, a :class:`RunConfig`, or a path (``str`` or
    ``os.PathLike``) to a YAML file::

        load_run_config("run.yaml")  # {"ops": {"load": {"config": {"limit": 5}}}}

    YAML errors name the file and the line.
    """
    if value is None:
        return {}
    if isinstance(value, RunConfig):
        return value.to_config_dict()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (str, os.PathLike)):
        return _load_yaml_file(os.fspath(value))
    raise ConfigError(
        f"run config must be a dict, a RunConfig or the path of a YAML file, "
        f"got {type(value).__name__} ({_shown(value)})"
    )


def _load_yaml_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(
            f"run config file {path!r} does not exist (working directory: {os.getcwd()!r})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"run config file {path!r} cannot be read: {exc}") from exc
    import yaml  # lazily: only run config files need it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"run config file {where}: invalid YAML: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"run config file {path!r}: the top level must be a mapping with keys such as "
            f"'ops' and 'resources', got {type(data).__name__}"
        )
    return data


def validate_run_config(
    run_config: Any,
    op_schemas: Mapping[str, Any],
    resource_schemas: Mapping[str, Any],
) -> ResolvedRunConfig:
    """Validate a whole run config at once and return each op's and resource's config.

    ``op_schemas`` maps every op (asset) name of the run to its config schema (``None``
    when it declares none); ``resource_schemas`` maps every resource key to its schema (see
    ``orchestrator.resources.resource_config_schema``). All problems are collected into one
    :class:`ConfigError`::

        validate_run_config({"ops": {"lod": {}}}, {"load": None}, {})
        # ConfigError: ops.lod: unknown op (did you mean 'load'?); known ops: load
    """
    raw = load_run_config(run_config)
    errors: list[str] = []
    for key in raw:
        if key not in _TOP_LEVEL_KEYS:
            errors.append(
                f"run config: unknown top-level key {key!r}"
                f"{_suggest_keys(key, _TOP_LEVEL_KEYS)}; allowed: {', '.join(_TOP_LEVEL_KEYS)}"
            )
    ops = _validate_section(raw, "ops", "op", op_schemas, errors)
    resources = _validate_section(raw, "resources", "resource", resource_schemas, errors)
    execution = raw.get("execution") or {}
    if not isinstance(execution, Mapping):
        errors.append(f"execution: expected a mapping, got {_shown(execution)}")
        execution = {}
    if errors:
        raise _config_error(errors)
    return ResolvedRunConfig(ops=ops, resources=resources, execution=dict(execution))


def _suggest_keys(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _validate_section(
    raw: Mapping[str, Any], section: str, kind: str, schemas: Mapping[str, Any],
    errors: list[str],
) -> dict[str, Any]:
    entries = raw.get(section)
    if entries is None:
        entries = {}
    if not isinstance(entries, Mapping):
        errors.append(f"{section}: expected a mapping of {kind} name to {{'config': ...}}, "
                      f"got {_shown(entries)}")
        entries = {}
    known = sorted(schemas)
    for name in entries:
        if name not in schemas:
            listing = ", ".join(known) if known else f"(this run has no {kind}s)"
            errors.append(f"{section}.{name}: unknown {kind}{_suggest_keys(name, known)}; "
                          f"known {kind}s: {listing}")
    result: dict[str, Any] = {}
    for name, schema in schemas.items():
        entry = entries.get(name, _MISSING)
        where = f"{section}.{name}"
        value = _MISSING
        if entry is not _MISSING and entry is not None:
            if not isinstance(entry, Mapping):
                errors.append(f"{where}: expected {{'config': ...}}, got {_shown(entry)}")
                continue
            for key in entry:
                if key != "config":
                    hint = _suggest_keys(key, ["config"])
                    errors.append(
                        f"{where}: unknown key {key!r}{hint}; {kind} config goes under "
                        f"'config', e.g. {{{section!r}: {{{name!r}: {{'config': {{...}}}}}}}}"
                    )
            value = entry.get("config", _MISSING)
        is_resource_model = section == "resources" and is_config_instance(schema)
        if schema is None and value is _MISSING:
            continue
        count = len(errors)
        resolved = _resolve(schema, value, f"{where}.config", errors)
        if len(errors) == count:
            if is_resource_model:
                # build_resources resolves the resource itself (it needs the original
                # object for nested resources): hand it the run config as given.
                result[name] = {} if value is _MISSING else value
            elif resolved is not _MISSING:
                result[name] = resolved
    return result


# --------------------------------------------------------------------------------------------
# Describing schemas (used by the CLI)
# --------------------------------------------------------------------------------------------

_JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string",
               list: "array", dict: "object", type(None): "null"}


def config_schema_doc(schema: Any) -> dict[str, Any]:
    """Describe a schema as a JSON-schema-like dict (types, descriptions, defaults, required)::

        config_schema_doc({"limit": Field(int, default_value=10, description="Rows.")})
        # {"type": "object", "properties": {"limit": {"type": "integer", "default": 10,
        #   "description": "Rows."}}, "required": [], "additionalProperties": False}

    Defaults that come from the environment are shown as ``<EnvVar NAME>``.
    """
    if schema is None or schema is NO_CONFIG:
        return {}
    return _doc(schema)


def _doc(schema: Any) -> dict[str, Any]:
    if isinstance(schema, Field):
        doc = _doc(schema.config_type)
        if schema.description:
            doc["description"] = schema.description
        if schema.has_default:
            doc["default"] = redact_config(schema.default_value)
        return doc
    if isinstance(schema, Noneable):
        inner = _doc(schema.inner)
        return {"anyOf": [inner, {"type": "null"}], "default": None}
    if isinstance(schema, (Mapping, Shape)):
        shape = schema if isinstance(schema, Shape) else Shape(schema)
        required = []
        props = {}
        for name, field_schema in shape.fields.items():
            props[name] = _doc(field_schema)
            if isinstance(field_schema, Field):
                if field_schema.is_required:
                    required.append(name)
            elif not isinstance(field_schema, Noneable) and field_schema not in (Any, None):
                if not (isinstance(field_schema, (Mapping, Shape))
                        and not _has_required(field_schema)):
                    required.append(name)
        doc: dict[str, Any] = {"type": "object", "properties": props, "required": required,
                               "additionalProperties": shape.permissive}
        if shape.description:
            doc["description"] = shape.description
        return doc
    if isinstance(schema, list) and len(schema) == 1:
        return {"type": "array", "items": _doc(schema[0])}
    if is_config_class(schema) or is_config_instance(schema):
        return _model_doc(schema)
    return _annotation_doc(schema)


def _annotation_doc(annotation: Any) -> dict[str, Any]:
    if annotation is Any or annotation is object or annotation is None:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return {"enum": [m.name for m in annotation]}
        if is_config_class(annotation):
            return _model_doc(annotation)
        json_type = _JSON_TYPES.get(annotation)
        return {"type": json_type} if json_type else {"type": "object",
                                                       "x-python-type": annotation.__name__}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _annotation_doc(args[0])
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is typing.Union or _is_union_type(origin):
        return {"anyOf": [_annotation_doc(a) for a in args]}
    if origin in (list, tuple, set, frozenset):
        doc: dict[str, Any] = {"type": "array"}
        if args and not (origin is tuple and len(args) != 2):
            doc["items"] = _annotation_doc(args[0])
        return doc
    if origin is dict:
        doc = {"type": "object"}
        if len(args) == 2:
            doc["additionalProperties"] = _annotation_doc(args[1])
        return doc
    from orchestrator.types import type_name

    return {"x-python-type": type_name(annotation)}


def _is_union_type(origin: Any) -> bool:
    import types as pytypes

    return origin is pytypes.UnionType


def _model_doc(schema: Any) -> dict[str, Any]:
    cls = schema if isinstance(schema, type) else type(schema)
    provided = _instance_fields(schema, redacted=True) if not isinstance(schema, type) else {}
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, info in cls.model_fields.items():
        doc = _annotation_doc(info.annotation)
        if info.description:
            doc["description"] = info.description
        if name in provided:
            value = provided[name]
            doc["default"] = value if not is_config_instance(value) else redact_config(value)
        elif not info.is_required():
            default = info.get_default(call_default_factory=True)
            if not is_config_instance(default):
                doc["default"] = redact_config(default)
        else:
            required.append(name)
        props[name] = doc
    doc = {"type": "object", "title": cls.__name__, "properties": props, "required": required,
           "additionalProperties": False}
    if cls.__doc__:  # a class's own docstring (class docstrings are not inherited)
        doc["description"] = " ".join(cls.__doc__.split())
    return doc


# --------------------------------------------------------------------------------------------
# Config classes (pydantic, created on first use)
# --------------------------------------------------------------------------------------------


def is_config_class(value: Any) -> bool:
    """True when ``value`` is a :class:`Config` subclass (never imports pydantic)."""
    base = globals().get("Config")
    if base is None or not isinstance(value, type) or typing.get_origin(value) is not None:
        return False
    try:
        return issubclass(value, base)
    except TypeError:  # generic aliases look like classes but are not
        return False


def is_config_instance(value: Any) -> bool:
    """True when ``value`` is an instance of a :class:`Config` subclass."""
    base = globals().get("Config")
    return base is not None and isinstance(value, base)


def _instance_fields(instance: Any, redacted: bool = False) -> dict[str, Any]:
    """Field values that are set on ``instance`` (deferred instances may miss some)."""
    values = {name: instance.__dict__[name] for name in type(instance).model_fields
              if name in instance.__dict__}
    if redacted:
        env = (instance.__pydantic_private__ or {}).get("_orch_env")
        for loc, name in (env or {}).items():
            _replace_at(values, loc, _marker(name))
        values = {k: redact_config(v) for k, v in values.items()}
    return values


def _redacted_fields(instance: Any) -> dict[str, Any]:
    """A config instance's fields as a dict, secrets replaced by markers."""
    return _instance_fields(instance, redacted=True)


def _replace_at(values: Any, loc: tuple[Any, ...], replacement: Any) -> None:
    """Put ``replacement`` at ``loc`` inside nested dicts/lists, copying containers on the way
    (so the caller's data is not changed)."""

    def has(container: Any, key: Any) -> bool:
        if isinstance(container, dict):
            return key in container
        return isinstance(container, list) and isinstance(key, int) and key < len(container)

    target = values
    for part in loc[:-1]:
        if not has(target, part):
            return
        if isinstance(target[part], (dict, list)):
            target[part] = copy.copy(target[part])
        target = target[part]
    if has(target, loc[-1]):
        target[loc[-1]] = replacement


def _resolve_model(schema: Any, value: Any, path: str, errors: list[str]) -> Any:
    """Build a validated instance of a Config class from ``schema`` and run config ``value``.

    ``schema`` is the class, or an instance whose set fields are the starting point (a
    resource declared in Definitions). ``value`` is a mapping of overrides, an instance of
    the class (used instead), or missing.
    """
    cls = schema if isinstance(schema, type) else type(schema)
    base = None if isinstance(schema, type) else schema
    if value is _MISSING or value is None:
        overrides: Mapping[str, Any] = {}
    elif isinstance(value, cls):
        base, overrides = value, {}
    elif isinstance(value, Mapping):
        overrides = value
    else:
        errors.append(f"{path}: expected a mapping of fields for {cls.__name__}"
                      f"{_field_hint(cls)}, got {_shown(value)}")
        return _MISSING
    if base is not None and not overrides and not _needs_resolution(base):
        return base

    data: dict[str, Any] = {}
    if base is not None:
        data = {name: base.__dict__[name] for name in cls.model_fields
                if name in base.__dict__ and (name in base.model_fields_set
                                             or _contains_env(base.__dict__[name])
                                             or is_config_instance(base.__dict__[name]))}
        data.update(base.__pydantic_extra__ or {})
    for name, info in cls.model_fields.items():
        if name not in data and _contains_env(info.default):
            data[name] = info.default  # an EnvVar given as the class default
    for key, item in overrides.items():
        current = data.get(key, _MISSING)
        if (is_config_instance(current) and isinstance(item, Mapping)
                and _env_ref_name(item) is None):
            data[key] = _resolve_model(current, item, _join(path, key), errors)
        else:
            data[key] = item

    env_paths: dict[tuple[Any, ...], str] = {}
    failed_env: set[tuple[Any, ...]] = set()
    for key in list(data):
        item = data[key]
        if item is _MISSING:  # a nested model that did not validate: already reported
            failed_env.add((key,))
            del data[key]
            continue
        resolved = _substitute_model_value(item, (key,), path, errors, env_paths, failed_env)
        if resolved is _MISSING:
            del data[key]
        else:
            data[key] = resolved

    from pydantic import ValidationError

    try:
        instance = cls(**data)
    except ValidationError as exc:
        errors.extend(_translate_errors(exc, cls, path, env_paths, failed_env))
        return _MISSING
    except ConfigError as exc:
        original = getattr(exc, "validation_error", None)
        if original is not None:  # Config.__init__ translated it without our path
            errors.extend(_translate_errors(original, cls, path, env_paths, failed_env))
        else:
            errors.extend(exc.errors)
        return _MISSING
    if failed_env:
        return _MISSING
    if env_paths:
        _attach_env(instance, env_paths)
    return instance


def _field_hint(cls: type) -> str:
    names = list(cls.model_fields)  # type: ignore[attr-defined]
    return f" ({', '.join(names)})" if names else ""


def _needs_resolution(instance: Any) -> bool:
    private = instance.__pydantic_private__ or {}
    if private.get("_orch_deferred"):
        return True
    for value in [*instance.__dict__.values(), *(instance.__pydantic_extra__ or {}).values()]:
        if _contains_env(value):
            return True
        if is_config_instance(value) and _needs_resolution(value):
            return True
    return False


def _substitute_model_value(
    value: Any, loc: tuple[Any, ...], path: str, errors: list[str],
    env_paths: dict[tuple[Any, ...], str], failed: set[tuple[Any, ...]],
) -> Any:
    name = _env_ref_name(value)
    if name is not None:
        where = path
        for part in loc:
            where = _join(where, part)
        resolved = _lookup_env(name, where, errors)
        if resolved is _MISSING:
            failed.add(loc)
        else:
            env_paths[loc] = name
        return resolved
    if is_config_instance(value):
        if _needs_resolution(value):
            where = path
            for part in loc:
                where = _join(where, part)
            resolved = _resolve_model(value, _MISSING, where, errors)
            if resolved is _MISSING:
                failed.add(loc)
            return resolved
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            item = _substitute_model_value(v, (*loc, k), path, errors, env_paths, failed)
            if item is not _MISSING:
                out[k] = item
        return out
    if isinstance(value, (list, tuple)):
        items = [_substitute_model_value(v, (*loc, i), path, errors, env_paths, failed)
                 for i, v in enumerate(value)]
        return type(value)(v for v in items if v is not _MISSING)
    return value


def _attach_env(instance: Any, env_paths: dict[tuple[Any, ...], str]) -> None:
    instance._orch_env = dict(env_paths)
    for loc, name in env_paths.items():
        if len(loc) > 1:
            child = instance.__dict__.get(loc[0])
            if is_config_instance(child):
                inner = dict(child._orch_env or {})
                inner[loc[1:]] = name
                _attach_env(child, inner)


_EXPECTED_BY_ERROR = {
    "int_parsing": "int", "int_type": "int", "int_from_float": "int",
    "float_parsing": "float", "float_type": "float",
    "bool_parsing": "bool", "bool_type": "bool",
    "string_type": "str", "list_type": "list", "tuple_type": "tuple", "set_type": "set",
    "dict_type": "a mapping", "none_required": "None",
}


def _translate_errors(
    exc: Any, cls: type, path: str, env_paths: dict[tuple[Any, ...], str],
    skip: set[tuple[Any, ...]],
) -> list[str]:
    messages: list[str] = []
    union_seen: set[str] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        if any(loc[: len(s)] == s for s in skip):
            continue
        clean, field_loc, parent_fields, union = _walk_loc(cls, loc)
        where = path
        for part in clean:
            where = _join(where, part)
        env_name = env_paths.get(field_loc)
        if union is not None:
            union_where, union_ann = union
            if union_where in union_seen:
                continue
            union_seen.add(union_where)
            messages.append(f"{_join_all(path, union_where)}: expected {type_label(union_ann)}, "
                            f"got {_shown(err.get('input'), env_name)}")
            continue
        if kind == "missing":
            messages.append(f"{where}: required field missing")
        elif kind == "extra_forbidden":
            parent = path
            for part in clean[:-1]:
                parent = _join(parent, part)
            messages.append(f"{parent}: unknown field {clean[-1]!r}"
                            f"{_suggest(clean[-1], parent_fields or [])}")
        else:
            shown = _shown(err.get("input"), env_name)
            expected = _EXPECTED_BY_ERROR.get(kind)
            msg = err["msg"]
            if expected:
                messages.append(f"{where}: expected {expected}, got {shown}")
            elif msg.startswith("Input should be "):
                messages.append(f"{where}: expected {msg[len('Input should be '):]}, got {shown}")
            else:
                for prefix in ("Value error, ", "Assertion failed, "):
                    msg = msg.removeprefix(prefix)
                messages.append(f"{where}: {msg} (got {shown})")
    return messages


def _join_all(path: str, parts: tuple[Any, ...] | str) -> str:
    if isinstance(parts, str):
        return _join(path, parts) if parts else path
    for part in parts:
        path = _join(path, part)
    return path


def _walk_loc(
    cls: type, loc: tuple[Any, ...]
) -> tuple[list[Any], tuple[Any, ...], list[str] | None, tuple[str, Any] | None]:
    """Follow a pydantic error location through the model's annotations.

    Returns the user-facing path parts (union member tags removed), the location relative to
    the top model without tags, the field names of the model that holds the last part (for
    "did you mean"), and, when the location passed through a union, where that union is and
    its annotation (so its members' errors become one message).
    """
    clean: list[Any] = []
    annotation: Any = cls
    parent_fields: list[str] | None = list(cls.model_fields)  # type: ignore[attr-defined]
    union: tuple[str, Any] | None = None
    for part in loc:
        annotation = _strip(annotation)
        if is_config_class(annotation):
            parent_fields = list(annotation.model_fields)
            info = annotation.model_fields.get(part)
            annotation = info.annotation if info is not None else Any
            clean.append(part)
            continue
        origin = typing.get_origin(annotation)
        if origin is typing.Union or _is_union_type(origin):
            if union is None:
                union = (".".join(str(p) for p in clean), annotation)
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            from orchestrator.types import type_name

            match = [m for m in members
                     if type_name(m) == part or getattr(m, "__name__", None) == part]
            annotation = match[0] if match else Any
            continue
        if part == "[key]":
            continue
        args = typing.get_args(annotation)
        if origin in (list, tuple, set, frozenset) and args:
            annotation = args[0]
        elif origin is dict and len(args) == 2:
            annotation = args[1]
        else:
            annotation = Any
        parent_fields = None
        clean.append(part)
    field_loc = tuple(clean)
    if union is not None:
        union_path = tuple(p for p in union[0].split(".") if p)
        return clean, field_loc, parent_fields, (_loc_to_path(union_path, clean), union[1])
    return clean, field_loc, parent_fields, None


def _loc_to_path(union_parts: tuple[str, ...], clean: list[Any]) -> str:
    parts = clean[: len(union_parts)]
    out = ""
    for part in parts:
        out = _join(out, part)
    return out


def _strip(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin is typing.Union or _is_union_type(origin):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:  # Optional[X] adds no union tag to pydantic's locations
                annotation = args[0]
                continue
        return annotation


_FIELD_ADAPTERS: dict[tuple[type, str], Any] = {}


def _validate_fields_early(cls: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the fields that hold no EnvVar, for a config created with EnvVars in it."""
    from pydantic import TypeAdapter, ValidationError

    errors: list[str] = []
    values: dict[str, Any] = {}
    fields = cls.model_fields
    allow_extra = cls.model_config.get("extra") == "allow"
    for key in data:
        if key not in fields:
            if allow_extra:
                values[key] = data[key]
            else:
                errors.append(f"{cls.__name__}: unknown field {key!r}{_suggest(key, fields)}")
    for name, info in fields.items():
        if name not in data:
            continue
        value = data[name]
        if _contains_env(value):
            values[name] = value
            continue
        if is_config_instance(value):
            values[name] = value
            continue
        adapter = _FIELD_ADAPTERS.get((cls, name))
        if adapter is None:
            annotation = info.annotation
            if info.metadata:
                annotation = typing.Annotated[(annotation, *info.metadata)]
            adapter = TypeAdapter(annotation)
            _FIELD_ADAPTERS[(cls, name)] = adapter
        try:
            values[name] = adapter.validate_python(value)
        except ValidationError as exc:
            field_errors = exc.errors(include_url=False)
            stripped = _strip(info.annotation)
            origin = typing.get_origin(stripped)
            if origin is typing.Union or _is_union_type(origin):
                errors.append(f"{cls.__name__}.{name}: expected {type_label(info.annotation)}, "
                              f"got {_shown(value)}")
                continue
            for err in field_errors:
                sub = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
                msg = err["msg"]
                expected = _EXPECTED_BY_ERROR.get(err["type"])
                if expected:
                    msg = f"expected {expected}"
                elif msg.startswith("Input should be "):
                    msg = f"expected {msg[len('Input should be '):]}"
                errors.append(f"{cls.__name__}.{name}{sub}: {msg}, got {_shown(err.get('input'))}")
    if errors:
        raise _config_error(errors)
    return values


def _define_models() -> None:
    """Create Config and ConfigurableResource (imports pydantic; runs once)."""
    if "Config" in globals():
        return
    from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

    class Config(BaseModel):
        """Base class of config for assets, ops and resources (a frozen pydantic model).

        Declare fields with types, defaults and ``pydantic.Field(description=...)``; unknown
        fields are errors. An asset receives it through a ``config`` parameter::

            class LoadConfig(Config):
                limit: int = Field(10, description="How many rows to load.")

            @asset
            def rows(config: LoadConfig) -> list[int]:
                return list(range(config.limit))

        A field may be set to ``EnvVar("NAME")``: the instance is then *deferred* and the
        variable is read when the run builds the config.
        """

        model_config = ConfigDict(extra="forbid", frozen=True)

        _orch_env = PrivateAttr(default=None)
        _orch_deferred = PrivateAttr(default=False)

        def __init__(self, **data: Any) -> None:
            if data and any(_contains_env(v) for v in data.values()):
                values = _validate_fields_early(type(self), data)
                constructed = type(self).model_construct(**values)
                object.__setattr__(self, "__dict__", constructed.__dict__)
                object.__setattr__(self, "__pydantic_fields_set__",
                                   constructed.__pydantic_fields_set__)
                object.__setattr__(self, "__pydantic_extra__", constructed.__pydantic_extra__)
                object.__setattr__(self, "__pydantic_private__",
                                   dict(constructed.__pydantic_private__ or {}))
                self._orch_deferred = True
                return
            try:
                super().__init__(**data)
            except ValidationError as exc:
                name = type(self).__name__
                error = _config_error(_translate_errors(exc, type(self), name, {}, set()))
                error.validation_error = exc  # type: ignore[attr-defined]
                raise error from None

        # Validation of nested values must not go through __init__ (it would raise
        # ConfigError mid-validation and lose the location): tell pydantic this __init__
        # behaves like BaseModel's.
        __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

        @classmethod
        def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
            super().__pydantic_init_subclass__(**kwargs)
            for name, info in cls.model_fields.items():
                if isinstance(info.default, Field):
                    raise ConfigError(
                        f"{cls.__name__}.{name}: orchestrator's Field is for dict-style "
                        f"config_schema; in a Config class use pydantic's Field, e.g. "
                        f"`from pydantic import Field` and "
                        f"`{name}: int = Field(10, description=...)`"
                    )

        @model_validator(mode="before")
        @classmethod
        def _no_unresolved_env(cls, data: Any) -> Any:
            if isinstance(data, Mapping) and any(_contains_env(v) for v in data.values()):
                raise ValueError(
                    "EnvVar values are resolved when the run builds the config; create the "
                    "config with its class, e.g. MyConfig(key=EnvVar('KEY')), instead of "
                    "model_validate"
                )
            return data

        def __repr_args__(self) -> Any:
            env = self._orch_env or {}
            for key, value in super().__repr_args__():
                if (key,) in env:
                    yield key, _Marker(env[(key,)])
                elif isinstance(value, EnvVar):
                    yield key, value
                elif env and any(loc[0] == key for loc in env) and isinstance(value, (dict, list)):
                    holder = {key: copy.deepcopy(value)}
                    for loc, name in env.items():
                        if loc[0] == key:
                            _replace_at(holder, loc, _Marker(name))
                    yield key, holder[key]
                else:
                    yield key, value

    class ConfigurableResource(Config):
        """A resource that is also its own config (Dagster's ``ConfigurableResource``).

        Fields are config; fields may hold other resources (nested resources are built
        first) or ``EnvVar(...)``. Override the hooks to open and close connections::

            class Database(ConfigurableResource):
                url: str
                password: str

                def setup_for_execution(self, context) -> None:
                    self._conn = connect(self.url, self.password)

                def teardown_after_execution(self, context) -> None:
                    self._conn.close()

        Each run builds its own copy, so state set in ``setup_for_execution`` is per run.
        Fields missing here can be given in run config under ``resources.<key>.config``.
        """

        @classmethod
        def configure_at_launch(cls, **fields: Any) -> Any:
            """A resource whose (other) fields come from run config when the run starts."""
            values = _validate_fields_early(cls, fields) if fields else {}
            instance = cls.model_construct(**values)
            instance._orch_deferred = True
            return instance

        def setup_for_execution(self, context: Any) -> None:
            """Called once when a run builds the resource, before any step uses it."""

        def teardown_after_execution(self, context: Any) -> None:
            """Called once when the run is over, even when it failed."""

        def yield_for_execution(self, context: Any) -> Any:
            """Generator around the resource's use; the default calls the two hooks."""
            self.setup_for_execution(context)
            try:
                yield self
            finally:
                self.teardown_after_execution(context)

    class PermissiveConfig(Config):
        """A Config that also accepts fields it does not declare (Dagster's name)::

            class Options(PermissiveConfig):
                verbose: bool = False

            Options(verbose=True, color="auto").model_extra   # {"color": "auto"}
        """

        model_config = ConfigDict(extra="allow")

    for model in (Config, ConfigurableResource, PermissiveConfig):
        model.__qualname__ = model.__name__
        model.__module__ = __name__
    globals()["Config"] = Config
    globals()["ConfigurableResource"] = ConfigurableResource
    globals()["PermissiveConfig"] = PermissiveConfig


class _Marker:
    """Shows as ``<EnvVar NAME>`` in reprs."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return _marker(self.name)


def __getattr__(name: str) -> Any:
    if name in ("Config", "ConfigurableResource", "PermissiveConfig"):
        _define_models()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
