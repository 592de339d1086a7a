"""Resources: the connections and clients that assets and ops use, set up once per run.

Three kinds of values can be given as resources (``Definitions(resources=...)``,
``materialize(..., resources=...)``, :func:`build_resources`):

* a :class:`ConfigurableResource` instance (a pydantic config class with set-up and
  tear-down hooks; see ``orchestrator.config``);
* a :class:`ResourceDefinition`, usually made with :func:`resource`, whose function returns
  the resource or yields it (code after the ``yield`` is the tear-down);
* any other Python object, used as it is.

::

    from orchestrator.resources import build_resources, resource

    @resource(config_schema={"url": str})
    def database(context):
        conn = {"url": context.resource_config["url"], "open": True}
        yield conn
        conn["open"] = False          # tear-down, runs even when the run failed

    with build_resources(
        {"db": database, "answer": 42},
        resource_config={"db": {"url": "sqlite://"}},
    ) as resources:
        assert resources.db["open"] and resources["answer"] == 42

This module imports no third-party package; pydantic is only touched when a
``ConfigurableResource`` is used.
"""

from __future__ import annotations

import contextlib
import sys
import types as _pytypes
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from orchestrator.errors import ConfigError, ResourceError

__all__ = [  # ConfigurableResource is also importable from here (lazily, it needs pydantic)
    "InitResourceContext",
    "ResourceDefinition",
    "Resources",
    "build_init_resource_context",
    "build_resources",
    "required_keys_of",
    "resource",
    "resource_config_schema",
    "resource_schemas_for",
]


def _config_module() -> Any:
    from orchestrator import config

    return config


def _configurable_resource_class() -> Any:
    """The ConfigurableResource class if it was ever created, else None (no pydantic import)."""
    module = sys.modules.get("orchestrator.config")
    if module is None:
        return None
    return module.__dict__.get("ConfigurableResource")


def _is_configurable_resource(value: Any) -> bool:
    cls = _configurable_resource_class()
    return cls is not None and isinstance(value, cls)


def _is_configurable_resource_class(value: Any) -> bool:
    cls = _configurable_resource_class()
    if cls is None or not isinstance(value, type):
        return False
    try:
        return issubclass(value, cls)
    except TypeError:
        return False


