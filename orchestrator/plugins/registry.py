"""Typed registries built from the ``register_*`` hooks, on first use.

Each kind (launcher, message channel, context injector, IO manager, resource) has a
registry mapping a name to a :class:`Registration`. Registries are built once, the first
time one of their functions is called, and rebuilt only when the set of plugins changes::

    from orchestrator.plugins import get_launcher, launchers

    print(sorted(launchers()))          # names → Registration, read-only
    launcher_cls = get_launcher("subprocess")

A registered object may be a ``"module:attr"`` string: it is imported the first time
``get_<kind>(name)`` asks for it, so a backend's SDK is imported only when used. An
unknown name, or an import that fails, raises :class:`PluginError` listing the known
names and, for first-party backends, the command that installs them
(:data:`INSTALL_HINTS`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import PluginError
from . import manager

__all__ = [
    "INSTALL_HINTS",
    "KINDS",
    "Registration",
    "commands",
    "context_injectors",
    "get_context_injector",
    "get_io_manager",
    "get_launcher",
    "get_message_channel",
    "get_resource",
    "io_managers",
    "launchers",
    "message_channels",
    "registrations",
    "resources",
]

#: kind → (hook that fills it, human name of one entry).
KINDS: dict[str, tuple[str, str]] = {
    "launcher": ("register_launchers", "launcher"),
    "message_channel": ("register_message_channels", "message channel"),
    "context_injector": ("register_context_injectors", "context injector"),
    "io_manager": ("register_io_managers", "IO manager"),
    "resource": ("register_resources", "resource"),
}

_AWS = "pip install 'orchestrator[aws]'"
#: (kind, name) → how to install the first-party package that provides it. Shown when
#: the name is unknown or its import fails. Add a line when a first-party backend lands.
INSTALL_HINTS: dict[tuple[str, str], str] = {
    ("launcher", "docker"): "pip install 'orchestrator[docker]'",
    ("launcher", "ecs"): _AWS,
    ("launcher", "lambda"): _AWS,
    ("launcher", "batch"): _AWS,
    ("launcher", "glue"): _AWS,
    ("launcher", "emr"): _AWS,
    ("launcher", "emr_serverless"): _AWS,
    ("launcher", "databricks"): "pip install 'orchestrator[databricks]'",
    ("message_channel", "s3"): _AWS,
    ("message_channel", "cloudwatch"): _AWS,
    ("message_channel", "dbfs"): "pip install 'orchestrator[databricks]'",
    ("context_injector", "s3"): _AWS,
    ("context_injector", "dbfs"): "pip install 'orchestrator[databricks]'",
    ("io_manager", "s3"): _AWS,
    ("io_manager", "parquet"): "pip install 'orchestrator[arrow]'",
    ("io_manager", "arrow"): "pip install 'orchestrator[arrow]'",
    ("resource", "dbt"): "pip install 'orchestrator[dbt]'",
}


@dataclass(frozen=True)
class Registration:
    """One registered name: the object, who registered it, and what it replaced.

    ``obj`` is what the plugin passed (possibly a ``"module:attr"`` string); use
    ``load()`` or the ``get_<kind>()`` functions to get the object itself.
    """

    kind: str
    name: str
    obj: Any
    plugin: str
    description: str | None = None
    overrides: str | None = None  # the plugin whose registration this one replaced
    _loaded: Any = field(default=None, repr=False, compare=False)
    _is_loaded: bool = field(default=False, repr=False, compare=False)

    def load(self) -> Any:
        """The registered object, importing a ``"module:attr"`` string the first time."""
        if self._is_loaded:
            return self._loaded
        obj = self.obj
        if isinstance(obj, str):
            obj = _import_path(self, obj)
        object.__setattr__(self, "_loaded", obj)  # a cache; the registration is frozen
        object.__setattr__(self, "_is_loaded", True)
        return obj


def _import_path(reg: Registration, path: str) -> Any:
    human = KINDS[reg.kind][1]
    module_name, _, attr = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception as exc:
        hint = INSTALL_HINTS.get((reg.kind, reg.name))
        fix = (
            f"install it with: {hint}"
            if hint
            else f"check that plugin {reg.plugin!r} and its dependencies are installed"
        )
        raise PluginError(
            f"{human} {reg.name!r} (registered by plugin {reg.plugin!r}) could not be "
            f"loaded from {path!r}: {type(exc).__name__}: {exc}. Fix: {fix}."
        ) from exc
    return target


_lock = threading.RLock()
# kind → (manager generation it was built for, read-only name → Registration)
_cache: dict[str, tuple[int, Mapping[str, Registration]]] = {}


def _check_name(kind: str, plugin: str, name: Any, obj: Any) -> None:
    human = KINDS[kind][1]
    if not isinstance(name, str) or not name.strip():
        raise PluginError(
            f"plugin {plugin!r} registered a {human} with name {name!r}; the name must be "
            f"a non-empty string such as 'my-{kind.replace('_', '-')}'."
        )
    if isinstance(obj, str) and (":" not in obj or obj.startswith(":") or obj.endswith(":")):
        raise PluginError(
            f"plugin {plugin!r} registered {human} {name!r} as the string {obj!r}; a string "
            f"must be an import path 'package.module:attribute'. Fix: pass the object "
            f"itself, or its import path."
        )
    if obj is None:
        raise PluginError(f"plugin {plugin!r} registered {human} {name!r} as None.")


def _build(kind: str) -> Mapping[str, Registration]:
    hook_name, human = KINDS[kind]
    entries: dict[str, Registration] = {}
    for plugin_name, plugin in manager._ordered_impls(hook_name):
        staged: dict[str, Registration] = {}

        def register(
            name: str,
            obj: Any,
            *,
            description: str | None = None,
            override: bool = False,
            _plugin: str = plugin_name,
            _staged: dict[str, Registration] = staged,
        ) -> None:
            _check_name(kind, _plugin, name, obj)
            previous = _staged.get(name) or entries.get(name)
            if previous is not None and not override:
                raise PluginError(
                    f"{human} {name!r} is registered twice: by plugin {previous.plugin!r} "
                    f"and by plugin {_plugin!r}. Fix: pass override=True in plugin "
                    f"{_plugin!r} to replace the first, rename one of them, or uninstall "
                    f"one plugin."
                )
            _staged[name] = Registration(
                kind, name, obj, _plugin, description,
                overrides=previous.plugin if previous is not None else None,
            )

        try:
            manager._caller_for(hook_name, plugin)(register=register)
        except Exception as exc:  # noqa: BLE001 - a plugin may raise anything
            manager._record_hook_failure(plugin_name, hook_name, exc)
            continue
        entries.update(staged)
    return MappingProxyType(dict(sorted(entries.items())))


def registrations(kind: str) -> Mapping[str, Registration]:
    """The read-only registry of one kind (``"launcher"``, ``"io_manager"``, ...)."""
    if kind not in KINDS:
        raise PluginError(f"unknown registry kind {kind!r}; known kinds: {', '.join(KINDS)}.")
    cached = _cache.get(kind)
    gen = manager.generation
    if cached is not None and cached[0] == gen:
        return cached[1]
    with _lock:
        manager._ensure_loaded()
        gen = manager.generation
        cached = _cache.get(kind)
        if cached is None or cached[0] != gen:
            cached = (gen, _build(kind))
            _cache[kind] = cached
        return cached[1]


def _get(kind: str, name: str) -> Any:
    entries = registrations(kind)
    reg = entries.get(name)
    if reg is None:
        raise _unknown(kind, name, entries)
    return reg.load()


def _unknown(kind: str, name: str, entries: Mapping[str, Registration]) -> PluginError:
    human = KINDS[kind][1]
    known = ", ".join(repr(n) for n in entries) or "none"
    message = f"unknown {human} {name!r}; known {human}s: {known}."
    hint = INSTALL_HINTS.get((kind, name))
    if hint:
        message += f" {name!r} is provided by a first-party package: {hint}"
    else:
        message += (
            f" Fix: check the spelling, or install the plugin that provides {name!r} "
            f"(`orchestrator plugins list` shows what each installed plugin registers)."
        )
    failed = sorted({f.name for f in manager.plugin_failures()})
    if failed:
        message += f" Note: these plugins failed to load: {', '.join(failed)}."
    return PluginError(message)


def get_launcher(name: str) -> Any:
    """The launcher class registered under ``name`` (e.g. ``"subprocess"``)."""
    return _get("launcher", name)


def launchers() -> Mapping[str, Registration]:
    """All launchers: a read-only mapping name → :class:`Registration`."""
    return registrations("launcher")


def get_message_channel(name: str) -> Any:
    """The message reader factory registered under ``name`` (e.g. ``"file"``)."""
    return _get("message_channel", name)


def message_channels() -> Mapping[str, Registration]:
    """All message channels: a read-only mapping name → :class:`Registration`."""
    return registrations("message_channel")


def get_context_injector(name: str) -> Any:
    """The context injector factory registered under ``name`` (e.g. ``"env"``)."""
    return _get("context_injector", name)


def context_injectors() -> Mapping[str, Registration]:
    """All context injectors: a read-only mapping name → :class:`Registration`."""
    return registrations("context_injector")


def get_io_manager(name: str) -> Any:
    """The IO manager definition or factory registered under ``name``."""
    return _get("io_manager", name)


def io_managers() -> Mapping[str, Registration]:
    """All IO managers: a read-only mapping name → :class:`Registration`."""
    return registrations("io_manager")


def get_resource(name: str) -> Any:
    """The resource definition registered under ``name``."""
    return _get("resource", name)


def resources() -> Mapping[str, Registration]:
    """All resources: a read-only mapping name → :class:`Registration`."""
    return registrations("resource")


# --- CLI commands from register_commands -------------------------------------------------

_commands_cache: tuple[int, frozenset[str], Mapping[str, tuple[Any, str]]] | None = None


def commands(reserved: frozenset[str] = frozenset()) -> Mapping[str, tuple[Any, str]]:
    """Commands added by plugins: name → (click command, plugin name).

    ``reserved`` holds the built-in command names; a plugin command with one of these
    names, or one already added by another plugin, is refused and the plugin reported.
    """
    global _commands_cache
    cached = _commands_cache
    if cached is not None and cached[0] == manager.generation and cached[1] == reserved:
        return cached[2]
    import click

    with _lock:
        manager._ensure_loaded()
        gen = manager.generation
        result: dict[str, tuple[Any, str]] = {}
        for plugin_name, plugin in manager._ordered_impls("register_commands"):
            collector = click.Group(name="orchestrator")
            try:
                manager._caller_for("register_commands", plugin)(cli=collector)
                for name in collector.commands:
                    if name in reserved:
                        raise PluginError(
                            f"plugin {plugin_name!r} adds a command {name!r}, but "
                            f"'orchestrator {name}' is a built-in command. Fix: rename the "
                            f"plugin's command."
                        )
                    if name in result:
                        raise PluginError(
                            f"command {name!r} is added twice: by plugin {result[name][1]!r} "
                            f"and by plugin {plugin_name!r}. Fix: rename one of them or "
                            f"uninstall one plugin."
                        )
            except Exception as exc:  # noqa: BLE001 - a plugin may raise anything
                manager._record_hook_failure(plugin_name, "register_commands", exc)
                continue
            for name, command in collector.commands.items():
                result[name] = (command, plugin_name)
        mapping: Mapping[str, tuple[Any, str]] = MappingProxyType(result)
        _commands_cache = (gen, reserved, mapping)
        return mapping
