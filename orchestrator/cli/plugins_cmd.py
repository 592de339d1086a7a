"""``orchestrator plugins``: what is installed, what each plugin registers, what failed.

::

    $ orchestrator plugins list
    $ orchestrator plugins list --json
"""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["plugins", "plugins_report"]


def plugins_report() -> dict[str, Any]:
    """Everything ``orchestrator plugins list`` shows, as a JSON-ready dict.

    Building it calls every registration hook (the registries are built), so failures of
    registration hooks show up here too.
    """
    from orchestrator.cli import LAZY_COMMANDS
    from orchestrator.plugins import manager, registry

    kinds = {kind: registry.registrations(kind) for kind in registry.KINDS}
    plugin_commands = registry.commands(frozenset(LAZY_COMMANDS))
    plugins = []
    for info in manager.plugins_info():
        registers: dict[str, list[str]] = {}
        for kind, entries in kinds.items():
            names = [name for name, reg in entries.items() if reg.plugin == info.name]
            if names:
                registers[kind] = names
        overridden = {
            f"{kind}:{name}": reg.overrides
            for kind, entries in kinds.items()
            for name, reg in entries.items()
            if reg.plugin == info.name and reg.overrides
        }
        cmds = sorted(name for name, (_c, owner) in plugin_commands.items() if owner == info.name)
        if cmds:
            registers["command"] = cmds
        plugins.append(
            {
                "name": info.name,
                "module": info.module,
                "source": info.source,
                "distribution": info.distribution,
                "version": info.version,
                "api_version": list(info.api_version) if info.api_version else None,
                "hooks": list(info.hooks),
                "registers": registers,
                "overrides": overridden,
            }
        )
    failures = [
        {
            "name": f.name,
            "stage": f.stage,
            "distribution": f.distribution,
            "error": f.error,
            "hint": f.hint,
            "traceback": f.traceback,
        }
        for f in manager.plugin_failures()
    ]
    return {
        "plugin_api_version": manager.PLUGIN_API_VERSION,
        "plugins": plugins,
        "failures": failures,
    }


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--tracebacks", is_flag=True, help="Show the full traceback of each failure.")
def list_plugins(as_json: bool, tracebacks: bool) -> None:
    """List loaded plugins, what each registers, and plugins that failed."""
    report = plugins_report()
    if as_json:
        if not tracebacks:
            for failure in report["failures"]:
                failure.pop("traceback", None)
        click.echo(json.dumps(report, indent=2))
        return
    _print_tables(report, tracebacks)


def _print_tables(report: dict[str, Any], tracebacks: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False)
    table = Table(title=f"Plugins (plugin API {report['plugin_api_version']})")
    table.add_column("Plugin", style="bold")
    table.add_column("Distribution")
    table.add_column("API")
    table.add_column("Registers")
    table.add_column("Hooks")
    for plugin in report["plugins"]:
        dist = plugin["distribution"] or "-"
        if plugin["version"]:
            dist += f" {plugin['version']}"
        if plugin["source"] != "entry point":
            dist += f" ({plugin['source']})"
        api = (
            ",".join(str(v) for v in plugin["api_version"])
            if plugin["api_version"]
            else "undeclared"
        )
        registers = "\n".join(
            f"{kind}: {', '.join(names)}" for kind, names in plugin["registers"].items()
        )
        for what, previous in plugin["overrides"].items():
            registers += f"\n(overrides {what} of {previous})"
        table.add_row(plugin["name"], dist, api, registers or "-", ", ".join(plugin["hooks"]))
    if not report["plugins"]:
        table.add_row("(none)", "", "", "", "")
    console.print(table)
    if report["failures"]:
        failed = Table(title="Failed plugins", title_style="bold red")
        failed.add_column("Plugin", style="bold red")
        failed.add_column("Stage")
        failed.add_column("Error")
        failed.add_column("Fix")
        for failure in report["failures"]:
            failed.add_row(failure["name"], failure["stage"], failure["error"], failure["hint"])
        console.print(failed)
        if tracebacks:
            for failure in report["failures"]:
                if failure["traceback"]:
                    console.rule(f"{failure['name']} ({failure['stage']})")
                    console.print(failure["traceback"], markup=False, highlight=False)
        else:
            console.print("Run with --tracebacks to see full tracebacks.")
