"""dbt in a container through the Docker backend: the same events as the other runners.

Needs a Docker engine and the local dbt image (``ORCH_TEST_DBT_IMAGE`` in scripts/infra.env,
built by scripts/build-test-images.sh from wheels fetched on the host).
"""

from __future__ import annotations

import pytest
from orchestrator_dbt import DbtCliResource, DbtProject, dbt_assets, dbt_source_specs

from orchestrator import AssetKey, materialize
from orchestrator.events import EventType
from orchestrator.instance import Instance

pytestmark = [pytest.mark.system, pytest.mark.slow]


def _build(project: DbtProject):
    @dbt_assets(manifest=project)
    def shop_dbt(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    return shop_dbt


def _summary(result) -> tuple[set[str], dict[tuple[str, str], bool], dict[str, set[str]]]:
    mats = result.get_asset_materialization_events()
    return ({e.asset_key.to_user_string() for e in mats},
            {(e.asset_key.to_user_string(), e.check_name): e.passed
             for e in result.get_asset_check_evaluations()},
            {e.asset_key.to_user_string(): set(e.metadata) for e in mats})


def test_docker_runner_reports_what_the_in_process_runner_reports(
        copy_test_project, monkeypatch, tmp_path, dbt_image) -> None:
    runs = {}
    for runner in ("in_process", "docker"):
        pdir = copy_test_project("passing") if runner == "in_process" else \
            _copy_again(copy_test_project, tmp_path)
        monkeypatch.chdir(pdir)
        project = DbtProject(pdir)
        assets = _build(project)
        extra = {"image": dbt_image, "container_options": {"network": "none"}} \
            if runner == "docker" else {}
        instance = Instance.ephemeral()
        result = materialize([assets, *dbt_source_specs(assets)], instance=instance,
                             resources={"dbt": DbtCliResource(project, runner=runner, **extra)})
        assert result.success
        runs[runner] = (result, instance, project)
    local, in_docker = _summary(runs["in_process"][0]), _summary(runs["docker"][0])
    assert in_docker == local
    assert len(in_docker[0]) == 11 and len(in_docker[1]) == 21
    # dbt really ran in a container: the pipes session recorded a docker launch
    result, instance, project = runs["docker"]
    launched = instance.run_storage.get_events(
        result.run_id, event_types=[EventType.EXTERNAL_LAUNCHED])
    assert [e.data["launcher"] for e in launched] == ["docker"]
    # and wrote the project's DuckDB file, at the same path, readable here
    import duckdb

    with duckdb.connect(str(project.project_dir / "passing_shop.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from customers").fetchall() == [(5,)]


def test_docker_runner_failure_and_subset(copy_test_project, monkeypatch, dbt_image) -> None:
    pdir = copy_test_project("failing")
    monkeypatch.chdir(pdir)
    project = DbtProject(pdir)
    assets = _build(project)
    dbt = DbtCliResource(project, runner="docker", image=dbt_image)
    result = materialize([assets, *dbt_source_specs(assets)], resources={"dbt": dbt},
                         raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "broken_totals: error" in failure.data["error"]["message"]
    materialized = {k.to_user_string() for k in result.materialized_keys}
    assert "broken_totals" not in materialized and "payments" in materialized
    # a subset run builds only its selection
    result = materialize([assets, *dbt_source_specs(assets)], resources={"dbt": dbt},
                         selection=[AssetKey("payments")], raise_on_error=False)
    assert {k.to_user_string() for k in result.materialized_keys} == {"payments"}


def _copy_again(copy_test_project, tmp_path):
    """A second copy of the passing project (the first one is taken)."""
    from helpers.dbt_util import copy_project

    dest = tmp_path / "second"
    dest.mkdir()
    return copy_project("passing", dest)


def test_docker_runner_bad_images_fail_with_the_fix(copy_test_project, monkeypatch, dbt_image,
                                                     test_images) -> None:
    pdir = copy_test_project("passing")
    monkeypatch.chdir(pdir)
    project = DbtProject(pdir)
    assets = _build(project)

    def failure_of(**settings) -> str:
        result = materialize([assets, *dbt_source_specs(assets)], raise_on_error=False,
                             resources={"dbt": DbtCliResource(project, runner="docker",
                                                              **settings)})
        assert not result.success and not result.materialized_keys
        (failure,) = result.get_step_failure_events()
        return failure.data["error"]["message"]

    # an image with Python but no dbt: the runner says what to install, through the protocol
    message = failure_of(image=test_images.python)
    assert "dbt runner container" in message and "dbt is not installed" in message
    assert "pip install" in message
    # an image that is not there
    message = failure_of(image="orchestrator-test/no-such-dbt:0",
                         container_options={"pull_policy": "never"})
    assert "orchestrator-test/no-such-dbt:0" in message and "docker build" in message
