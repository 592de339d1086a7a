"""Exceptions raised by the orchestrator.

Every error the orchestrator raises for a user mistake is an :class:`OrchestratorError`.
Messages name the thing at fault (asset, op, parameter, file), say what was expected and
what came, and how to fix it::

    try:
        defs.validate()
    except DefinitionError as exc:
        print(exc)   # "asset 'b' depends on 'a', which no asset produces. ..."
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CheckFailedError",
    "ConfigError",
    "DefinitionError",
    "InvariantError",
    "IOManagerError",
    "LauncherError",
    "OrchestratorError",
    "PipesError",
    "PluginError",
    "ResourceError",
    "RunCanceledError",
    "StepFailedError",
    "StorageError",
    "TypeCheckError",
]


class OrchestratorError(Exception):
    """Base class of every error the orchestrator raises on purpose."""


class DefinitionError(OrchestratorError):
    """Something is wrong in how assets, ops, jobs or Definitions are declared.

    ``problems`` holds every problem found when several were collected at once
    (``Definitions.validate()`` reports them all, not only the first).
    """

    def __init__(self, message: str, problems: Sequence[str] | None = None) -> None:
        self.problems: list[str] = list(problems) if problems else [message]
        super().__init__(message)


class ConfigError(OrchestratorError):
    """Run config, resource config or an asset/op config class did not validate.

    Each entry of ``errors`` is ``"<path>: <what is wrong>"``, for example
    ``"ops.load.config.limit: expected int, got 'ten'"``.
    """

    def __init__(self, message: str, errors: Sequence[str] | None = None) -> None:
        self.errors: list[str] = list(errors) if errors else [message]
        super().__init__(message)


class ResourceError(OrchestratorError):
    """A resource is missing, or failed to set up or tear down."""


class TypeCheckError(OrchestratorError):
    """An input or output value did not pass its declared type check."""


class IOManagerError(OrchestratorError):
    """An IO manager failed to store or load a value."""


class StorageError(OrchestratorError):
    """The run store could not be read or written."""


class StepFailedError(OrchestratorError):
    """A step of a run failed; raised by ``materialize(..., raise_on_error=True)``."""


class CheckFailedError(OrchestratorError):
    """A blocking asset check failed, so downstream assets were not materialized."""


class RunCanceledError(OrchestratorError):
    """The run was canceled (Ctrl-C, SIGTERM or a cancel request)."""


class PipesError(OrchestratorError):
    """An external process broke the protocol or failed (non-zero exit, exception, no close)."""


class PluginError(OrchestratorError):
    """A plugin failed to import or register, or is incompatible with this version."""


class LauncherError(OrchestratorError):
    """A backend could not launch, watch, cancel or clean up external work."""


class InvariantError(OrchestratorError):
    """An internal invariant was broken: a bug in the orchestrator, please report it."""
