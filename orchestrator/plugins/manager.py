"""Finding, checking and loading plugins: the one plugin manager of the process.

The manager is created on first use (:func:`get_plugin_manager`), never at
``import orchestrator``, and only once per process (until :func:`reset_plugins`).
Loading order:

1. built-in plugins, the modules named in :data:`DEFAULT_PLUGINS`, in that order;
2. installed plugins: entry points of group ``"orchestrator.plugins"``, sorted by
   entry-point name, filtered by ``ORCHESTRATOR_PLUGINS``;
3. plugins registered at runtime with :func:`register_plugin` / :func:`plugin_registered`.

Environment variables (read when the manager is created):

- ``ORCHESTRATOR_PLUGINS``: unset loads every installed plugin; a comma-separated list
  loads only those (entry-point names or distribution names); an empty string loads
  none. Built-in plugins always load.
- ``ORCHESTRATOR_TRACE_PLUGINS=1``: write plugin loading and every hook call to stderr.
- ``ORCHESTRATOR_PLUGINS_STRICT=1``: a plugin that fails (import, API version, hook
  validation, a registration hook, a lifecycle hook) raises :class:`PluginError`
  instead of being reported and skipped; a plugin without a declared API version is
  refused.

A plugin declares the plugin API it was written for with a module-level
``ORCHESTRATOR_PLUGIN_API = 1`` (an int, or a tuple of ints it supports). A plugin
declaring a version this orchestrator does not provide is refused; a plugin declaring
nothing is loaded (strict mode refuses it) and shown as "undeclared" by
``orchestrator plugins list``.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
import logging
import os
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ..errors import PluginError
from . import hookspecs

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PLUGIN_API_VERSION",
    "PluginFailure",
    "PluginInfo",
    "get_plugin_manager",
    "plugin_failures",
    "plugin_registered",
    "plugins_info",
    "register_plugin",
    "reset_plugins",
    "unregister_plugin",
]

logger = logging.getLogger("orchestrator.plugins")

#: The plugin API this orchestrator provides. Bumped only when a hook changes in a way
#: that breaks existing plugins (an argument removed or its meaning changed).
PLUGIN_API_VERSION = 1

#: The ``importlib.metadata`` entry-point group installed plugins declare.
ENTRY_POINT_GROUP = "orchestrator.plugins"

#: Dotted module paths of the built-in plugins, loaded first, in this order. Core
#: features register themselves through these, so third-party plugins can override them.
#: (First-party backends that ship as their own packages, e.g. ``orchestrator_docker``,
#: use an entry point in pyproject.toml instead.)
DEFAULT_PLUGINS: tuple[str, ...] = ("orchestrator.plugins.builtin", "orchestrator.pipes.plugin")

ENV_PLUGINS = "ORCHESTRATOR_PLUGINS"
ENV_TRACE = "ORCHESTRATOR_TRACE_PLUGINS"
ENV_STRICT = "ORCHESTRATOR_PLUGINS_STRICT"

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin, as shown by ``orchestrator plugins list``.

    ``source`` is ``"builtin"``, ``"entry point"`` or ``"runtime"``; ``api_version`` is
    the declared ``ORCHESTRATOR_PLUGIN_API`` (a tuple), or ``None`` when undeclared.
    """

    name: str
    module: str
    source: str
    distribution: str | None = None
    version: str | None = None
    api_version: tuple[int, ...] | None = None
    hooks: tuple[str, ...] = ()

    @property
    def builtin(self) -> bool:
        return self.source == "builtin"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that failed to load, or whose hook failed; kept for reporting.

    ``stage`` is one of ``"import"``, ``"api version"``, ``"validation"``,
    ``"selection"`` or ``"hook <hook name>"``.
    """

    name: str
    stage: str
    error: str
    traceback: str = ""
    distribution: str | None = None
    hint: str = ""

    def message(self) -> str:
        """One readable paragraph: which plugin, what failed, how to fix it."""
        dist = f" (from distribution {self.distribution!r})" if self.distribution else ""
        text = f"plugin {self.name!r}{dist} failed at {self.stage}: {self.error}"
        if self.hint:
            text += f" Fix: {self.hint}"
        return text


class _ApiVersionError(PluginError):
    """The plugin's declared ORCHESTRATOR_PLUGIN_API is missing (strict), malformed or
    not provided by this orchestrator."""


@dataclass
class _State:
    pm: pluggy.PluginManager
    strict: bool
    trace: bool
    order: list[str] = field(default_factory=list)  # plugin names in load order
    infos: dict[str, PluginInfo] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)


_lock = threading.RLock()
_state: _State | None = None
#: Bumped whenever the set of plugins changes; registries and the lifecycle dispatcher
#: rebuild their caches when it moved. Read it as ``manager.generation``.
generation = 0


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _ensure_loaded() -> _State:
    state = _state
    if state is not None:
        return state
    with _lock:
        if _state is None:
            _create()
        assert _state is not None
        return _state


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide pluggy manager, created and loaded on first call.

    Most code should use the registries (``get_launcher(...)``) and the lifecycle
    dispatcher instead of calling hooks directly::

        from orchestrator.plugins import get_plugin_manager

        pm = get_plugin_manager()
        print(sorted(pm.list_name_plugin()))
    """
    return _ensure_loaded().pm


