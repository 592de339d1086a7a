"""The orchestrator's plugin hooks: the one place where every hook is declared.

A plugin is a module (or any object) whose functions are decorated with :data:`hookimpl`
and named after a hook below. The docstring of each hook is its documentation:
``docs/plugins/hooks.md`` is generated from this module with
``python -m orchestrator.plugins.docs``, and a test fails when the two drift apart.

Docstrings are Markdown. Each one says what the hook is for, its arguments, what it
returns, in which order plugins are called, and shows an example that a test executes.
"""

from __future__ import annotations

from typing import Any

import pluggy

__all__ = ["HOOK_SECTIONS", "PROJECT_NAME", "hookimpl", "hookspec"]

#: The pluggy project name; also the entry-point group is ``"<PROJECT_NAME>.plugins"``.
PROJECT_NAME = "orchestrator"

#: Marks a function in this module as a hook specification.
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marks a plugin function as the implementation of the hook of the same name::
#:
#:     from orchestrator.plugins import hookimpl
#:
#:     @hookimpl
#:     def on_run_end(run, instance, status, error): ...
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --------------------------------------------------------------------------------------
# Registration hooks
# --------------------------------------------------------------------------------------


@hookspec
def register_launchers(register: Any) -> None:
    """Register backend kinds: where and how a step's external process is launched.

    **Arguments**

    - `register(name, obj, *, description=None, override=False)`: call it once per
      launcher. `name` is the backend kind users write in their definitions
      (`"subprocess"`, `"docker"`, `"ecs"`); `obj` is the launcher class, or a
      `"module:attr"` string that is imported only when the launcher is first used
      (keeps `orchestrator --help` fast and lets a backend's heavy SDK stay unimported).

    **Returns** nothing; the return value is ignored.

    **Ordering and collisions.** Plugins are called one at a time in load order:
    built-in plugins first, then installed plugins sorted by entry-point name, then
    plugins registered at runtime. Registering a name that an earlier plugin already
    registered raises `PluginError` naming both plugins, unless `override=True` is
    passed, in which case the later registration wins. A plugin whose hook raises
    contributes nothing from that hook; the others are unaffected.

    Look launchers up with `orchestrator.plugins.get_launcher(name)`.

    **Example**

    ```python
    from orchestrator.plugins import hookimpl

    @hookimpl
    def register_launchers(register):
        register(
            "k8s",
            "my_company_k8s.launcher:KubernetesLauncher",
            description="Run each step as a Kubernetes Job",
        )
    ```
    """


@hookspec
def register_message_channels(register: Any) -> None:
    """Register message channels: how messages come back from an external process.

    A message channel is the orchestrator side of a Pipes message writer; the name is
    what users pass to select it (`"file"`, `"stdio"`, `"chunked"`, `"s3"`).

    **Arguments**

    - `register(name, obj, *, description=None, override=False)`: `obj` is a factory
      (usually a class) that builds a message reader, or a `"module:attr"` string
      imported on first use.

    **Returns** nothing.

    **Ordering and collisions** are as for `register_launchers`: load order, a duplicate
    name is an error naming both plugins unless `override=True`.

    Look channels up with `orchestrator.plugins.get_message_channel(name)`.

    **Example**

    ```python
    from orchestrator.plugins import hookimpl

    class RedisStreamReader:
        '''Reads Pipes messages from a Redis stream.'''

        def __init__(self, url="redis://127.0.0.1:6379/0"):
            self.url = url

    @hookimpl
    def register_message_channels(register):
        register("redis", RedisStreamReader, description="Messages through a Redis stream")
    ```
    """


@hookspec
def register_context_injectors(register: Any) -> None:
    """Register context injectors: how the run context reaches an external process.

    An injector hands the Pipes context to the external process (an environment
    variable, a temporary file, an object in S3, ...).

    **Arguments**

    - `register(name, obj, *, description=None, override=False)`: `obj` is a factory
      (usually a class) that builds a context injector, or a `"module:attr"` string.

    **Returns** nothing.

    **Ordering and collisions** are as for `register_launchers`.

    Look injectors up with `orchestrator.plugins.get_context_injector(name)`.

    **Example**

    ```python
    from orchestrator.plugins import hookimpl

    @hookimpl
    def register_context_injectors(register):
        register(
            "vault",
            "my_company_pipes.vault:VaultContextInjector",
            description="Context stored in a Vault secret",
        )
    ```
    """


