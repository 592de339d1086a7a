"""Tests of the orchestrator-notify plugin, using the orchestrator's plugin test helpers.

Run with ``pip install -e '.[test]' && pytest``.
"""

from __future__ import annotations

import orchestrator_notify
import pytest
from click.testing import CliRunner

from orchestrator.asset_key import AssetKey
from orchestrator.cli import cli
from orchestrator.events import RunRecord, RunStatus
from orchestrator.plugins import (
    get_io_manager,
    lifecycle,
    plugin_registered,
    plugins_info,
    reset_plugins,
)


@pytest.fixture(autouse=True)
def plugin(tmp_path, monkeypatch):
    """Only this plugin, registered from its module; notifications go to tmp_path."""
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "")  # no installed plugins: we add ours
    monkeypatch.setenv("ORCHESTRATOR_NOTIFY_FILE", str(tmp_path / "notify.log"))
    reset_plugins()
    with plugin_registered(orchestrator_notify, name="notify"):
        yield tmp_path / "notify.log"
    reset_plugins()


def test_declares_the_plugin_api():
    [info] = [i for i in plugins_info() if i.name == "notify"]
    assert info.api_version == (1,)


def test_run_end_writes_a_line(plugin):
    run = RunRecord(run_id="r1", job_name="daily")
    error = {"type": "ValueError", "message": "bad row"}
    lifecycle.on_run_end(run, None, RunStatus.FAILURE, error)
    lifecycle.on_run_end(run, None, RunStatus.SUCCESS, None)
    assert plugin.read_text() == "r1 daily FAILURE: ValueError: bad row\nr1 daily SUCCESS\n"


def test_notify_on_filters_statuses(plugin, monkeypatch):
    monkeypatch.setenv("ORCHESTRATOR_NOTIFY_ON", "FAILURE")
    lifecycle.on_run_end(RunRecord(run_id="r2", job_name="j"), None, RunStatus.SUCCESS, None)
    assert not plugin.exists()


def test_commands(plugin):
    runner = CliRunner()
    result = runner.invoke(cli, ["notify", "tail"])
    assert result.exit_code == 1 and "no notifications yet" in result.output
    assert runner.invoke(cli, ["notify", "send", "deploy done"]).exit_code == 0
    result = runner.invoke(cli, ["notify", "tail", "-n", "1"])
    assert result.output == "deploy done\n"


def test_io_manager(tmp_path):
    class Context:
        asset_key = AssetKey(["sales", "daily"])

    io = get_io_manager("notify-json")(tmp_path / "io")
    io.handle_output(Context(), {"total": 3})
    assert io.load_input(Context()) == {"total": 3}
    assert (tmp_path / "io" / "sales" / "daily.json").exists()