def plugins_info() -> list[PluginInfo]:
    """The loaded plugins, in load order."""
    state = _ensure_loaded()
    return [state.infos[name] for name in state.order if name in state.infos]


def plugin_failures() -> list[PluginFailure]:
    """Plugins that failed to load, or whose registration hooks failed, so far."""
    return list(_ensure_loaded().failures)


def _bump() -> None:
    global generation
    generation += 1


def _create() -> None:
    """Build the manager and load every plugin. Called with ``_lock`` held."""
    global _state
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    state = _State(pm=pm, strict=_env_flag(ENV_STRICT), trace=_env_flag(ENV_TRACE))
    if state.trace:
        pm.add_hookcall_monitoring(_trace_before, _trace_after)
    for dotted in DEFAULT_PLUGINS:
        _load_builtin(state, dotted)
    _load_entry_points(state)
    _state = state
    _bump()


def _trace(state: _State, text: str) -> None:
    if state.trace:
        sys.stderr.write(f"[orchestrator.plugins] {text}\n")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _trace_before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
    args = ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items())
    plugins = ", ".join(impl.plugin_name for impl in reversed(impls)) or "no plugin"
    sys.stderr.write(f"[orchestrator.plugins] call {hook_name}({args}) -> {plugins}\n")


def _trace_after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
    exc = outcome.exception
    if exc is not None:
        result = f"raised {type(exc).__name__}: {exc}"
    else:
        result = f"returned {_short(outcome.get_result())}"
    sys.stderr.write(f"[orchestrator.plugins] done {hook_name}: {result}\n")


def _record(state: _State, failure: PluginFailure, exc: BaseException | None = None) -> None:
    """Keep a failure; report it once (a warning), or raise it in strict mode."""
    state.failures.append(failure)
    if state.strict:
        raise PluginError(
            failure.message() + f" (strict mode: unset {ENV_STRICT} to skip broken plugins)"
        ) from exc
    logger.warning(
        "%s This plugin was skipped; `orchestrator plugins list` shows the details.",
        failure.message(),
    )


def _format_exc(exc: BaseException) -> tuple[str, str]:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{type(exc).__name__}: {exc}", tb


# --- loading ---------------------------------------------------------------------------


def _load_builtin(state: _State, dotted: str) -> None:
    try:
        module = importlib.import_module(dotted)
    except Exception as exc:  # noqa: BLE001 - a plugin may raise anything
        # A built-in that cannot import is a bug in the orchestrator or a broken install.
        error, tb = _format_exc(exc)
        _record(
            state,
            PluginFailure(
                dotted, "import", error, tb, "orchestrator",
                "reinstall orchestrator (pip install --force-reinstall orchestrator).",
            ),
            exc,
        )
        return
    _add(state, module, dotted, "builtin", "orchestrator", _dist_version("orchestrator"))


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _selected_names() -> set[str] | None:
    raw = os.environ.get(ENV_PLUGINS)
    if raw is None:
        return None
    return {_normalize(part) for part in raw.split(",") if part.strip()}


