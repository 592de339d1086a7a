"""The ``orchestrator`` command line (also ``python -m orchestrator``).

Subcommands are imported lazily: ``orchestrator --help`` imports none of them, and
``orchestrator plugins list`` imports only ``orchestrator.cli.plugins_cmd``.

**Adding a built-in subcommand is one line** in :data:`LAZY_COMMANDS`::

    "materialize": ("orchestrator.cli.materialize_cmd:materialize", "Materialize assets."),

The value is ``("module:attribute", "one-line help shown by --help")``; the attribute is
a ``click.Command`` or ``click.Group``. Plugins add commands through the
``register_commands(cli)`` hook; they are loaded only when a name is not in the table
(or for ``--help``).

Errors: an :class:`~orchestrator.errors.OrchestratorError` raised by any command is
printed as ``Error: <message>`` with exit status 1 (no traceback; ``--log-level DEBUG``
shows it).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["LAZY_COMMANDS", "OrchestratorGroup", "cli", "main"]

#: Built-in subcommands: name → ("module:attribute", short help). One line per command.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "plugins": ("orchestrator.cli.plugins_cmd:plugins", "Inspect installed plugins."),
    "materialize": ("orchestrator.cli.materialize_cmd:materialize",
                    "Materialize a selection of assets in this process."),
    "job": ("orchestrator.cli.job_cmd:job", "List and execute jobs."),
    "runs": ("orchestrator.cli.runs_cmd:runs", "List, show, re-execute and cancel runs."),
    "assets": ("orchestrator.cli.assets_cmd:assets",
               "List assets; show one asset's details and history."),
    "definitions": ("orchestrator.cli.definitions_cmd:definitions",
                    "Validate and show code locations' definitions."),
    "config": ("orchestrator.cli.config_cmd:config", "Show the run config schemas of jobs."),
    "schedule": ("orchestrator.cli.schedule_cmd:schedule",
                 "List, start and stop schedules; show their ticks."),
    "sensor": ("orchestrator.cli.sensor_cmd:sensor",
               "List, start, stop and test sensors; show their ticks."),
    "backfill": ("orchestrator.cli.backfill_cmd:backfill",
                 "Launch, list, show, cancel and resume backfills."),
    "daemon": ("orchestrator.cli.daemon_cmd:daemon",
               "Run schedules, sensors, backfills and the run queue."),
    "dev": ("orchestrator.cli.daemon_cmd:dev", "Local development: the daemon in the foreground."),
    "partitions": ("orchestrator.cli.partitions_cmd:partitions",
                   "Show an asset's partitions and their status."),
}

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

logger = logging.getLogger("orchestrator.cli")


class OrchestratorGroup(click.Group):
    """A click group whose built-in subcommands are imported on first use and that adds
    the commands plugins register."""

    def __init__(self, *args: Any, lazy_commands: dict[str, tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    # --- commands -------------------------------------------------------------------
    def _plugin_commands(self) -> dict[str, click.Command]:
        from orchestrator.errors import OrchestratorError
        from orchestrator.plugins import registry

        reserved = frozenset(self.lazy_commands) | frozenset(self.commands)
        try:
            commands = registry.commands(reserved)
        except OrchestratorError as exc:  # strict mode: a broken plugin stops the CLI
            raise click.ClickException(str(exc)) from exc
        return {name: cmd for name, (cmd, _plugin) in commands.items()}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(self.commands) | set(self.lazy_commands)
        names |= set(self._plugin_commands())
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name in self.lazy_commands:
            return self._import(cmd_name)
        return self._plugin_commands().get(cmd_name)

    def _import(self, cmd_name: str) -> click.Command:
        target = self.lazy_commands[cmd_name][0]
        module_name, _, attr = target.partition(":")
        try:
            command = getattr(importlib.import_module(module_name), attr)
        except Exception as exc:
            raise click.ClickException(
                f"command {cmd_name!r} could not be loaded from {target!r}: "
                f"{type(exc).__name__}: {exc}. This is a bug or a broken install: "
                f"reinstall orchestrator."
            ) from exc
        if not isinstance(command, click.Command):
            raise click.ClickException(
                f"{target!r} is a {type(command).__name__}, not a click command; fix "
                f"LAZY_COMMANDS in orchestrator/cli/__init__.py."
            )
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but built-in help comes from the table (nothing is imported)."""
        rows = []
        limit = formatter.width - 6 - max((len(n) for n in self.list_commands(ctx)), default=0)
        plugin_cmds = self._plugin_commands()
        for name in self.list_commands(ctx):
            if name in self.commands:
                text = self.commands[name].get_short_help_str(limit)
            elif name in self.lazy_commands:
                text = self.lazy_commands[name][1]
            else:
                cmd = plugin_cmds[name]
                if cmd.hidden:
                    continue
                text = cmd.get_short_help_str(limit)
            rows.append((name, text))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    # --- errors ---------------------------------------------------------------------
    def invoke(self, ctx: click.Context) -> Any:
        from orchestrator.errors import OrchestratorError

        try:
            return super().invoke(ctx)
        except OrchestratorError as exc:
            logger.debug("command failed", exc_info=exc)
            raise click.ClickException(str(exc)) from exc


def _version() -> str:
    from orchestrator import __version__

    return __version__


@click.group(
    cls=OrchestratorGroup,
    lazy_commands=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=None,
    envvar="ORCHESTRATOR_LOG_LEVEL",
    help="Log level: of the run events printed by runs (default INFO) and of the "
         "orchestrator's own messages on stderr (default WARNING) "
         "(env: ORCHESTRATOR_LOG_LEVEL).",
)
@click.version_option(version=None, package_name="orchestrator", prog_name="orchestrator",
                      message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """orchestrator: a slim data orchestrator.

    Point commands at your code with -f file.py, -m package.module or a workspace.yaml.
    Run `orchestrator COMMAND --help` for a command's options.
    """
    ctx.ensure_object(dict)["log_level"] = log_level.upper() if log_level else None
    logging.basicConfig(
        level=getattr(logging, (log_level or "WARNING").upper()),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``orchestrator`` console script and ``python -m orchestrator``."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="orchestrator")