@hookspec
def register_io_managers(register: Any) -> None:
    """Register IO managers: how asset values are stored and loaded between steps.

    **Arguments**

    - `register(name, obj, *, description=None, override=False)`: `obj` is an IO
      manager definition or a factory (a class or function that builds one), or a
      `"module:attr"` string imported on first use.

    **Returns** nothing.

    **Ordering and collisions** are as for `register_launchers`. Built-in IO managers
    load first, so a third-party plugin replaces one by registering the same name with
    `override=True`.

    Look IO managers up with `orchestrator.plugins.get_io_manager(name)`.

    **Example**

    ```python
    import json
    import pathlib

    from orchestrator.plugins import hookimpl

    class JsonIOManager:
        '''Stores each asset value as a JSON file under base_dir.'''

        def __init__(self, base_dir="."):
            self.base_dir = pathlib.Path(base_dir)

        def _path(self, context):
            path = self.base_dir.joinpath(*context.asset_key.path).with_suffix(".json")
            path.parent.mkdir(parents=True, exist_ok=True)
            return path

        def handle_output(self, context, obj):
            self._path(context).write_text(json.dumps(obj))

        def load_input(self, context):
            return json.loads(self._path(context).read_text())

    @hookimpl
    def register_io_managers(register):
        register("json", JsonIOManager, description="Values as JSON files")
    ```
    """


@hookspec
def register_resources(register: Any) -> None:
    """Register resources: named, configurable clients that assets and ops can request.

    **Arguments**

    - `register(name, obj, *, description=None, override=False)`: `obj` is a resource
      definition (a class or factory), or a `"module:attr"` string imported on first use.

    **Returns** nothing.

    **Ordering and collisions** are as for `register_launchers`.

    Look resources up with `orchestrator.plugins.get_resource(name)`.

    **Example**

    ```python
    import sqlite3

    from orchestrator.plugins import hookimpl

    class SqliteResource:
        '''A connection factory for a SQLite database file.'''

        def __init__(self, path=":memory:"):
            self.path = path

        def connect(self):
            return sqlite3.connect(self.path)

    @hookimpl
    def register_resources(register):
        register("sqlite", SqliteResource, description="A SQLite database file")
    ```
    """


# --------------------------------------------------------------------------------------
# Lifecycle hooks
# --------------------------------------------------------------------------------------


@hookspec
def on_run_start(run: Any, instance: Any) -> None:
    """Called when a run starts, before any of its steps executes.

    For observability plugins (lineage, alerting, metrics).

    **Arguments**

    - `run`: the `orchestrator.events.RunRecord` of the run.
    - `instance`: the orchestrator instance running it (gives access to the run store).

    **Returns** nothing.

    **Ordering.** Implementations are called one plugin at a time, in pluggy's order
    (`tryfirst` first, then the most recently loaded plugin first, `trylast` last).

    **Errors.** An exception raised here does not fail the run: it is logged on the
    `orchestrator.plugins` logger naming the plugin and the hook (with the traceback the
    first time), and the other plugins are still called. With
    `ORCHESTRATOR_PLUGINS_STRICT=1` it is raised as `PluginError` instead.
    Keep these hooks quick: they run in the executor's thread.

    **Example**

    ```python
    import time

    from orchestrator.plugins import hookimpl

    STARTED = {}

    @hookimpl
    def on_run_start(run, instance):
        STARTED[run.run_id] = time.monotonic()
    ```
    """


@hookspec
def on_run_end(run: Any, instance: Any, status: Any, error: Any) -> None:
    """Called when a run has finished, after its final event is stored.

    **Arguments**

    - `run`: the `orchestrator.events.RunRecord` of the run.
    - `instance`: the orchestrator instance that ran it.
    - `status`: the final `orchestrator.events.RunStatus` (`SUCCESS`, `FAILURE` or
      `CANCELED`).
    - `error`: `None`, or a dict describing why the run failed, in the shape of a
      `STEP_FAILURE` event's `data["error"]`: `{"type", "message", "stack", "cause"}`.

    **Returns** nothing.

    **Ordering and errors** are as for `on_run_start`: an exception is logged naming the
    plugin and never changes the run's status (strict mode raises).

    **Example**

    ```python
    import json
    import os

    from orchestrator.plugins import hookimpl

    @hookimpl
    def on_run_end(run, instance, status, error):
        if str(status) != "SUCCESS":
            line = {"run_id": run.run_id, "status": str(status), "error": error}
            with open(os.environ.get("ALERTS_FILE", "alerts.jsonl"), "a") as f:
                f.write(json.dumps(line) + "\\n")
    ```
    """


