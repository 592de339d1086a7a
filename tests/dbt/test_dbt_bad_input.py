"""Bad input: each case gives a clear error naming the file or project and the fix."""

from __future__ import annotations

import json

import pytest
from orchestrator_dbt import DbtManifestError, DbtProject, DbtProjectError, load_manifest

from orchestrator.errors import DefinitionError, OrchestratorError


def test_missing_manifest_names_the_path_and_dbt_parse(tmp_path) -> None:
    missing = tmp_path / "target" / "manifest.json"
    with pytest.raises(DbtManifestError) as info:
        load_manifest(missing)
    msg = str(info.value)
    assert str(missing) in msg and "`dbt parse`" in msg
    assert info.value.path == str(missing)
    assert isinstance(info.value, DefinitionError) and isinstance(info.value, OrchestratorError)


def test_directory_instead_of_manifest(tmp_path) -> None:
    with pytest.raises(DbtManifestError, match="is a directory, not a file"):
        load_manifest(tmp_path)


def test_corrupt_json_gives_file_line_and_column(tmp_path, tiny_doc) -> None:
    text = json.dumps(tiny_doc, indent=1)
    cut = text.index('"model.tiny.clean"')
    broken = text[:cut] + "{oops" + text[cut:]
    path = tmp_path / "manifest.json"
    path.write_text(broken)
    line = broken[:cut].count("\n") + 1
    with pytest.raises(DbtManifestError) as info:
        load_manifest(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "not valid JSON" in msg
    assert f"line {line}," in msg
    assert "run `dbt parse`" in msg


def test_truncated_manifest(tmp_path, tiny_doc) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(tiny_doc)[:200])
    with pytest.raises(DbtManifestError, match=r"not valid JSON.*line 1, column \d+"):
        load_manifest(path)


def test_empty_manifest(tmp_path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text("  \n")
    with pytest.raises(DbtManifestError, match="is empty"):
        load_manifest(path)


def test_binary_garbage(tmp_path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DbtManifestError, match=str(path)):
        load_manifest(path)


def test_corrupt_manifest_is_not_cached(tmp_path, tiny_doc, write_json) -> None:
    path = tmp_path / "manifest.json"
    path.write_text("{")
    cache = tmp_path / "cache"
    with pytest.raises(DbtManifestError):
        load_manifest(path, cache_dir=cache)
    with pytest.raises(DbtManifestError):
        load_manifest(path, cache_dir=cache)
    assert not cache.exists() or not list(cache.iterdir())


@pytest.mark.parametrize(("version", "dbt"), [(13, "1.99.0"), (4, "1.0.0")])
def test_unsupported_schema_version_is_named(tmp_path, tiny_doc, write_json, version,
                                             dbt) -> None:
    tiny_doc["metadata"]["dbt_schema_version"] = (
        f"https://schemas.getdbt.com/dbt/manifest/v{version}.json")
    tiny_doc["metadata"]["dbt_version"] = dbt
    path = write_json(tiny_doc)
    with pytest.raises(DbtManifestError) as info:
        load_manifest(path)
    msg = str(info.value)
    assert f"schema version v{version}" in msg and dbt in msg
    assert "v7 to v12" in msg and str(path) in msg


def test_other_dbt_artifact_is_refused(tmp_path, write_json) -> None:
    path = write_json({"metadata": {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
        "results": []}, "target/run_results.json")
    with pytest.raises(DbtManifestError, match="not run_results.json"):
        load_manifest(path)


@pytest.mark.parametrize("doc", [[1, 2], {"nodes": {}}, "text", {"metadata": "x"}])
def test_json_that_is_not_a_manifest(write_json, doc) -> None:
    path = write_json(doc)
    with pytest.raises(DbtManifestError, match="not a dbt manifest"):
        load_manifest(path)


# -- projects ---------------------------------------------------------------------------------
def test_project_dir_that_does_not_exist(tmp_path) -> None:
    with pytest.raises(DbtProjectError, match="does not exist") as info:
        DbtProject(tmp_path / "nope")
    assert info.value.project_dir == str(tmp_path / "nope")


def test_project_dir_without_dbt_project_yml(tmp_path) -> None:
    with pytest.raises(DbtProjectError, match="has no dbt_project.yml"):
        DbtProject(tmp_path)


def test_profiles_dir_without_profiles_yml(tmp_path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\nprofile: x\n")
    with pytest.raises(DbtProjectError, match=r"has no profiles.yml"):
        DbtProject(tmp_path, profiles_dir=tmp_path / "elsewhere")


def test_explicit_manifest_path_that_is_missing_does_not_parse(tmp_path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\nprofile: x\n")
    project = DbtProject(tmp_path, manifest_path=tmp_path / "built" / "manifest.json")
    with pytest.raises(DbtManifestError, match="`dbt parse`"):
        project.load_manifest()


@pytest.mark.system
def test_project_that_does_not_parse_reports_dbts_message(copy_test_project,
                                                          parsed_projects) -> None:
    pdir = copy_test_project("passing")
    (pdir / "models" / "marts" / "broken.sql").write_text(
        "select * from {{ ref('model_that_does_not_exist') }}\n")
    with pytest.raises(DbtProjectError) as info:
        DbtProject(pdir).load_manifest()
    msg = str(info.value)
    assert "`dbt parse` failed" in msg and str(pdir) in msg
    assert "model_that_does_not_exist" in msg  # dbt's own words
    assert any("model_that_does_not_exist" in m for m in info.value.dbt_messages)
    assert not (pdir / "target" / "manifest.json").exists()


@pytest.mark.system
def test_profile_that_does_not_exist(copy_test_project, parsed_projects) -> None:
    pdir = copy_test_project("passing")
    text = (pdir / "dbt_project.yml").read_text().replace(
        "profile: passing_shop", "profile: no_such_profile")
    (pdir / "dbt_project.yml").write_text(text)
    with pytest.raises(DbtProjectError, match="no_such_profile"):
        DbtProject(pdir).parse()


@pytest.mark.system
def test_unknown_target(copy_test_project, parsed_projects) -> None:
    pdir = copy_test_project("passing")
    with pytest.raises(DbtProjectError, match=r"target 'prod'(.|\n)*prod"):
        DbtProject(pdir, target="prod").parse()


def test_parse_without_dbt_installed_says_how_to_install(copy_test_project, monkeypatch) -> None:
    import sys

    pdir = copy_test_project("failing")
    monkeypatch.setitem(sys.modules, "dbt.cli.main", None)  # makes the import fail
    with pytest.raises(DbtProjectError, match=r"pip install 'orchestrator\[dbt\]'"):
        DbtProject(pdir).load_manifest()
