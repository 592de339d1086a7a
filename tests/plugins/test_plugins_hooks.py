"""One test per hook (``test_hook_<name>``), each through the path the core uses.

``test_every_hook_has_docs_and_a_test`` fails when a hook has no test named here (or
anywhere under tests/).
"""

from __future__ import annotations

import click
from click.testing import CliRunner

from orchestrator.asset_key import AssetKey
from orchestrator.cli import cli
from orchestrator.events import Event, EventType, RunRecord, RunStatus
from orchestrator.plugins import (
    context_injectors,
    get_context_injector,
    get_io_manager,
    get_launcher,
    get_message_channel,
    get_resource,
    hookimpl,
    launchers,
    lifecycle,
    message_channels,
    plugin_registered,
    resources,
)

RUN = RunRecord(run_id="run-42", job_name="nightly")


def test_hook_register_launchers() -> None:
    class Launcher:
        pass

    class P:
        @hookimpl
        def register_launchers(self, register):
            register("local-test", Launcher, description="test launcher")

    with plugin_registered(P(), name="p"):
        assert get_launcher("local-test") is Launcher
        assert launchers()["local-test"].description == "test launcher"


def test_hook_register_message_channels() -> None:
    class Reader:
        pass

    class P:
        @hookimpl
        def register_message_channels(self, register):
            register("pigeon", Reader)

    with plugin_registered(P(), name="p"):
        assert get_message_channel("pigeon") is Reader
        assert message_channels()["pigeon"].plugin == "p"


def test_hook_register_context_injectors() -> None:
    def make_injector(**kwargs):
        return ("injector", kwargs)

    class P:
        @hookimpl
        def register_context_injectors(self, register):
            register("envelope", make_injector)

    with plugin_registered(P(), name="p"):
        factory = get_context_injector("envelope")
        assert factory(path="/x") == ("injector", {"path": "/x"})
        assert list(context_injectors()) == ["envelope"]


def test_hook_register_io_managers(tmp_path) -> None:
    class FileIO:
        def __init__(self, base):
            self.base = base

        def handle_output(self, key, value):
            (self.base / key).write_text(value)

        def load_input(self, key):
            return (self.base / key).read_text()

    class P:
        @hookimpl
        def register_io_managers(self, register):
            register("file-test", FileIO)

    with plugin_registered(P(), name="p"):
        io = get_io_manager("file-test")(tmp_path)
        io.handle_output("a", "hello")
        assert io.load_input("a") == "hello"


def test_hook_register_resources() -> None:
    class Warehouse:
        def __init__(self, dsn="sqlite://"):
            self.dsn = dsn

    class P:
        @hookimpl
        def register_resources(self, register):
            register("warehouse", Warehouse, description="the warehouse")

    with plugin_registered(P(), name="p"):
        assert get_resource("warehouse")().dsn == "sqlite://"
        assert resources()["warehouse"].description == "the warehouse"


def test_hook_on_run_start() -> None:
    seen = []
    instance = object()

    class P:
        @hookimpl
        def on_run_start(self, run, instance):
            seen.append((run.run_id, instance))

    with plugin_registered(P(), name="p"):
        lifecycle.on_run_start(RUN, instance)
    assert seen == [("run-42", instance)]


def test_hook_on_run_end() -> None:
    seen = []
    error = {"type": "ValueError", "message": "bad", "stack": [], "cause": None}

    class P:
        @hookimpl
        def on_run_end(self, run, instance, status, error):
            seen.append((run.job_name, status, error))

    with plugin_registered(P(), name="p"):
        lifecycle.on_run_end(RUN, None, RunStatus.FAILURE, error)
    assert seen == [("nightly", RunStatus.FAILURE, error)]


def test_hook_on_step_start() -> None:
    seen = []

    class P:
        # a hook implementation may take fewer arguments than the hook passes
        @hookimpl
        def on_step_start(self, step_key, asset_keys):
            seen.append((step_key, [k.to_user_string() for k in asset_keys]))

    with plugin_registered(P(), name="p"):
        lifecycle.on_step_start(RUN, "orders", (AssetKey(["raw", "orders"]),))
    assert seen == [("orders", ["raw/orders"])]


def test_hook_on_step_end() -> None:
    seen = []

    class P:
        @hookimpl
        def on_step_end(self, run, step_key, asset_keys, status, error):
            seen.append((step_key, asset_keys, status, error))

    with plugin_registered(P(), name="p"):
        lifecycle.on_step_end(RUN, "orders", [AssetKey("orders")], "SUCCESS")
    assert seen == [("orders", [AssetKey("orders")], "SUCCESS", None)]


def test_hook_on_event() -> None:
    seen = []

    class P:
        @hookimpl
        def on_event(self, event):
            seen.append((event.event_type, event.storage_id))

    event = Event(EventType.ASSET_MATERIALIZATION, "run-42", asset_key=AssetKey("a"), storage_id=7)
    assert not lifecycle.wants_events
    with plugin_registered(P(), name="p"):
        assert lifecycle.wants_events
        lifecycle.on_event(event)
    assert seen == [(EventType.ASSET_MATERIALIZATION, 7)]


def test_hook_register_commands() -> None:
    class P:
        @hookimpl
        def register_commands(self, cli):
            @cli.command(name="greet")
            @click.argument("who")
            @click.option("--shout", is_flag=True)
            def greet(who, shout):
                """Greet someone."""
                text = f"hello {who}"
                click.echo(text.upper() if shout else text)

    runner = CliRunner()
    with plugin_registered(P(), name="p"):
        result = runner.invoke(cli, ["greet", "ada", "--shout"])
        assert result.exit_code == 0, result.output
        assert result.output == "HELLO ADA\n"
        help_result = runner.invoke(cli, ["--help"])
        assert "greet" in help_result.output and "Greet someone." in help_result.output
    result = runner.invoke(cli, ["greet", "ada"])
    assert result.exit_code == 2 and "No such command 'greet'" in result.output
