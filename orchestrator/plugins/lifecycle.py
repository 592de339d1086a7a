"""Calling the lifecycle hooks from the executor and the run store, cheaply and safely.

The executor calls the module-level :data:`lifecycle` dispatcher::

    from orchestrator.plugins import lifecycle

    lifecycle.run_started(run, instance)
    lifecycle.step_started(run, "my_step", [AssetKey("a")])
    lifecycle.step_finished(run, "my_step", [AssetKey("a")], "SUCCESS", None)
    lifecycle.run_finished(run, instance, RunStatus.SUCCESS, None)
    if lifecycle.wants_events:          # skip building anything when nobody listens
        lifecycle.event_stored(event)

Cost: when no plugin implements a hook, a call is one integer comparison and one empty
check; the list of implementations is computed once and again only when the set of
plugins changes.

Errors: each plugin is called on its own. An exception from one is logged on the
``orchestrator.plugins`` logger naming the plugin and the hook (with a traceback the
first time for that plugin and hook; later repeats at DEBUG level, counted in
:attr:`LifecycleDispatcher.errors`), the other plugins are still called, and the run
is not affected. With ``ORCHESTRATOR_PLUGINS_STRICT=1`` the exception is raised as
:class:`~orchestrator.errors.PluginError`.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from ..errors import PluginError
from . import manager

__all__ = ["LIFECYCLE_HOOKS", "LifecycleDispatcher", "lifecycle"]

logger = logging.getLogger("orchestrator.plugins")

LIFECYCLE_HOOKS = ("on_run_start", "on_run_end", "on_step_start", "on_step_end", "on_event")

_Callers = tuple[tuple[str, Any], ...]


class LifecycleDispatcher:
    """Calls lifecycle hooks, one plugin at a time, isolating their errors.

    ``enabled`` is true when any plugin implements any lifecycle hook; ``wants_events``
    when any implements ``on_event``. ``errors`` counts exceptions per
    ``(plugin, hook)``.
    """

    def __init__(self) -> None:
        self._generation = -1
        self._callers: dict[str, _Callers] = {}
        self._strict = False
        self.errors: Counter[tuple[str, str]] = Counter()

    # --- cache ------------------------------------------------------------------------
    def _refresh(self) -> None:
        state = manager._ensure_loaded()
        generation = manager.generation
        callers: dict[str, _Callers] = {}
        for hook in LIFECYCLE_HOOKS:
            impls = getattr(state.pm.hook, hook).get_hookimpls()
            # pluggy calls the last of get_hookimpls() first: keep its order.
            callers[hook] = tuple(
                (impl.plugin_name, manager._caller_for(hook, impl.plugin))
                for impl in reversed(impls)
            )
        self._callers = callers
        self._strict = state.strict
        self._generation = generation

    def _get(self, hook: str) -> _Callers:
        if self._generation != manager.generation:
            self._refresh()
        return self._callers[hook]

    @property
    def enabled(self) -> bool:
        """True when at least one plugin implements a lifecycle hook."""
        if self._generation != manager.generation:
            self._refresh()
        return any(self._callers.values())

    @property
    def wants_events(self) -> bool:
        """True when at least one plugin implements ``on_event``."""
        return bool(self._get("on_event"))

    # --- dispatch ---------------------------------------------------------------------
    def _dispatch(self, hook: str, callers: _Callers, kwargs: dict[str, Any]) -> None:
        for plugin_name, caller in callers:
            try:
                caller(**kwargs)
            except Exception as exc:
                self._failed(plugin_name, hook, exc)

    def _failed(self, plugin_name: str, hook: str, exc: Exception) -> None:
        key = (plugin_name, hook)
        self.errors[key] += 1
        if self._strict:
            raise PluginError(
                f"plugin {plugin_name!r} raised in {hook}: {type(exc).__name__}: {exc} "
                f"(strict mode: unset {manager.ENV_STRICT} to log lifecycle hook errors "
                f"and go on)."
            ) from exc
        if self.errors[key] == 1:
            logger.error(
                "plugin %r raised in %s (the run goes on; fix or uninstall the plugin): "
                "%s: %s",
                plugin_name, hook, type(exc).__name__, exc,
                exc_info=exc,
            )
        else:
            logger.debug(
                "plugin %r raised in %s again (%d times): %s: %s",
                plugin_name, hook, self.errors[key], type(exc).__name__, exc,
            )

    def run_started(self, run: Any, instance: Any) -> None:
        """Call ``on_run_start`` hooks."""
        callers = self._get("on_run_start")
        if callers:
            self._dispatch("on_run_start", callers, {"run": run, "instance": instance})

    def run_finished(self, run: Any, instance: Any, status: Any, error: Any = None) -> None:
        """Call ``on_run_end`` hooks."""
        callers = self._get("on_run_end")
        if callers:
            self._dispatch(
                "on_run_end",
                callers,
                {"run": run, "instance": instance, "status": status, "error": error},
            )

    def step_started(self, run: Any, step_key: str, asset_keys: Any) -> None:
        """Call ``on_step_start`` hooks."""
        callers = self._get("on_step_start")
        if callers:
            self._dispatch(
                "on_step_start",
                callers,
                {"run": run, "step_key": step_key, "asset_keys": list(asset_keys)},
            )

    def step_finished(
        self, run: Any, step_key: str, asset_keys: Any, status: str, error: Any = None
    ) -> None:
        """Call ``on_step_end`` hooks."""
        callers = self._get("on_step_end")
        if callers:
            self._dispatch(
                "on_step_end",
                callers,
                {
                    "run": run,
                    "step_key": step_key,
                    "asset_keys": list(asset_keys),
                    "status": str(status),
                    "error": error,
                },
            )

    def event_stored(self, event: Any) -> None:
        """Call ``on_event`` hooks."""
        callers = self._get("on_event")
        if callers:
            self._dispatch("on_event", callers, {"event": event})


#: The process-wide dispatcher the executor and run store call.
lifecycle = LifecycleDispatcher()