def _load_entry_points(state: _State) -> None:
    from importlib import metadata  # imported on first use: ~10 ms

    selected = _selected_names()
    if selected is not None and not selected:
        _trace(state, f"{ENV_PLUGINS} is empty: loading built-in plugins only")
        return
    seen: dict[str, str | None] = {}
    matched: set[str] = set()
    eps = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    for ep in eps:
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        dist_version = dist.version if dist is not None else None
        if selected is not None:
            keys = {_normalize(ep.name)} | ({_normalize(dist_name)} if dist_name else set())
            hits = keys & selected
            if not hits:
                _trace(state, f"skipping plugin {ep.name!r}: not in {ENV_PLUGINS}")
                continue
            matched |= hits
        if ep.name in seen:
            if seen[ep.name] == dist_name:
                continue  # the same distribution found twice on sys.path
            _record(
                state,
                PluginFailure(
                    ep.name, "validation",
                    f"two installed distributions declare a plugin named {ep.name!r}: "
                    f"{seen[ep.name]!r} (loaded) and {dist_name!r} (skipped).",
                    distribution=dist_name,
                    hint=f"uninstall one of them (pip uninstall {dist_name}).",
                ),
            )
            continue
        seen[ep.name] = dist_name
        _trace(state, f"loading plugin {ep.name!r} = {ep.value} from {dist_name} {dist_version}")
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - a plugin may raise anything
            error, tb = _format_exc(exc)
            _record(
                state,
                PluginFailure(
                    ep.name, "import", error, tb, dist_name,
                    _import_hint(exc, dist_name),
                ),
                exc,
            )
            continue
        _add(state, obj, ep.name, "entry point", dist_name, dist_version, ep.value)
    if selected is not None:
        for name in sorted(selected - matched):
            known = ", ".join(sorted(ep.name for ep in eps)) or "none"
            _record(
                state,
                PluginFailure(
                    name, "selection",
                    f"{ENV_PLUGINS} names {name!r} but no installed plugin has that "
                    f"entry-point or distribution name (installed plugins: {known}).",
                    hint=f"correct {ENV_PLUGINS} or install the plugin.",
                ),
            )


def _import_hint(exc: BaseException, dist_name: str | None) -> str:
    pip_name = dist_name or "<the plugin's distribution>"
    if isinstance(exc, ModuleNotFoundError):
        return (
            f"install the missing module ({exc.name}) or reinstall the plugin "
            f"(pip install --force-reinstall {pip_name}); or uninstall it "
            f"(pip uninstall {pip_name}) or leave it out of {ENV_PLUGINS}."
        )
    return (
        f"upgrade or uninstall the plugin (pip uninstall {pip_name}), or leave it out "
        f"of {ENV_PLUGINS}."
    )


def _api_versions(obj: Any, name: str) -> tuple[int, ...] | None:
    """The declared ``ORCHESTRATOR_PLUGIN_API`` as a tuple; ``PluginError`` if malformed."""
    declared = getattr(obj, "ORCHESTRATOR_PLUGIN_API", None)
    if declared is None:
        return None
    if isinstance(declared, int) and not isinstance(declared, bool):
        return (declared,)
    if isinstance(declared, (tuple, list, set, frozenset)) and declared and all(
        isinstance(v, int) and not isinstance(v, bool) for v in declared
    ):
        return tuple(sorted(declared))
    raise _ApiVersionError(
        f"plugin {name!r} declares ORCHESTRATOR_PLUGIN_API = {declared!r}; expected an int "
        f"such as {PLUGIN_API_VERSION} (or a tuple of the ints it supports)."
    )


def _hook_names() -> set[str]:
    return {
        name
        for name, fn in vars(hookspecs).items()
        if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT_NAME}_spec")
    }


