"""Errors of the dbt integration: subclasses of the orchestrator's own exception classes."""

from __future__ import annotations

from orchestrator.errors import DefinitionError

__all__ = ["DbtManifestError", "DbtProjectError"]


class DbtManifestError(DefinitionError):
    """A dbt ``manifest.json`` is missing, is not valid JSON, or has an unreadable schema version.

    ``path`` is the manifest file at fault.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class DbtProjectError(DefinitionError):
    """A dbt project directory is missing or invalid, or ``dbt parse`` failed on it.

    ``project_dir`` is the project at fault; ``dbt_messages`` holds dbt's own error messages.
    """

    def __init__(
        self, message: str, project_dir: str | None = None, dbt_messages: list[str] | None = None
    ) -> None:
        self.project_dir = project_dir
        self.dbt_messages = list(dbt_messages or [])
        super().__init__(message)