class Resources(Mapping):
    """Built resources by key, with attribute access: ``resources.db`` or ``resources["db"]``."""

    __slots__ = ("_owner", "_values")

    def __init__(self, values: Mapping[str, Any], owner: str | None = None) -> None:
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_owner", owner)

    def _missing(self, key: str) -> str:
        available = ", ".join(sorted(self._values)) or "none"
        if self._owner:
            return (f"{self._owner} has no resource {key!r}; available: {available}. Declare it "
                    f"in required_resource_keys and provide it to build the run.")
        return f"no resource {key!r}; available: {available}"

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):  # dunder probes (copy, pickle) and unset slots
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise _MissingResourceAttribute(self._missing(key)) from None

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise _MissingResourceKey(self._missing(key)) from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Resources, (self._values, self._owner))

    def __setattr__(self, key: str, value: Any) -> None:
        raise ResourceError(f"resources are read-only; cannot set {key!r}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._values))

    def __repr__(self) -> str:
        return f"Resources({', '.join(self._values)})"


class _MissingResourceAttribute(ResourceError, AttributeError):
    """A missing resource asked for as an attribute (also an AttributeError, for hasattr)."""


class _MissingResourceKey(ResourceError, KeyError):
    """A missing resource asked for by key (also a KeyError, for Mapping semantics)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InitResourceContext:
    """What a resource function (or a ConfigurableResource hook) receives.

    ``resource_config`` is the validated config; ``resources`` holds the resources this one
    declared in ``required_resource_keys`` (already built); ``log`` is a
    ``logging.Logger``-like object; ``instance`` and ``run_id`` describe the run (``None``
    outside of one).
    """

    __slots__ = (
        "instance",
        "log",
        "resource_config",
        "resource_def",
        "resource_key",
        "resources",
        "run_id",
    )

    def __init__(
        self,
        resource_config: Any = None,
        resources: Resources | Mapping[str, Any] | None = None,
        log: Any = None,
        instance: Any = None,
        run_id: str | None = None,
        resource_def: ResourceDefinition | None = None,
        resource_key: str | None = None,
    ) -> None:
        self.resource_config = resource_config
        if not isinstance(resources, Resources):
            resources = Resources(resources or {}, owner=f"resource {resource_key!r}"
                                  if resource_key else None)
        self.resources = resources
        if log is None:
            import logging

            log = logging.getLogger("orchestrator.resources")
        self.log = log
        self.instance = instance
        self.run_id = run_id
        self.resource_def = resource_def
        self.resource_key = resource_key

    def __repr__(self) -> str:
        return f"InitResourceContext(resource_key={self.resource_key!r}, run_id={self.run_id!r})"


def build_init_resource_context(
    config: Any = None,
    resources: Mapping[str, Any] | None = None,
    instance: Any = None,
    log: Any = None,
    run_id: str | None = None,
) -> InitResourceContext:
    """An :class:`InitResourceContext` for calling a resource function in a unit test::

        conn = database.resource_fn(build_init_resource_context(config={"url": "x"}))
    """
    return InitResourceContext(resource_config=config, resources=resources, log=log,
                               instance=instance, run_id=run_id)


def _accepts_context(fn: Callable[..., Any]) -> bool:
    import inspect  # lazily: ~4 ms to import, needed only when a definition is made

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    positional = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    required_kw = [p for p in signature.parameters.values()
                   if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    if required_kw:
        raise ResourceError(
            f"resource function {getattr(fn, '__qualname__', fn)!r} has keyword-only "
            f"parameters {[p.name for p in required_kw]}; it takes one argument, the "
            f"InitResourceContext"
        )
    if len([p for p in positional if p.default is p.empty and p.kind is not p.VAR_POSITIONAL]) > 1:
        raise ResourceError(
            f"resource function {getattr(fn, '__qualname__', fn)!r} takes "
            f"{len(positional)} arguments; it takes one, the InitResourceContext (or none)"
        )
    return bool(positional)


def _normalise_keys(keys: Any, where: str) -> frozenset[str]:
    if keys is None:
        return frozenset()
    if isinstance(keys, str):
        raise ResourceError(
            f"{where}: required_resource_keys must be a set of keys such as {{{keys!r}}}, "
            f"got the string {keys!r}"
        )
    try:
        result = frozenset(keys)
    except TypeError:
        raise ResourceError(
            f"{where}: required_resource_keys must be a set of strings, got {keys!r}"
        ) from None
    bad = [k for k in result if not isinstance(k, str) or not k]
    if bad:
        raise ResourceError(f"{where}: required_resource_keys must be strings, got {bad!r}")
    return result


class ResourceDefinition:
    """A resource made by a function: ``resource_fn(init_context)``.

    The function returns the resource, or is a generator that yields it once (code after
    the ``yield`` is the tear-down and runs when the run ends, failed or not), or returns a
    context manager made with ``@contextlib.contextmanager`` (entered and exited the same
    way). Any other returned object is the resource itself, even one that has
    ``__enter__``. Subclass it for special kinds of resources (IO managers)::

        def make_client(context):
            return Client(timeout=context.resource_config["timeout"])

        client = ResourceDefinition(make_client, config_schema={"timeout": float})
    """

    def __init__(
        self,
        resource_fn: Callable[..., Any],
        config_schema: Any = None,
        description: str | None = None,
        required_resource_keys: Iterable[str] | None = (),
    ) -> None:
        if not callable(resource_fn):
            raise ResourceError(
                f"ResourceDefinition needs a function (init_context) -> resource, got "
                f"{type(resource_fn).__name__} ({resource_fn!r}). To use a plain object as a "
                f"resource, pass the object itself."
            )
        name = getattr(resource_fn, "__qualname__", repr(resource_fn))
        self._resource_fn = resource_fn
        self._takes_context = _accepts_context(resource_fn)
        self._config_schema = config_schema
        self._description = description
        self._required_resource_keys = _normalise_keys(
            required_resource_keys, f"resource {name!r}")

    @property
    def resource_fn(self) -> Callable[..., Any]:
        return self._resource_fn

    @property
    def config_schema(self) -> Any:
        return self._config_schema

    @property
    def description(self) -> str | None:
        return self._description

    @property
    def required_resource_keys(self) -> frozenset[str]:
        return self._required_resource_keys

    @staticmethod
    def hardcoded_resource(value: Any, description: str | None = None) -> ResourceDefinition:
        """A definition that always gives ``value``."""
        return ResourceDefinition(lambda _context: value, description=description)

    @staticmethod
    def none_resource(description: str | None = None) -> ResourceDefinition:
        """A definition that gives ``None`` (a placeholder)."""
        return ResourceDefinition.hardcoded_resource(None, description)

    def open(self, context: InitResourceContext) -> tuple[Any, Callable[[], None] | None]:
        """Create the resource; return it and its tear-down (``None`` when there is none).

        Subclasses may override this to change how a resource is made.
        """
        result = self._resource_fn(context) if self._takes_context else self._resource_fn()
        return _open_result(result, context.resource_key or "resource")

    def __repr__(self) -> str:
        name = getattr(self._resource_fn, "__qualname__", "resource")
        return f"{type(self).__name__}({name})"


def _open_result(result: Any, key: str) -> tuple[Any, Callable[[], None] | None]:
    if isinstance(result, _pytypes.GeneratorType):
        try:
            value = next(result)
        except StopIteration:
            raise ResourceError(
                f"resource {key!r}: the resource function is a generator that returned "
                f"without yielding; it must yield the resource exactly once"
            ) from None

        def finish() -> None:
            try:
                next(result)
            except StopIteration:
                return
            result.close()
            raise ResourceError(
                f"resource {key!r}: the resource function yielded more than once; it must "
                f"yield the resource exactly once (code after the yield is the tear-down)"
            )

        return value, finish
    if isinstance(result, contextlib.AbstractContextManager) and isinstance(
        result, contextlib.ContextDecorator
    ):
        value = result.__enter__()
        return value, lambda: result.__exit__(None, None, None)
    return result, None


def resource(
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> Any:
    """Make a :class:`ResourceDefinition` from a function, bare or with arguments::

        @resource
        def clock(_context):
            return time.monotonic

        @resource(config_schema={"path": str}, required_resource_keys={"clock"})
        def journal(context):
            handle = open(context.resource_config["path"], "a")
            yield handle
            handle.close()

    The docstring becomes the description unless ``description`` is given.
    """
    if isinstance(config_schema, (_pytypes.FunctionType, _pytypes.MethodType)):
        return _make_definition(config_schema, None, None, None)

    def decorate(fn: Callable[..., Any]) -> ResourceDefinition:
        return _make_definition(fn, config_schema, description, required_resource_keys)

    return decorate


def _make_definition(
    fn: Callable[..., Any], config_schema: Any, description: str | None,
    required_resource_keys: Iterable[str] | None,
) -> ResourceDefinition:
    if not callable(fn):
        raise ResourceError(f"@resource decorates a function, got {type(fn).__name__} ({fn!r})")
    import inspect

    doc = inspect.getdoc(fn)
    definition = ResourceDefinition(
        fn,
        config_schema=config_schema,
        description=description if description is not None else doc,
        required_resource_keys=required_resource_keys or (),
    )
    try:
        definition.__doc__ = fn.__doc__
    except AttributeError:  # pragma: no cover
        pass
    return definition


def required_keys_of(resource_value: Any) -> set[str]:
    """The keys of other resources that ``resource_value`` needs to be built.

    For a :class:`ResourceDefinition` (and anything else with ``required_resource_keys``)
    that attribute; for a ConfigurableResource, its nested resources travel with it, so
    nothing; for a plain object, nothing.
    """
    if isinstance(resource_value, ResourceDefinition):
        return set(resource_value.required_resource_keys)
    if _is_configurable_resource(resource_value) or _is_configurable_resource_class(
            resource_value):
        return set()
    keys = getattr(type(resource_value), "required_resource_keys", None)
    if keys is not None and not callable(keys) and not isinstance(keys, property):
        try:
            return {k for k in keys if isinstance(k, str)}
        except TypeError:
            return set()
    return set()


def resource_config_schema(resource_value: Any) -> Any:
    """The config schema to give ``validate_run_config(resource_schemas=...)`` for a resource.

    A ResourceDefinition's ``config_schema``; a ConfigurableResource itself (run config
    fills or overrides its fields); ``NO_CONFIG`` for a plain object.
    """
    if isinstance(resource_value, ResourceDefinition):
        return resource_value.config_schema
    if _is_configurable_resource(resource_value):
        return resource_value
    if _is_configurable_resource_class(resource_value):
        return resource_value.configure_at_launch()
    return _config_module().NO_CONFIG


def resource_schemas_for(resources: Mapping[str, Any]) -> dict[str, Any]:
    """``resource_schemas`` for :func:`~orchestrator.config.validate_run_config`, all keys.

    Like :func:`resource_config_schema` per key, and aware of nested ConfigurableResources
    that are also top-level resources: their config is validated once, under their own key::

        resolved = validate_run_config(run_config, op_schemas, resource_schemas_for(resources))
        with build_resources(resources, resolved.resources) as built:
            ...
    """
    schemas = {key: resource_config_schema(value) for key, value in resources.items()}
    shared = {id(v) for v in resources.values() if _is_configurable_resource(v)}
    for key, value in resources.items():
        if not _is_configurable_resource(value):
            continue
        nested = {name: item for name, item in _nested_resources(value).items()
                  if id(item) in shared}
        if nested:
            # Stand-ins that need no config: the shared resource is checked under its own key.
            values = {name: value.__dict__[name] for name in type(value).model_fields
                      if name in value.__dict__}
            values.update({name: type(item).model_construct() for name, item in nested.items()})
            stand_in = type(value).model_construct(_fields_set=set(value.model_fields_set),
                                                   **values)
            stand_in._orch_deferred = bool((value.__pydantic_private__ or {}).get(
                "_orch_deferred"))
            schemas[key] = stand_in
    return schemas


# --------------------------------------------------------------------------------------------
# Building resources
# --------------------------------------------------------------------------------------------


class _Builder:
    """Builds resources in dependency order and tears them down in reverse."""

    def __init__(
        self, resources: Mapping[str, Any], resource_config: Mapping[str, Any],
        instance: Any, log: Any, run_id: str | None,
    ) -> None:
        self.definitions = resources
        self.config = resource_config
        self.instance = instance
        self.log = log
        self.run_id = run_id
        self.built: dict[str, Any] = {}
        self.finalizers: list[tuple[str, Callable[[], None]]] = []
        self.by_identity = {id(v): k for k, v in resources.items()
                            if _is_configurable_resource(v)}

    # -- ordering ---------------------------------------------------------------------------

    def dependencies(self, key: str) -> list[str]:
        value = self.definitions[key]
        deps = sorted(required_keys_of(value))
        if _is_configurable_resource(value):
            for nested in _nested_resources(value).values():
                shared = self.by_identity.get(id(nested))
                if shared is not None and shared != key:
                    deps.append(shared)
        return deps

    def order(self) -> list[str]:
        provided = ", ".join(self.definitions) or "none"
        ordered: list[str] = []
        state: dict[str, int] = {}  # 1 = visiting, 2 = done

        def visit(key: str, chain: list[str]) -> None:
            if state.get(key) == 2:
                return
            if state.get(key) == 1:
                cycle = " -> ".join([*chain[chain.index(key):], key])
                raise ResourceError(
                    f"resources depend on each other in a cycle: {cycle}; break the cycle")
            state[key] = 1
            for dep in self.dependencies(key):
                if dep not in self.definitions:
                    raise ResourceError(
                        f"resource {key!r} requires resource {dep!r}, which was not provided; "
                        f"provided resources: {provided}. Add {dep!r} to the resources."
                    )
                visit(dep, [*chain, key])
            state[key] = 2
            ordered.append(key)

        for key in self.definitions:
            visit(key, [])
        return ordered

    # -- set-up -----------------------------------------------------------------------------

    def context(self, key: str, config: Any, deps: Iterable[str],
                definition: ResourceDefinition | None) -> InitResourceContext:
        return InitResourceContext(
            resource_config=config,
            resources=Resources({d: self.built[d] for d in deps if d in self.built},
                                owner=f"resource {key!r}"),
            log=self.log,
            instance=self.instance,
            run_id=self.run_id,
            resource_def=definition,
            resource_key=key,
        )

    def build(self, key: str) -> None:
        value = self.definitions[key]
        raw = self.config.get(key)
        try:
            self.built[key] = self.make(key, value, raw)
        except (ConfigError, ResourceError):
            raise
        except Exception as exc:
            raise ResourceError(
                f"resource {key!r} failed to set up: {type(exc).__name__}: {exc}"
            ) from exc

    def make(self, key: str, value: Any, raw: Any) -> Any:
        path = f"resources.{key}.config"
        if isinstance(value, ResourceDefinition):
            from orchestrator.config import resolve_config

            config = resolve_config(value.config_schema, raw, path)
            context = self.context(key, config, value.required_resource_keys, value)
            built, finalizer = value.open(context)
            if finalizer is not None:
                self.finalizers.append((key, finalizer))
            return built
        if _is_configurable_resource_class(value):
            value = value.configure_at_launch()
        if _is_configurable_resource(value):
            return self.make_configurable(key, value, raw, path)
        if raw is not None and raw != {}:
            raise ConfigError(
                f"{path}: resource {key!r} is a plain {type(value).__name__} object and "
                f"takes no config; remove it from the run config"
            )
        return value

    def make_configurable(self, key: str, value: Any, raw: Any, path: str) -> Any:
        from orchestrator.config import _redacted_fields, resolve_config

        if raw is not None and not isinstance(raw, Mapping) and not isinstance(raw, type(value)):
            raise ConfigError(f"{path}: expected a mapping of fields for "
                              f"{type(value).__name__}, got {raw!r}")
        overrides = dict(raw) if isinstance(raw, Mapping) else {}
        replacement = raw if isinstance(raw, type(value)) else value
        for field, nested in _nested_resources(replacement).items():
            shared = self.by_identity.get(id(nested))
            nested_raw = overrides.pop(field, None)
            if shared is not None and shared != key:
                if nested_raw is not None:
                    raise ConfigError(
                        f"{path}.{field}: this nested resource is the top-level resource "
                        f"{shared!r}; configure it under resources.{shared}.config instead"
                    )
                overrides[field] = self.built[shared]
            else:
                overrides[field] = self.make_configurable(f"{key}.{field}", nested, nested_raw,
                                                          f"{path}.{field}")
        resolved = resolve_config(replacement, overrides or None, path)
        if resolved is value or resolved is replacement:
            resolved = resolved.model_copy()  # per-run state must not leak into the definition
        context = self.context(key, _redacted_fields(resolved), (), None)
        generator = resolved.yield_for_execution(context)
        built, finalizer = _open_result(generator, key)
        if finalizer is not None:
            self.finalizers.append((key, finalizer))
        return built

    # -- tear-down --------------------------------------------------------------------------

    def teardown(self) -> list[tuple[str, BaseException]]:
        failures: list[tuple[str, BaseException]] = []
        while self.finalizers:
            key, finalizer = self.finalizers.pop()
            try:
                finalizer()
            except Exception as exc:
                failures.append((key, exc))
        return failures


def _nested_resources(value: Any) -> dict[str, Any]:
    return {name: item for name, item in value.__dict__.items()
            if name in type(value).model_fields and _is_configurable_resource(item)}


def _teardown_error(failures: list[tuple[str, BaseException]]) -> ResourceError:
    key, exc = failures[0]
    message = f"resource {key!r} failed to tear down: {type(exc).__name__}: {exc}"
    if len(failures) > 1:
        others = "; ".join(f"{k!r}: {type(e).__name__}: {e}" for k, e in failures[1:])
        message += f" (also failed: {others})"
    error = ResourceError(message)
    error.__cause__ = exc
    return error


@contextlib.contextmanager
def build_resources(
    resources: Mapping[str, Any],
    resource_config: Mapping[str, Any] | None = None,
    *,
    instance: Any = None,
    log: Any = None,
    run_id: str | None = None,
) -> Iterator[Resources]:
    """Build resources for the duration of a ``with`` block, then tear them down.

    Resources are set up in dependency order (``required_resource_keys`` and nested
    ConfigurableResources) and torn down in reverse order when the block ends, also when it
    raised. ``resource_config`` maps a key to its run config (the content of
    ``resources.<key>.config``)::

        with build_resources({"db": Database(url=EnvVar("DB_URL"))}) as resources:
            resources.db.query("select 1")

    A resource that fails to set up makes the ones already built tear down and raises
    :class:`ResourceError` naming it; bad config raises :class:`ConfigError`.
    """
    if not isinstance(resources, Mapping):
        raise ResourceError(
            f"resources must be a mapping of key -> resource, got {type(resources).__name__}")
    bad = [k for k in resources if not isinstance(k, str) or not k.isidentifier()]
    if bad:
        raise ResourceError(
            f"resource keys must be Python identifiers (they are used as resources.<key>), "
            f"got {', '.join(repr(k) for k in bad)}")
    config = dict(resource_config or {})
    unknown = [k for k in config if k not in resources]
    if unknown:
        provided = ", ".join(resources) or "none"
        raise ConfigError(
            f"resources.{unknown[0]}: there is no resource {unknown[0]!r} to configure; "
            f"provided resources: {provided}",
            [f"resources.{k}: there is no resource {k!r} to configure; provided resources: "
             f"{provided}" for k in unknown],
        )
    builder = _Builder(resources, config, instance, log, run_id)
    try:
        for key in builder.order():
            builder.build(key)
    except BaseException as exc:
        failures = builder.teardown()
        if failures and isinstance(exc, Exception):
            _add_note(exc, str(_teardown_error(failures)))
        raise
    body_failed = False
    try:
        yield Resources(builder.built)
    except BaseException as exc:
        body_failed = True
        failures = builder.teardown()
        if failures:
            _add_note(exc, str(_teardown_error(failures)))
        raise
    finally:
        if not body_failed:
            failures = builder.teardown()
            if failures:
                raise _teardown_error(failures)


def _add_note(exc: BaseException, note: str) -> None:
    add = getattr(exc, "add_note", None)
    if add is not None:
        add(note)


def __getattr__(name: str) -> Any:
    if name == "ConfigurableResource":
        return _config_module().ConfigurableResource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