def _check_hooks(pm: pluggy.PluginManager, obj: Any, name: str) -> tuple[str, ...]:
    """Hook names the plugin implements; ``PluginError`` for a misspelled hook name."""
    known = _hook_names()
    implemented = []
    for attr in dir(obj):
        try:
            opts = pm.parse_hookimpl_opts(obj, attr)
        except Exception:  # noqa: BLE001,S112 - a property that raises, etc.: not a hook
            continue
        if opts is None:
            value = getattr(obj, attr, None)
            if attr in known and inspect.isfunction(value):
                logger.warning(
                    "plugin %r defines %s() without @hookimpl, so it will never be "
                    "called. Fix: decorate it with @orchestrator.plugins.hookimpl.",
                    name, attr,
                )
            continue
        hook = opts.get("specname") or attr
        if hook not in known:
            close = difflib.get_close_matches(hook, sorted(known), n=1)
            suggestion = f" Did you mean {close[0]!r}?" if close else ""
            raise PluginError(
                f"plugin {name!r} implements {hook!r}, which is not an orchestrator hook."
                f"{suggestion} Known hooks: {', '.join(sorted(known))}. "
                f"See docs/plugins/hooks.md."
            )
        implemented.append(hook)
    return tuple(sorted(implemented))


def _validate(state: _State, obj: Any, name: str) -> tuple[tuple[int, ...] | None, tuple[str, ...]]:
    """API version and hook checks; raises ``PluginError`` describing the problem."""
    versions = _api_versions(obj, name)
    if versions is not None and PLUGIN_API_VERSION not in versions:
        needs = " or ".join(str(v) for v in versions)
        action = (
            "upgrade orchestrator (pip install -U orchestrator)"
            if min(versions) > PLUGIN_API_VERSION
            else "upgrade the plugin to a release written for the newer API"
        )
        raise _ApiVersionError(
            f"plugin {name!r} needs orchestrator plugin API {needs}, but this orchestrator "
            f"provides plugin API {PLUGIN_API_VERSION}. Fix: {action}, or install a "
            f"version of the plugin built for API {PLUGIN_API_VERSION}."
        )
    if versions is None and state.strict:
        raise _ApiVersionError(
            f"plugin {name!r} does not declare which plugin API it was written for. "
            f"Fix: add ORCHESTRATOR_PLUGIN_API = {PLUGIN_API_VERSION} to the plugin "
            f"module (strict mode refuses undeclared plugins)."
        )
    return versions, _check_hooks(state.pm, obj, name)


def _add(
    state: _State,
    obj: Any,
    name: str,
    source: str,
    dist_name: str | None,
    dist_version: str | None,
    module: str | None = None,
) -> None:
    try:
        if name in state.infos or state.pm.has_plugin(name):
            raise PluginError(
                f"a plugin named {name!r} is already registered "
                f"(by {state.infos[name].module if name in state.infos else 'pluggy'}). "
                f"Fix: give the new plugin another name."
            )
        if state.pm.is_registered(obj):
            raise PluginError(
                f"{obj!r} is already registered as plugin {state.pm.get_name(obj)!r}. "
                f"Fix: unregister it first, or register another object."
            )
        versions, hooks = _validate(state, obj, name)
        try:
            state.pm.register(obj, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin {name!r} does not match the hook specifications: {exc}. "
                f"Fix: use the argument names shown in docs/plugins/hooks.md."
            ) from exc
    except Exception as exc:
        if source == "runtime":
            raise
        error, tb = _format_exc(exc)
        stage = "api version" if isinstance(exc, _ApiVersionError) else "validation"
        hint = (
            f"pip uninstall {dist_name}, or leave it out of {ENV_PLUGINS}."
            if dist_name and source != "builtin"
            else ""
        )
        _record(state, PluginFailure(name, stage, error, tb, dist_name, hint), exc)
        return
    state.order.append(name)
    state.infos[name] = PluginInfo(
        name=name,
        module=module or getattr(obj, "__name__", None) or type(obj).__qualname__,
        source=source,
        distribution=dist_name,
        version=dist_version,
        api_version=versions,
        hooks=hooks,
    )
    _trace(state, f"registered plugin {name!r} ({source}) implementing {', '.join(hooks)}")


# --- runtime registration ----------------------------------------------------------------


