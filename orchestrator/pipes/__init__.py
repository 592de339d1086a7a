"""The orchestrator (host) side of the pipes protocol: sessions, the subprocess client,
message readers, context injectors and reattaching.

::

    from orchestrator import asset
    from orchestrator.pipes import PipesSubprocessClient

    @asset
    def orders(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=["python", "orders.py"],
                                           context=context).get_results()

See ``docs/concepts/pipes.md``. Names follow Dagster's, so code moves by changing the import.
Attributes are imported lazily: ``import orchestrator.pipes`` costs almost nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PipesChunkedMessageReader",
    "PipesClientCompletedInvocation",
    "PipesContextInjector",
    "PipesEnvContextInjector",
    "PipesFileMessageReader",
    "PipesMessageReader",
    "PipesSession",
    "PipesStdioMessageReader",
    "PipesSubprocessClient",
    "PipesTempFileContextInjector",
    "PipesTempFileMessageReader",
    "PipesUrlContextInjector",
    "build_context_data",
    "default_line_parser",
    "open_pipes_session",
    "plain_line_parser",
    "reattach_pipes_session",
    "terminate_orphaned_launches",
]

_WHERE = {
    "PipesChunkedMessageReader": "readers",
    "PipesFileMessageReader": "readers",
    "PipesMessageReader": "readers",
    "PipesStdioMessageReader": "readers",
    "PipesTempFileMessageReader": "readers",
    "default_line_parser": "readers",
    "plain_line_parser": "readers",
    "PipesContextInjector": "context",
    "PipesEnvContextInjector": "context",
    "PipesTempFileContextInjector": "context",
    "PipesUrlContextInjector": "context",
    "build_context_data": "context",
    "PipesSession": "session",
    "open_pipes_session": "session",
    "reattach_pipes_session": "session",
    "PipesClientCompletedInvocation": "subprocess",
    "PipesSubprocessClient": "subprocess",
    "terminate_orphaned_launches": "cancel",
}


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'orchestrator.pipes' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
