"""Fixtures for the dbt integration tests.

The test dbt projects under ``tests/dbt/projects/`` are copied to a temporary directory and
parsed there with real dbt (once per session), so the files in the repository are never touched.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

PROJECTS = Path(__file__).parent / "projects"
HAS_DBT = (
    importlib.util.find_spec("dbt") is not None
    and importlib.util.find_spec("dbt.adapters.duckdb") is not None
)

needs_dbt = pytest.mark.skipif(
    not HAS_DBT, reason="dbt-core and dbt-duckdb are not installed: pip install -e '.[dbt]'"
)


@pytest.fixture(autouse=True)
def _isolated_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never write index caches into the user's home directory."""
    monkeypatch.setenv("ORCHESTRATOR_CACHE_DIR", str(tmp_path_factory.mktemp("orch-cache")))


from helpers.dbt_util import copy_project  # noqa: E402 (shared with tests that import it)


class _ParsedProjects:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._done: dict[str, Path] = {}

    def project_dir(self, name: str) -> Path:
        """A parsed copy of the named test project (parsed once per session)."""
        if name not in self._done:
            from orchestrator_dbt import DbtProject

            pdir = copy_project(name, self.root)
            DbtProject(pdir).parse()
            self._done[name] = pdir
        return self._done[name]

    def manifest_path(self, name: str) -> Path:
        return self.project_dir(name) / "target" / "manifest.json"


@pytest.fixture(scope="session")
def parsed_projects(tmp_path_factory: pytest.TempPathFactory) -> _ParsedProjects:
    if not HAS_DBT:
        pytest.skip("dbt-core and dbt-duckdb are not installed: pip install -e '.[dbt]'")
    return _ParsedProjects(tmp_path_factory.mktemp("dbt-projects"))


@pytest.fixture(scope="session")
def passing_manifest_path(parsed_projects: _ParsedProjects) -> Path:
    return parsed_projects.manifest_path("passing")


@pytest.fixture(scope="session")
def failing_manifest_path(parsed_projects: _ParsedProjects) -> Path:
    return parsed_projects.manifest_path("failing")


def minimal_manifest(**overrides: Any) -> dict[str, Any]:
    """A small, hand-written manifest in dbt's v12 shape (for tests that need no dbt)."""
    doc: dict[str, Any] = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.11.16",
            "project_name": "tiny",
            "adapter_type": "duckdb",
        },
        "nodes": {
            "seed.tiny.raw": {
                "unique_id": "seed.tiny.raw", "name": "raw", "resource_type": "seed",
                "package_name": "tiny", "fqn": ["tiny", "raw"], "path": "raw.csv",
                "original_file_path": "seeds/raw.csv", "database": "db", "schema": "main",
                "alias": "raw", "relation_name": '"db"."main"."raw"',
                "config": {"materialized": "seed", "meta": {}},
                "checksum": {"name": "sha256", "checksum": "aaa"},
                "depends_on": {"macros": []}, "columns": {}, "tags": [], "description": "",
            },
            "model.tiny.clean": {
                "unique_id": "model.tiny.clean", "name": "clean", "resource_type": "model",
                "package_name": "tiny", "fqn": ["tiny", "staging", "clean"],
                "path": "staging/clean.sql", "original_file_path": "models/staging/clean.sql",
                "database": "db", "schema": "main", "alias": "clean",
                "relation_name": '"db"."main"."clean"',
                "config": {"materialized": "view", "meta": {"owner": "me@example.com"}},
                "meta": {"owner": "me@example.com"},
                "checksum": {"name": "sha256", "checksum": "bbb"},
                "depends_on": {"macros": [], "nodes": ["seed.tiny.raw"]},
                "columns": {"id": {"name": "id", "description": "the id", "data_type": "int"}},
                "tags": ["nightly"], "description": "Clean rows.",
            },
            "test.tiny.not_null_clean_id.1": {
                "unique_id": "test.tiny.not_null_clean_id.1", "name": "not_null_clean_id",
                "resource_type": "test", "package_name": "tiny",
                "attached_node": "model.tiny.clean",
                "column_name": "id", "config": {"severity": "WARN"},
                "test_metadata": {"name": "not_null", "kwargs": {"column_name": "id",
                                  "model": "{{ get_where_subquery(ref('clean')) }}"}},
                "depends_on": {"nodes": ["model.tiny.clean"]},
                "original_file_path": "models/staging/schema.yml",
            },
        },
        "sources": {},
        "groups": {},
        "unit_tests": {},
    }
    doc.update(overrides)
    return doc


def write_manifest(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def tiny_doc() -> dict[str, Any]:
    """A fresh hand-written manifest document (mutate it freely)."""
    return minimal_manifest()


@pytest.fixture
def write_json(tmp_path: Path):
    """Write a document as JSON under tmp_path and return its path: ``write_json(doc, name)``."""

    def _write(doc: Any, name: str = "target/manifest.json") -> Path:
        return write_manifest(tmp_path / name, doc)

    return _write


@pytest.fixture
def copy_test_project(tmp_path: Path):
    """Copy a test project into tmp_path (no build output): ``copy_test_project("passing")``."""

    def _copy(name: str) -> Path:
        return copy_project(name, tmp_path)

    return _copy


@pytest.fixture(scope="session")
def dbt_image(docker_available: bool) -> str:
    """Tag of the local dbt test image (python image + dbt-core + dbt-duckdb), built first by
    scripts/build-test-images.sh when missing (skipped outside CI, failed under CI, when that
    is impossible)."""
    import subprocess

    from helpers import infra
    from helpers.fixtures import unavailable

    tag = infra.load_settings()["ORCH_TEST_DBT_IMAGE"]

    def present() -> bool:
        return subprocess.run(["docker", "image", "inspect", tag], capture_output=True,
                              check=False).returncode == 0

    if not present():
        proc = infra.run_script("build-test-images.sh")
        if not present():
            unavailable(f"the dbt test image {tag} is missing and building it failed:\n"
                        f"{proc.stderr[-3000:]}",
                        "Run scripts/build-test-images.sh and fix what it reports.")
    return tag