def register_plugin(obj: Any, name: str | None = None) -> str:
    """Register a plugin object (a module, class or instance) now; returns its name.

    It is loaded after the built-in and installed plugins, so its registrations can
    override theirs with ``override=True``. Problems raise :class:`PluginError` at once::

        import types
        from orchestrator.plugins import hookimpl, register_plugin, unregister_plugin

        class Audit:
            @hookimpl
            def on_run_end(self, run, instance, status, error):
                print(run.run_id, status)

        name = register_plugin(Audit(), name="audit")
        unregister_plugin(name)
    """
    with _lock:
        state = _ensure_loaded()
        name = name or getattr(obj, "__name__", None) or f"{type(obj).__qualname__}-{id(obj)}"
        module = getattr(obj, "__module__", None) if not inspect.ismodule(obj) else obj.__name__
        _add(state, obj, name, "runtime", None, None, module or name)
        _bump()
        return name


def unregister_plugin(name_or_obj: Any) -> None:
    """Remove a plugin registered by name or object (built-in and installed ones too)."""
    with _lock:
        state = _ensure_loaded()
        if isinstance(name_or_obj, str):
            name = name_or_obj
        else:
            found = state.pm.get_name(name_or_obj)
            if found is None:
                raise PluginError(f"{name_or_obj!r} is not a registered plugin.")
            name = found
        if not state.pm.has_plugin(name):
            known = ", ".join(state.order) or "none"
            raise PluginError(f"no plugin named {name!r} is registered (registered: {known}).")
        state.pm.unregister(name=name)
        state.infos.pop(name, None)
        if name in state.order:
            state.order.remove(name)
        _bump()


@contextlib.contextmanager
def plugin_registered(obj: Any, name: str | None = None) -> Iterator[str]:
    """Register a plugin for the duration of a ``with`` block (a test helper).

    ::

        from orchestrator.plugins import hookimpl, plugin_registered, get_io_manager

        class Plugin:
            @hookimpl
            def register_io_managers(self, register):
                register("memory-test", dict)

        with plugin_registered(Plugin()):
            assert get_io_manager("memory-test") is dict
    """
    registered = register_plugin(obj, name)
    try:
        yield registered
    finally:
        with _lock:
            state = _state
            if state is not None and state.pm.has_plugin(registered):
                unregister_plugin(registered)


def reset_plugins() -> None:
    """Forget the plugin manager; the next use loads plugins again (re-reading env vars).

    For tests that change ``ORCHESTRATOR_PLUGINS``, ``sys.path`` or ``DEFAULT_PLUGINS``.
    """
    global _state
    with _lock:
        _state = None
        _bump()


def _ordered_impls(hook_name: str) -> list[tuple[str, Any]]:
    """(plugin name, plugin object) implementing ``hook_name``, in load order."""
    state = _ensure_loaded()
    caller = getattr(state.pm.hook, hook_name)
    by_name = {impl.plugin_name: impl.plugin for impl in caller.get_hookimpls()}
    return [(name, by_name[name]) for name in state.order if name in by_name]


def _caller_for(hook_name: str, plugin: Any) -> Any:
    """A hook caller that calls only ``plugin``'s implementation (through pluggy, so
    tracing sees it)."""
    pm = _ensure_loaded().pm
    others = [p for p in pm.get_plugins() if p is not plugin]
    return pm.subset_hook_caller(hook_name, remove_plugins=others)


def _record_hook_failure(plugin_name: str, hook_name: str, exc: BaseException) -> None:
    """A registration hook of a plugin raised: report (or raise in strict mode)."""
    state = _ensure_loaded()
    info = state.infos.get(plugin_name)
    error, tb = _format_exc(exc)
    dist = info.distribution if info else None
    if isinstance(exc, PluginError):
        hint = ""
    elif dist and info and not info.builtin:
        hint = f"report it to the plugin's authors, upgrade it, or pip uninstall {dist}."
    else:
        hint = "report it to the plugin's authors."
    failure = PluginFailure(plugin_name, f"hook {hook_name}", error, tb, dist, hint)
    known = any(
        (f.name, f.stage, f.error) == (failure.name, failure.stage, failure.error)
        for f in state.failures
    )
    if known and not state.strict:
        return  # registries are rebuilt when plugins change: report each failure once
    _record(state, failure, exc)
