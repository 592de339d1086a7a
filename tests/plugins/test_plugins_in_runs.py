"""Lifecycle hooks in real runs (the executor calls ``orchestrator.plugins.lifecycle``)."""

from __future__ import annotations

import logging

from orchestrator.assets.decorators import asset
from orchestrator.events import RunStatus
from orchestrator.execution.api import materialize
from orchestrator.plugins import hookimpl, plugin_registered


@asset
def numbers():
    return [1, 2, 3]


@asset
def total(numbers):
    return sum(numbers)


def test_a_run_calls_run_and_event_hooks(tmp_home) -> None:
    seen: list[tuple] = []

    class Observer:
        @hookimpl
        def on_run_start(self, run, instance):
            seen.append(("start", run.run_id))

        @hookimpl
        def on_event(self, event):
            seen.append(("event", event.event_type.value, event.run_id))

        @hookimpl
        def on_run_end(self, run, instance, status, error):
            seen.append(("end", run.run_id, status, error))

    with plugin_registered(Observer(), name="observer"):
        result = materialize([numbers, total])
    run_id = result.run_id
    assert seen[0] == ("start", run_id)
    assert seen[-1] == ("end", run_id, RunStatus.SUCCESS, None)
    events = [s[1] for s in seen if s[0] == "event"]
    assert events[0] == "RUN_START" and events[-1] == "RUN_SUCCESS"
    assert events.count("ASSET_MATERIALIZATION") == 2
    assert all(s[2] == run_id for s in seen if s[0] == "event")


def test_a_failing_lifecycle_plugin_does_not_fail_the_run(tmp_home, caplog) -> None:
    class Broken:
        @hookimpl
        def on_run_start(self, run, instance):
            raise RuntimeError("lineage server unreachable")

        @hookimpl
        def on_event(self, event):
            raise RuntimeError("metrics queue full")

        @hookimpl
        def on_run_end(self, run, instance, status, error):
            raise RuntimeError("alerting down")

    with plugin_registered(Broken(), name="broken"), caplog.at_level(
        logging.ERROR, logger="orchestrator.plugins"
    ):
        result = materialize([numbers, total])
    assert result.success
    assert result.output_for_node("total") == 6
    messages = [r.getMessage() for r in caplog.records if r.name == "orchestrator.plugins"]
    assert any("plugin 'broken' raised in on_run_start" in m for m in messages)
    assert any("plugin 'broken' raised in on_run_end" in m for m in messages)
    # on_event failed for every event, but its traceback was logged once
    assert sum("raised in on_event" in m for m in messages) == 1
