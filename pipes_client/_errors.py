"""Exceptions and warnings of the client (stdlib only)."""

from __future__ import annotations


class PipesClientError(Exception):
    """Misuse of the pipes client: a bad argument, an asset out of scope, writing after close,
    or a bootstrap/context the client cannot load. The message says what and how to fix."""


class PipesClientWarning(UserWarning):
    """Raised as a warning when the process was not launched by a pipes host (no-op mode)."""
