"""Python client of the pipes protocol: the external-process side (stdlib only).

Same names and shapes as ``dagster_pipes``, so a script moves by changing one import::

    from pipes_client import open_pipes          # was: from dagster_pipes import open_dagster_pipes

    with open_pipes() as pipes:
        pipes.log.info("hello from the external process")
        pipes.report_asset_materialization(metadata={"rows": 42})

Works under our orchestrator and under Dagster's ``PipesSubprocessClient``. Extensions
(outputs, progress, heartbeats) are used only when the host advertises them.
"""

from __future__ import annotations

from ._context import PipesContext, PipesLogger, open_dagster_pipes, open_pipes
from ._errors import PipesClientError, PipesClientWarning
from ._io import (
    PipesBlobStoreMessageWriter,
    PipesBlobStoreMessageWriterChannel,
    PipesBufferedStreamMessageWriterChannel,
    PipesCliArgsParamsLoader,
    PipesDefaultContextLoader,
    PipesDefaultMessageWriter,
    PipesDefaultParamsLoader,
    PipesEnvVarParamsLoader,
    PipesFileMessageWriterChannel,
    PipesFileParamsLoader,
    PipesMappingParamsLoader,
    PipesStreamMessageWriterChannel,
)

__version__ = "0.1.0"

__all__ = [
    "PipesBlobStoreMessageWriter",
    "PipesBlobStoreMessageWriterChannel",
    "PipesBufferedStreamMessageWriterChannel",
    "PipesCliArgsParamsLoader",
    "PipesClientError",
    "PipesClientWarning",
    "PipesContext",
    "PipesDefaultContextLoader",
    "PipesDefaultMessageWriter",
    "PipesDefaultParamsLoader",
    "PipesEnvVarParamsLoader",
    "PipesFileMessageWriterChannel",
    "PipesFileParamsLoader",
    "PipesLogger",
    "PipesLoggingHandler",
    "PipesMappingParamsLoader",
    "PipesStreamMessageWriterChannel",
    "open_dagster_pipes",
    "open_pipes",
]


def __getattr__(name: str) -> object:
    if name == "PipesLoggingHandler":  # imports logging: only on demand
        from ._logging import PipesLoggingHandler

        return PipesLoggingHandler
    raise AttributeError(f"module 'pipes_client' has no attribute {name!r}")