@hookspec
def on_step_start(run: Any, step_key: str, asset_keys: Any) -> None:
    """Called when a step starts, before its code runs.

    **Arguments**

    - `run`: the `orchestrator.events.RunRecord` of the run.
    - `step_key`: the key of the step (an op name or an asset's step key).
    - `asset_keys`: a list of `orchestrator.AssetKey` the step is to materialize
      (empty for an op that produces no asset).

    **Returns** nothing.

    **Ordering and errors** are as for `on_run_start`. In a multiprocess run this is
    called in the process that executes the step.

    **Example**

    ```python
    import logging

    from orchestrator.plugins import hookimpl

    log = logging.getLogger("my_lineage")

    @hookimpl
    def on_step_start(run, step_key, asset_keys):
        names = ", ".join(key.to_user_string() for key in asset_keys)
        log.info("run %s: step %s producing %s", run.run_id, step_key, names)
    ```
    """


@hookspec
def on_step_end(run: Any, step_key: str, asset_keys: Any, status: str, error: Any) -> None:
    """Called when a step has finished, after its outcome event is stored.

    **Arguments**

    - `run`: the `orchestrator.events.RunRecord` of the run.
    - `step_key`: the key of the step.
    - `asset_keys`: the list of `orchestrator.AssetKey` the step was to materialize.
    - `status`: `"SUCCESS"`, `"FAILURE"` or `"SKIPPED"`.
    - `error`: `None`, or the failure as a dict `{"type", "message", "stack", "cause"}`
      (the `STEP_FAILURE` event's `data["error"]`).

    **Returns** nothing.

    **Ordering and errors** are as for `on_run_start`.

    **Example**

    ```python
    from collections import Counter

    from orchestrator.plugins import hookimpl

    STEP_OUTCOMES = Counter()

    @hookimpl
    def on_step_end(run, step_key, asset_keys, status, error):
        STEP_OUTCOMES[status] += 1
    ```
    """


@hookspec
def on_event(event: Any) -> None:
    """Called for every event the run store stores, after it is stored.

    **Arguments**

    - `event`: the `orchestrator.events.Event`, with its `storage_id` set.

    **Returns** nothing.

    **Ordering and errors** are as for `on_run_start`. This hook is called very often
    (every log line of an external process is an event): return quickly, and hand slow
    work to a queue or thread of your own. When no plugin implements it, the core skips
    it at no cost.

    **Example**

    ```python
    from orchestrator.plugins import hookimpl

    MATERIALIZED = []

    @hookimpl
    def on_event(event):
        if event.event_type.value == "ASSET_MATERIALIZATION":
            MATERIALIZED.append(event.asset_key)
    ```
    """


# --------------------------------------------------------------------------------------
# CLI hooks
# --------------------------------------------------------------------------------------


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands or command groups to the `orchestrator` command line.

    **Arguments**

    - `cli`: a `click.Group`. Add commands to it with `@cli.command()`,
      `@cli.group()` or `cli.add_command(...)`.

    **Returns** nothing.

    **Ordering and collisions.** Called once per plugin, in load order, only when the
    command line needs plugin commands (an unknown command name, or `--help`). A
    command whose name is a built-in command or was already added by another plugin is
    refused and the plugin is reported as failed; the built-in command keeps working.

    **Example**

    ```python
    import click

    from orchestrator.plugins import hookimpl

    @hookimpl
    def register_commands(cli):
        @cli.command(name="hello")
        @click.argument("name")
        def hello(name):
            '''Say hello to NAME.'''
            click.echo(f"hello {name}")
    ```
    """


#: How ``docs/plugins/hooks.md`` groups the hooks: (section title, intro, hook names).
HOOK_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Registration hooks",
        (
            "Each receives a `register(name, obj, *, description=None, override=False)` "
            "callback. The core keeps the names in one registry per kind, so collisions "
            "are handled in one place."
        ),
        (
            "register_launchers",
            "register_message_channels",
            "register_context_injectors",
            "register_io_managers",
            "register_resources",
        ),
    ),
    (
        "Lifecycle hooks",
        (
            "For observability plugins (lineage, alerting, metrics). They cannot change "
            "a run: an exception raised in one is logged, naming the plugin, and the run "
            "goes on."
        ),
        ("on_run_start", "on_run_end", "on_step_start", "on_step_end", "on_event"),
    ),
    (
        "CLI hooks",
        "Extend the `orchestrator` command line.",
        ("register_commands",),
    ),
)
