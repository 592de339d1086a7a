"""``orchestrator notify ...``: commands this plugin adds to the orchestrator CLI."""

from __future__ import annotations

import click

from orchestrator_notify import notify, notify_file


@click.group(name="notify")
def notify_group() -> None:
    """Send and read notifications (orchestrator-notify plugin)."""


@notify_group.command(name="send")
@click.argument("message")
def send(message: str) -> None:
    """Append MESSAGE to the notification file."""
    path = notify(message)
    click.echo(f"notified: {path}")


@notify_group.command(name="tail")
@click.option("-n", "lines", default=10, show_default=True, help="How many lines.")
def tail(lines: int) -> None:
    """Print the last notifications."""
    path = notify_file()
    if not path.exists():
        raise click.ClickException(
            f"no notifications yet: {path} does not exist (set ORCHESTRATOR_NOTIFY_FILE "
            f"to read another file)"
        )
    for line in path.read_text(encoding="utf-8").splitlines()[-lines:]:
        click.echo(line)
