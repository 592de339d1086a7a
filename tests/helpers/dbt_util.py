"""Helpers shared by the dbt tests (importable as ``helpers.dbt_util``)."""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECTS = Path(__file__).resolve().parent.parent / "dbt" / "projects"


def copy_project(name: str, dest_root: Path) -> Path:
    """Copy a test project (without build output) into ``dest_root/name``."""
    dest = dest_root / name
    shutil.copytree(
        PROJECTS / name,
        dest,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*", ".user.yml"),
    )
    return dest
