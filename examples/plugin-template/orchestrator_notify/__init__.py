"""orchestrator-notify: writes one line to a file when a run ends.

A template for orchestrator plugins. It shows the three kinds of hooks, and a backend:

- a registration hook (``register_io_managers``): adds the ``notify-json`` IO manager,
  registered as an import path so that it is imported only when used;
- a backend (``register_launchers``): the ``detached`` launcher, a toy backend that passes
  the launcher conformance suite (``orchestrator_notify/launcher.py``);
- a CLI hook (``register_commands``): adds ``orchestrator notify send`` and
  ``orchestrator notify tail``;
- a lifecycle hook (``on_run_end``): appends ``<run id> <job> <status>`` to the
  notification file.

Settings (environment variables):

- ``ORCHESTRATOR_NOTIFY_FILE``: the file to append to (default ``notifications.log`` in
  the current directory);
- ``ORCHESTRATOR_NOTIFY_ON``: comma-separated final statuses to notify about
  (default ``SUCCESS,FAILURE,CANCELED``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from orchestrator.plugins import hookimpl

# The plugin API this plugin was written for. The orchestrator refuses the plugin, with a
# clear message, if it does not provide this version.
ORCHESTRATOR_PLUGIN_API = 1

__version__ = "0.1.0"


def notify_file() -> Path:
    """Where notifications are written."""
    return Path(os.environ.get("ORCHESTRATOR_NOTIFY_FILE", "notifications.log"))


def notify(line: str) -> Path:
    """Append one line to the notification file; returns the file."""
    path = notify_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(line.rstrip("\n") + "\n")
    return path


@hookimpl
def register_io_managers(register: Any) -> None:
    register(
        "notify-json",
        "orchestrator_notify.io:JsonFileIOManager",
        description="Asset values as JSON files (from the orchestrator-notify template)",
    )


@hookimpl
def register_launchers(register: Any) -> None:
    register(
        "detached",
        "orchestrator_notify.launcher:DetachedLauncher",
        description="Detached local processes whose exit codes survive a restart (template)",
    )


@hookimpl
def register_commands(cli: Any) -> None:
    from orchestrator_notify.cli import notify_group

    cli.add_command(notify_group)


@hookimpl
def on_run_end(run: Any, instance: Any, status: Any, error: Any) -> None:
    wanted = os.environ.get("ORCHESTRATOR_NOTIFY_ON", "SUCCESS,FAILURE,CANCELED")
    if str(status) not in {s.strip().upper() for s in wanted.split(",")}:
        return
    line = f"{run.run_id} {run.job_name} {status}"
    if error:
        line += f": {error.get('type', 'Error')}: {error.get('message', '')}"
    notify(line)
