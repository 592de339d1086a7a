"""DbtProject: finding the manifest, parsing when there is none, profile settings."""

from __future__ import annotations

import pytest
from orchestrator_dbt import DbtProject


def test_defaults_point_at_target_manifest_and_project_profiles(copy_test_project) -> None:
    pdir = copy_test_project("passing")
    project = DbtProject(pdir)
    assert project.project_dir == pdir
    assert project.profiles_dir == pdir  # the project holds profiles.yml
    assert project.manifest_path == pdir / "target" / "manifest.json"
    assert project.dbt_args() == ["--project-dir", str(pdir), "--profiles-dir", str(pdir)]
    with_target = DbtProject(pdir, target="dev")
    assert with_target.dbt_args()[-2:] == ["--target", "dev"]


def test_target_path_comes_from_dbt_project_yml(tmp_path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\nprofile: x\ntarget-path: build\n")
    project = DbtProject(tmp_path)
    assert project.manifest_path == tmp_path / "build" / "manifest.json"
    assert project.profiles_dir is None  # dbt's own default then


def test_explicit_manifest_path_and_profiles_dir(tmp_path, tiny_doc, write_json) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "dbt_project.yml").write_text("name: tiny\nprofile: tiny\n")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "profiles.yml").write_text("tiny: {}\n")
    path = write_json(tiny_doc, "elsewhere/manifest.json")
    project = DbtProject(tmp_path / "proj", profiles_dir=tmp_path / "profiles",
                         manifest_path=path, cache_dir=tmp_path / "cache")
    manifest = project.load_manifest()
    assert manifest.path == path and manifest.project_name == "tiny"
    assert project.load_manifest() is manifest  # kept on the object
    assert list((tmp_path / "cache").glob("manifest-*.pickle"))


@pytest.mark.system
def test_existing_manifest_is_used_without_parsing(parsed_projects) -> None:
    pdir = parsed_projects.project_dir("passing")
    project = DbtProject(pdir)
    before = project.manifest_path.stat().st_mtime_ns
    manifest = project.load_manifest()
    assert manifest.project_name == "passing_shop"
    assert project.manifest_path.stat().st_mtime_ns == before  # dbt did not run again


@pytest.mark.system
def test_missing_manifest_is_created_with_dbt_parse(copy_test_project) -> None:
    pdir = copy_test_project("failing")
    project = DbtProject(pdir)
    assert not project.manifest_path.exists()
    manifest = project.load_manifest()
    assert project.manifest_path.is_file()
    assert manifest.project_name == "failing_shop"
    assert "broken_totals" in {n.name for n in manifest}


@pytest.mark.system
def test_parse_into_a_custom_target_path(copy_test_project) -> None:
    pdir = copy_test_project("failing")
    out = pdir / "elsewhere" / "manifest.json"
    project = DbtProject(pdir, manifest_path=out)
    assert project.parse() == out and out.is_file()
    assert not (pdir / "target" / "manifest.json").exists()
    assert project.load_manifest().project_name == "failing_shop"


@pytest.mark.system
def test_parse_refreshes_after_an_edit(copy_test_project) -> None:
    pdir = copy_test_project("failing")
    project = DbtProject(pdir)
    assert "extra_model" not in {n.name for n in project.load_manifest()}
    (pdir / "models" / "extra_model.sql").write_text("select 1 as x\n")
    project.parse()
    assert "extra_model" in {n.name for n in project.load_manifest()}
