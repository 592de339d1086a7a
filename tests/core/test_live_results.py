"""Results a generator yields are stored as they come, not with the step's end."""

from __future__ import annotations

from orchestrator import AssetSpec, Instance, MaterializeResult, materialize, multi_asset


def test_yielded_materializations_are_visible_before_the_step_ends():
    seen: list[list[str]] = []

    @multi_asset(specs=[AssetSpec("a"), AssetSpec("b")])
    def ab(context):
        yield MaterializeResult(asset_key="a")
        events = context.instance.run_storage.get_events(context.run_id)
        seen.append([e.asset_key.to_user_string() for e in events
                     if e.is_asset_materialization])
        yield MaterializeResult(asset_key="b")

    with Instance.ephemeral() as instance:
        result = materialize([ab], instance=instance, log_level="error")
        assert result.success
    assert seen == [["a"]]
