"""Calling the lifecycle hooks from the executor and the run store, cheaply and safely.

The executor calls the module-level :data:`lifecycle` dispatcher::

    from orchestrator.plugins import lifecycle

    lifecycle.on_run_start(run, instance)
    lifecycle.on_step_start(run, "my_step", [AssetKey("a")])
    lifecycle.on_step_end(run, "my_step", [AssetKey("a")], "SUCCESS", None)
    lifecycle.on_run_end(run, instance, RunStatus.SUCCESS, None)
    if lifecycle.wants_events:          # skip building anything when nobody listens
        lifecycle.on_event(event)
    sink = lifecycle.event_sink()       # or: a batch callable, None when nobody listens

The methods have the names and arguments of the hooks they call. ``on_run_end`` and
``on_step_end`` accept the status as an enum or its value and the error as an exception
or a dict: plugins always get a ``RunStatus`` (runs), a status string (steps) and an
error dict ``{"type", "message", "stack", "cause"}`` or ``None``.

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
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
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
            except Exception as exc:  # noqa: BLE001 - a plugin may raise anything
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

    def on_run_start(self, run: Any, instance: Any) -> None:
        """Call ``on_run_start`` hooks (after the run's ``RUN_START`` event is stored)."""
        callers = self._get("on_run_start")
        if callers:
            self._dispatch("on_run_start", callers, {"run": run, "instance": instance})

    def on_run_end(self, run: Any, instance: Any, status: Any, error: Any = None) -> None:
        """Call ``on_run_end`` hooks. ``status`` may be a ``RunStatus`` or its value;
        ``error`` may be an exception, an error dict or ``None`` (plugins get a dict)."""
        callers = self._get("on_run_end")
        if callers:
            self._dispatch(
                "on_run_end",
                callers,
                {
                    "run": run,
                    "instance": instance,
                    "status": _run_status(status),
                    "error": _error_dict(error),
                },
            )

    def on_step_start(self, run: Any, step_key: str, asset_keys: Any) -> None:
        """Call ``on_step_start`` hooks."""
        callers = self._get("on_step_start")
        if callers:
            self._dispatch(
                "on_step_start",
                callers,
                {"run": run, "step_key": step_key, "asset_keys": list(asset_keys or ())},
            )

    def on_step_end(
        self, run: Any, step_key: str, asset_keys: Any, status: Any, error: Any = None
    ) -> None:
        """Call ``on_step_end`` hooks. ``status`` is ``"SUCCESS"``, ``"FAILURE"`` or
        ``"SKIPPED"`` (an enum's value is used); ``error`` as for :meth:`on_run_end`."""
        callers = self._get("on_step_end")
        if callers:
            self._dispatch(
                "on_step_end",
                callers,
                {
                    "run": run,
                    "step_key": step_key,
                    "asset_keys": list(asset_keys or ()),
                    "status": str(getattr(status, "value", status)),
                    "error": _error_dict(error),
                },
            )

    def on_event(self, event: Any) -> None:
        """Call ``on_event`` hooks for one stored event."""
        callers = self._get("on_event")
        if callers:
            self._dispatch("on_event", callers, {"event": event})

    def event_sink(self) -> Callable[[Iterable[Any]], None] | None:
        """A callable taking a batch of stored events, or ``None`` when no plugin
        implements ``on_event`` (so the caller can skip it entirely)."""
        if not self.wants_events:
            return None

        def sink(events: Iterable[Any]) -> None:
            callers = self._get("on_event")
            if callers:
                for event in events:
                    self._dispatch("on_event", callers, {"event": event})

        return sink


def _run_status(status: Any) -> Any:
    from ..events import RunStatus

    if isinstance(status, RunStatus):
        return status
    try:
        return RunStatus(str(getattr(status, "value", status)))
    except ValueError:
        return status


def _error_dict(error: Any) -> dict[str, Any] | None:
    """An exception as ``{"type", "message", "stack", "cause"}`` (dicts pass through)."""
    if error is None or isinstance(error, dict):
        return error
    if isinstance(error, BaseException):
        cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        return {
            "type": type(error).__name__,
            "message": str(error),
            "stack": traceback.format_tb(error.__traceback__),
            "cause": _error_dict(cause) if cause is not None and cause is not error else None,
        }
    return {"type": type(error).__name__, "message": str(error), "stack": [], "cause": None}


#: The process-wide dispatcher the executor and run store call.
lifecycle = LifecycleDispatcher()
