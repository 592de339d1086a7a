"""The lifecycle dispatcher: error isolation, strict mode, ordering, the enabled flags."""

from __future__ import annotations

import logging

import pytest

from orchestrator.errors import PluginError
from orchestrator.events import RunRecord, RunStatus
from orchestrator.plugins import LifecycleDispatcher, hookimpl, lifecycle, plugin_registered

RUN = RunRecord(run_id="r1", job_name="job")


def test_lifecycle_hook_error_is_logged_and_does_not_stop_others(caplog) -> None:
    calls = []

    class Broken:
        @hookimpl
        def on_run_end(self, run, instance, status, error):
            raise RuntimeError("alerting service down")

    class Works:
        @hookimpl
        def on_run_end(self, run, instance, status, error):
            calls.append((run.run_id, status))

    dispatcher = LifecycleDispatcher()
    with (
        plugin_registered(Works(), name="works"),
        plugin_registered(Broken(), name="broken"),
        caplog.at_level(logging.DEBUG, logger="orchestrator.plugins"),
    ):
        dispatcher.on_run_end(RUN, None, RunStatus.FAILURE, None)
        dispatcher.on_run_end(RUN, None, RunStatus.SUCCESS, None)
    assert calls == [("r1", RunStatus.FAILURE), ("r1", RunStatus.SUCCESS)]
    assert dispatcher.errors[("broken", "on_run_end")] == 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # the traceback is logged once; repeats go to DEBUG
    assert "plugin 'broken' raised in on_run_end" in errors[0].getMessage()
    assert "alerting service down" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert any("again (2 times)" in r.getMessage() for r in caplog.records)


def test_lifecycle_hook_error_raises_in_strict_mode(monkeypatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS_STRICT", "1")

    class Broken:
        ORCHESTRATOR_PLUGIN_API = 1

        @hookimpl
        def on_step_start(self, run, step_key, asset_keys):
            raise KeyError("nope")

    with (
        plugin_registered(Broken(), name="broken"),
        pytest.raises(PluginError, match="plugin 'broken' raised in on_step_start"),
    ):
        lifecycle.on_step_start(RUN, "s", [])


def test_enabled_flags_follow_the_plugins() -> None:
    dispatcher = LifecycleDispatcher()
    assert not dispatcher.enabled
    assert not dispatcher.wants_events

    class StepsOnly:
        @hookimpl
        def on_step_end(self, run, step_key, asset_keys, status, error):
            pass

    with plugin_registered(StepsOnly(), name="steps"):
        assert dispatcher.enabled
        assert not dispatcher.wants_events
    assert not dispatcher.enabled


def test_lifecycle_order_follows_pluggy(monkeypatch) -> None:
    order = []

    def make(tag, **opts):
        class P:
            @hookimpl(**opts)
            def on_run_start(self, run, instance):
                order.append(tag)

        return P()

    with (
        plugin_registered(make("first-loaded"), name="a"),
        plugin_registered(make("last", trylast=True), name="b"),
        plugin_registered(make("second-loaded"), name="c"),
        plugin_registered(make("first", tryfirst=True), name="d"),
    ):
        lifecycle.on_run_start(RUN, None)
    assert order == ["first", "second-loaded", "first-loaded", "last"]


def test_calls_without_plugins_do_nothing() -> None:
    dispatcher = LifecycleDispatcher()
    dispatcher.on_run_start(RUN, None)
    dispatcher.on_event(object())
    assert not dispatcher.errors


def test_status_and_error_are_normalised_for_plugins() -> None:
    seen = []

    class P:
        @hookimpl
        def on_run_end(self, run, instance, status, error):
            seen.append((status, error))

        @hookimpl
        def on_step_end(self, run, step_key, asset_keys, status, error):
            seen.append((status, error))

    try:
        try:
            raise KeyError("id")
        except KeyError as inner:
            raise ValueError("bad row") from inner
    except ValueError as exc:
        failure = exc

    with plugin_registered(P(), name="p"):
        # the executor may pass the enum's value and the exception itself
        lifecycle.on_run_end(run=RUN, instance=None, status="FAILURE", error=failure)
        lifecycle.on_step_end(RUN, "s", None, RunStatus.SUCCESS)
    (run_status, run_error), (step_status, step_error) = seen
    assert run_status is RunStatus.FAILURE
    assert run_error["type"] == "ValueError" and run_error["message"] == "bad row"
    assert any("raise ValueError" in frame for frame in run_error["stack"])
    assert run_error["cause"]["type"] == "KeyError"
    assert (step_status, step_error) == ("SUCCESS", None)


def test_event_sink_is_none_without_listeners_and_forwards_batches() -> None:
    dispatcher = LifecycleDispatcher()
    assert dispatcher.event_sink() is None
    seen = []

    class Listener:
        @hookimpl
        def on_event(self, event):
            seen.append(event)

    with plugin_registered(Listener(), name="listener"):
        sink = dispatcher.event_sink()
        assert sink is not None
        sink(["e1", "e2"])
    assert seen == ["e1", "e2"]
