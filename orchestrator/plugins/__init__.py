"""Plugins: how backends, channels, IO managers, resources, CLI commands and observers
are added to the orchestrator.

Write a plugin::

    # my_plugin.py
    from orchestrator.plugins import hookimpl

    ORCHESTRATOR_PLUGIN_API = 1

    @hookimpl
    def register_io_managers(register):
        register("json", "my_plugin.io:JsonIOManager", description="Values as JSON files")

and declare it in your package's pyproject.toml::

    [project.entry-points."orchestrator.plugins"]
    my-plugin = "my_plugin"

Use what plugins registered::

    from orchestrator.plugins import get_io_manager
    io_manager_cls = get_io_manager("json")

Plugins are loaded on first use, once per process. See ``docs/plugins/overview.md``
(loading, environment variables, versioning, failures) and ``docs/plugins/hooks.md``
(every hook).
"""

from __future__ import annotations

from .hookspecs import hookimpl, hookspec
from .lifecycle import LifecycleDispatcher, lifecycle
from .manager import (
    DEFAULT_PLUGINS,
    ENTRY_POINT_GROUP,
    PLUGIN_API_VERSION,
    PluginFailure,
    PluginInfo,
    get_plugin_manager,
    plugin_failures,
    plugin_registered,
    plugins_info,
    register_plugin,
    reset_plugins,
    unregister_plugin,
)
from .registry import (
    INSTALL_HINTS,
    Registration,
    context_injectors,
    get_context_injector,
    get_io_manager,
    get_launcher,
    get_message_channel,
    get_resource,
    io_managers,
    launchers,
    message_channels,
    registrations,
    resources,
)

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "INSTALL_HINTS",
    "PLUGIN_API_VERSION",
    "LifecycleDispatcher",
    "PluginFailure",
    "PluginInfo",
    "Registration",
    "context_injectors",
    "get_context_injector",
    "get_io_manager",
    "get_launcher",
    "get_message_channel",
    "get_plugin_manager",
    "get_resource",
    "hookimpl",
    "hookspec",
    "io_managers",
    "launchers",
    "lifecycle",
    "message_channels",
    "plugin_failures",
    "plugin_registered",
    "plugins_info",
    "register_plugin",
    "registrations",
    "reset_plugins",
    "resources",
    "unregister_plugin",
]
