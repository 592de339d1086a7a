"""The CLI skeleton: lazy subcommands, plugin commands, `orchestrator plugins list`.

Several tests run the real console script (``orchestrator``) in a subprocess, with a
plugin distribution on PYTHONPATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from plugin_helpers import subprocess_env, unique, write_dist

from orchestrator.cli import LAZY_COMMANDS, cli
from orchestrator.plugins import hookimpl, plugin_failures, plugin_registered

PLUGIN = """
import click
from orchestrator.plugins import hookimpl

ORCHESTRATOR_PLUGIN_API = 1

@hookimpl
def register_io_managers(register):
    register("yaml-files", "yaml:safe_load", description="YAML files")

@hookimpl
def register_launchers(register):
    register("carrier", dict)

@hookimpl
def register_commands(cli):
    @cli.command(name="hello")
    @click.argument("name")
    def hello(name):
        '''Say hello.'''
        click.echo(f"hello {name} from a plugin")

@hookimpl
def on_run_end(run, instance, status, error):
    pass
"""


def orchestrator_script() -> str:
    path = shutil.which("orchestrator")
    if path is None:  # pragma: no cover - the package is installed editable in dev
        pytest.fail("the `orchestrator` console script is not installed: pip install -e .")
    return path


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, check=False, timeout=120)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    write_dist(site, "orchestrator-hello", unique("hello_plugin"), PLUGIN, version="0.3.1",
               entry_point="hello")
    write_dist(site, "broken-thing", unique("broken_plugin"), "import no_such_mod_abc\n",
               entry_point="broken")
    return site


def test_console_script_plugins_list(site: Path) -> None:
    env = subprocess_env(site, COLUMNS="200")
    result = run([orchestrator_script(), "plugins", "list"], env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "hello" in out and "orchestrator-hello 0.3.1" in out
    assert "io_manager: yaml-files" in out
    assert "launcher: carrier" in out
    assert "command: hello" in out
    assert "Failed plugins" in out and "broken" in out and "no_such_mod_abc" in out
    # the failure is also reported once on stderr, naming the plugin
    assert result.stderr.count("plugin 'broken'") == 1

    result = run([orchestrator_script(), "plugins", "list", "--json"], env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["plugin_api_version"] == 1
    [plugin] = [p for p in report["plugins"] if p["name"] == "hello"]
    assert plugin["distribution"] == "orchestrator-hello"
    assert plugin["version"] == "0.3.1"
    assert plugin["api_version"] == [1]
    assert plugin["registers"] == {
        "launcher": ["carrier"],
        "io_manager": ["yaml-files"],
        "command": ["hello"],
    }
    assert plugin["hooks"] == [
        "on_run_end", "register_commands", "register_io_managers", "register_launchers"
    ]
    [failure] = [f for f in report["failures"] if f["name"] == "broken"]
    assert failure["stage"] == "import" and failure["distribution"] == "broken-thing"
    assert "traceback" not in failure


def test_plugin_command_runs_from_the_console_script(site: Path) -> None:
    env = subprocess_env(site, ORCHESTRATOR_PLUGINS="hello")
    result = run([orchestrator_script(), "hello", "ada"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello ada from a plugin\n"
    assert result.stderr == ""  # the broken plugin was not selected

    result = run([orchestrator_script(), "--help"], env)
    assert "hello" in result.stdout and "Say hello." in result.stdout
    assert "plugins" in result.stdout


def test_python_dash_m_orchestrator(site: Path) -> None:
    env = subprocess_env(site, ORCHESTRATOR_PLUGINS="hello")
    result = run([sys.executable, "-m", "orchestrator", "plugins", "list", "--json"], env)
    assert result.returncode == 0, result.stderr
    plugins = json.loads(result.stdout)["plugins"]
    assert [p["name"] for p in plugins if p["source"] != "builtin"] == ["hello"]
    assert "orchestrator.plugins.builtin" in [p["name"] for p in plugins]


def test_strict_mode_makes_the_cli_fail_cleanly(site: Path) -> None:
    env = subprocess_env(site, ORCHESTRATOR_PLUGINS_STRICT="1")
    result = run([orchestrator_script(), "plugins", "list"], env)
    assert result.returncode == 1
    assert "Error: plugin 'broken'" in result.stderr
    assert "Traceback" not in result.stderr
    for args in (["--help"], ["no-such-command"]):
        result = run([orchestrator_script(), *args], env)
        assert result.returncode == 1, args
        assert "Error: plugin 'broken'" in result.stderr and "Traceback" not in result.stderr


def test_help_imports_no_subcommand_module() -> None:
    code = textwrap.dedent(
        """
        import sys
        from orchestrator.cli import main
        try:
            main(["--help"])
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        loaded = [m for m in sys.modules if m.startswith("orchestrator.cli.")]
        print(loaded)
        print("rich" in sys.modules)
        """
    )
    result = run([sys.executable, "-c", code], subprocess_env(ORCHESTRATOR_PLUGINS=""))
    assert result.returncode == 0, result.stderr
    *_, modules, rich_loaded = result.stdout.strip().splitlines()
    assert modules == "[]"
    assert rich_loaded == "False"
    assert "Inspect installed plugins." in result.stdout


def test_lazy_table_entries_resolve_to_click_commands() -> None:
    import click

    group = cli
    ctx = click.Context(group)
    for name in LAZY_COMMANDS:
        assert isinstance(group.get_command(ctx, name), click.Command), name


def test_plugin_command_cannot_shadow_a_builtin() -> None:
    import click

    class Shadow:
        @hookimpl
        def register_commands(self, cli):
            @cli.command(name="plugins")
            def fake():
                click.echo("fake")

    runner = CliRunner()
    with plugin_registered(Shadow(), name="shadow"):
        result = runner.invoke(cli, ["plugins", "list", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert "fake" not in result.stdout
        [failure] = plugin_failures()
        assert failure.name == "shadow" and failure.stage == "hook register_commands"
        assert "'orchestrator plugins' is a built-in command" in failure.error
        assert report["failures"][0]["name"] == "shadow"


def test_two_plugins_adding_the_same_command() -> None:
    import click

    def make(text):
        class P:
            @hookimpl
            def register_commands(self, cli):
                @cli.command(name="dup")
                def dup():
                    click.echo(text)

        return P()

    runner = CliRunner()
    with plugin_registered(make("first"), name="first"), \
            plugin_registered(make("second"), name="second"):
        result = runner.invoke(cli, ["dup"])
        assert result.output == "first\n"
        [failure] = plugin_failures()
        assert ("command 'dup' is added twice: by plugin 'first' and by plugin 'second'"
                in failure.error)


def test_orchestrator_errors_are_printed_without_traceback() -> None:
    from orchestrator.errors import ConfigError

    class Failing:
        @hookimpl
        def register_commands(self, cli):
            @cli.command(name="fail")
            def fail():
                raise ConfigError("ops.load.config.limit: expected int, got 'ten'")

    runner = CliRunner()
    with plugin_registered(Failing(), name="failing"):
        result = runner.invoke(cli, ["fail"])
    assert result.exit_code == 1
    assert result.output == "Error: ops.load.config.limit: expected int, got 'ten'\n"


def test_log_level_option_and_version() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--log-level", "debug", "plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["plugins"] == []
    result = runner.invoke(cli, ["--log-level", "loud", "plugins", "list"])
    assert result.exit_code == 2 and "--log-level" in result.output
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("orchestrator ")
