"""The core behaviour dbt runs rely on, without dbt: a multi-asset step that fails after
materializing some of its assets skips only the assets downstream of what it did not produce,
and a failed blocking check blocks only the assets downstream of the checked asset."""

from __future__ import annotations

from orchestrator import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    asset,
    materialize,
    multi_asset,
)


@multi_asset(specs=[AssetSpec("good"), AssetSpec("bad"), AssetSpec("checked")],
             check_specs=[AssetCheckSpec("must_pass", asset="checked", blocking=True)])
def like_dbt():
    yield MaterializeResult(asset_key="good")
    yield MaterializeResult(asset_key="checked")
    yield AssetCheckResult(passed=False, asset_key="checked", check_name="must_pass")
    raise RuntimeError("model 'bad' failed")


@asset(deps=[AssetKey("good")])
def after_good() -> int:
    return 1


@asset(deps=[AssetKey("bad")])
def after_bad() -> int:
    return 2


@asset(deps=[AssetKey("checked")])
def after_checked() -> int:
    return 3


@asset(deps=[AssetKey("good"), AssetKey("bad")])
def after_both() -> int:
    return 4


def test_failed_multi_asset_skips_only_what_depends_on_its_failures(tmp_path) -> None:
    from orchestrator import FilesystemIOManager

    result = materialize([like_dbt, after_good, after_bad, after_checked, after_both],
                         raise_on_error=False,
                         resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))})
    assert not result.success
    done = {k.to_user_string() for k in result.materialized_keys}
    assert done == {"good", "checked", "after_good"}
    assert set(result.get_skipped_step_keys()) == {"after_bad", "after_checked", "after_both"}
