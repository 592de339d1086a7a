"""Built-in plugin: registers the subprocess launcher, the file/stdio/chunked message
channels and the temp-file/env/url context injectors (listed in
``orchestrator.plugins.manager.DEFAULT_PLUGINS``; a third-party plugin may override any of
them with ``override=True``)."""

from __future__ import annotations

from typing import Any

from ..plugins import hookimpl

ORCHESTRATOR_PLUGIN_API = (1,)


@hookimpl
def register_launchers(register: Any) -> None:
    register("subprocess", "orchestrator.launchers.subprocess:SubprocessLauncher",
             description="Run the command as a local child process (own process group)")


@hookimpl
def register_message_channels(register: Any) -> None:
    register("file", "orchestrator.pipes.readers:PipesFileMessageReader",
             description="JSON lines appended to a local file (default)")
    register("stdio", "orchestrator.pipes.readers:PipesStdioMessageReader",
             description="JSON lines mixed into the process's stdout or stderr")
    register("chunked", "orchestrator.pipes.readers:PipesChunkedMessageReader",
             description="Numbered chunks {prefix}/{n}.json on any fsspec filesystem")


@hookimpl
def register_context_injectors(register: Any) -> None:
    register("temp_file", "orchestrator.pipes.context:PipesTempFileContextInjector",
             description="Context JSON in a temporary file (default)")
    register("env", "orchestrator.pipes.context:PipesEnvContextInjector",
             description="Context inline in DAGSTER_PIPES_CONTEXT; by reference when large")
    register("url", "orchestrator.pipes.context:PipesUrlContextInjector",
             description="Context JSON at a local path or fsspec URL, sent by reference")
