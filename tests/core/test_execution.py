"""Executors, failures and skips, re-execution, run tags: real processes and real files."""

from __future__ import annotations

import os
import pickle
import signal
import time
from pathlib import Path

import pytest

from orchestrator import (
    AssetKey,
    Definitions,
    EventType,
    Instance,
    Out,
    Output,
    RetryPolicy,
    RunStatus,
    asset,
    define_asset_job,
    job,
    materialize,
    multiprocess_executor,
    op,
    reexecute_run,
)
from orchestrator.execution.api import execute_job


@pytest.fixture
def instance(tmp_path):
    inst = Instance.from_home(tmp_path / "home")
    yield inst
    inst.close()


def stored(instance: Instance, *parts: str):
    return pickle.loads(instance.storage_dir.joinpath(*parts).read_bytes())


def step_starts(result) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]


# -- failures skip only what depends on them ---------------------------------------------------
def test_failure_skips_only_its_dependents():
    @asset
    def root() -> int:
        return 1

    @asset
    def broken(root: int) -> int:
        raise ValueError("broken on purpose")

    @asset
    def below_broken(broken: int) -> int:
        return broken

    @asset
    def further_below(below_broken: int) -> int:
        return below_broken

    @asset
    def sibling(root: int) -> int:
        return root + 1

    result = materialize([root, broken, below_broken, further_below, sibling],
                         raise_on_error=False)
    assert not result.success
    assert result.get_failed_step_keys() == {"broken"}
    assert result.get_skipped_step_keys() == {"below_broken", "further_below"}
    assert result.materialized_keys == {AssetKey("root"), AssetKey("sibling")}
    skipped = {e.step_key: e.data["reason"] for e in result.events_of_type(
        EventType.STEP_SKIPPED)}
    assert skipped["below_broken"] == "upstream 'broken' failed"
    assert skipped["further_below"] == "upstream 'below_broken' was skipped"
    fail = result.events_of_type(EventType.RUN_FAILURE)[0]
    assert "broken" in fail.data["failed_steps"]


def test_raise_on_error_names_the_step_and_error():
    from orchestrator import StepFailedError

    @asset
    def bad() -> int:
        raise KeyError("missing column 'x'")

    with pytest.raises(StepFailedError) as exc:
        materialize([bad])
    assert "step 'bad' raised KeyError" in str(exc.value)
    assert "missing column" in str(exc.value)


def test_output_produced_before_failure_feeds_its_consumer():
    """Chosen behaviour: an output that was stored completely before its op raised is a
    good value, so its consumers run; consumers of outputs never produced are skipped.
    The op's step is still a failure, and so is the run."""

    @op(out={"first": Out(), "second": Out()})
    def half_done():
        yield Output(1, "first")
        raise RuntimeError("died before 'second'")

    @op
    def uses_first(x):
        return x + 1

    @op
    def uses_second(x):
        return x + 1

    @job
    def partial():
        first, second = half_done()
        uses_first(first)
        uses_second(second)

    result = partial.execute_in_process(raise_on_error=False)
    assert not result.success
    assert result.get_failed_step_keys() == {"half_done"}
    assert result.output_for_node("uses_first") == 2
    assert result.get_skipped_step_keys() == {"uses_second"}


# -- run tags ------------------------------------------------------------------------------------
def test_run_tags_recorded_and_visible_in_context(instance):
    seen = {}

    @asset
    def tagged(context) -> int:
        seen.update(context.run_tags)
        return 1

    result = materialize([tagged], tags={"team": "data", "ticket": "T-1"}, instance=instance)
    assert seen == {"team": "data", "ticket": "T-1"}
    assert instance.get_run(result.run_id).tags == {"team": "data", "ticket": "T-1"}
    assert [r.run_id for r in instance.get_runs(tags={"team": "data"})] == [result.run_id]


# -- multiprocess executor ----------------------------------------------------------------------
@asset
def pid_a() -> int:
    return os.getpid()


@asset
def pid_b() -> int:
    return os.getpid()


@asset
def pids(pid_a: int, pid_b: int) -> list[int]:
    return [pid_a, pid_b, os.getpid()]


@pytest.mark.slow
def test_multiprocess_steps_run_in_other_processes(instance):
    result = materialize([pid_a, pid_b, pids], executor="multiprocess", instance=instance)
    assert result.success
    a, b, c = stored(instance, "pids")
    assert os.getpid() not in (a, b, c)
    assert len({a, b, c}) == 3
    starts = step_starts(result)
    assert sorted(starts[:2]) == ["pid_a", "pid_b"] and starts[2] == "pids"
    assert "multiprocess executor" in result.events_of_type(EventType.RUN_START)[0].message


def _concurrency_asset(name: str, run_dir: Path):
    @asset(name=name)
    def _a() -> int:
        marker = run_dir / f"{os.getpid()}"
        marker.touch()
        try:
            now_running = len(list(run_dir.iterdir()))
            time.sleep(0.3)
            return max(now_running, len(list(run_dir.iterdir())))
        finally:
            marker.unlink()

    return _a


@pytest.mark.slow
@pytest.mark.parametrize("limit", [1, 2])
def test_multiprocess_max_concurrent_is_respected(instance, tmp_path, limit):
    run_dir = tmp_path / "running"
    run_dir.mkdir()
    assets = [_concurrency_asset(f"c{i}", run_dir) for i in range(4)]
    j = define_asset_job("conc", executor_def=multiprocess_executor.configured(
        {"max_concurrent": limit}))
    defs = Definitions(assets=assets, jobs=[j])
    result = execute_job(defs.get_job_def("conc"), instance=instance)
    assert result.success
    seen = [stored(instance, f"c{i}") for i in range(4)]
    assert max(seen) <= limit


@pytest.mark.slow
def test_multiprocess_killed_step_fails_its_step_and_the_run_only(instance):
    @asset
    def victim() -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0  # pragma: no cover

    @asset
    def after_victim(victim: int) -> int:
        return victim

    @asset
    def survivor() -> int:
        return 7

    result = materialize([victim, after_victim, survivor], executor="multiprocess",
                         instance=instance, raise_on_error=False)
    assert not result.success
    assert result.run.status is RunStatus.FAILURE
    (fail,) = result.get_step_failure_events()
    assert fail.step_key == "victim"
    assert fail.data["error"]["type"] == "ProcessDied"
    assert str(-signal.SIGKILL) in fail.message
    assert result.get_skipped_step_keys() == {"after_victim"}
    assert stored(instance, "survivor") == 7


@pytest.mark.slow
def test_multiprocess_failure_and_retry(instance, tmp_path):
    flag = tmp_path / "tried"

    @asset(retry_policy=RetryPolicy(max_retries=1))
    def retried_in_child() -> int:
        if not flag.exists():
            flag.touch()
            raise RuntimeError("first attempt fails")
        return 5

    @asset
    def raises_in_child() -> int:
        raise ValueError("child error")

    result = materialize([retried_in_child, raises_in_child], executor="multiprocess",
                         instance=instance, raise_on_error=False)
    assert stored(instance, "retried_in_child") == 5
    assert result.get_failed_step_keys() == {"raises_in_child"}
    err = result.get_step_failure_events()[0].data["error"]
    assert err["type"] == "ValueError" and err["message"] == "child error"
    assert len(result.events_of_type(EventType.STEP_UP_FOR_RETRY)) == 1


# -- re-execution ---------------------------------------------------------------------------------
def test_reexecute_op_job_from_failure(instance, tmp_path):
    flag = tmp_path / "fixed"
    calls: list[str] = []

    @op
    def load() -> list[int]:
        calls.append("load")
        return [1, 2, 3]

    @op
    def transform(rows: list[int]) -> list[int]:
        calls.append("transform")
        if not flag.exists():
            raise RuntimeError("bug in transform")
        return [r * 2 for r in rows]

    @op
    def publish(rows: list[int]) -> int:
        calls.append("publish")
        return sum(rows)

    @op
    def independent() -> str:
        calls.append("independent")
        return "ok"

    @job
    def etl():
        publish(transform(load()))
        independent()

    parent = etl.execute_in_process(instance=instance, raise_on_error=False)
    assert not parent.success
    assert sorted(calls) == ["independent", "load", "transform"]

    flag.touch()
    calls.clear()
    child = reexecute_run(instance, parent.run_id, etl)
    assert child.success
    assert calls == ["transform", "publish"]
    assert step_starts(child) == ["transform", "publish"]
    assert child.output_for_node("publish") == 12
    run = instance.get_run(child.run_id)
    assert run.parent_run_id == parent.run_id and run.root_run_id == parent.run_id
    assert run.tags["orchestrator/parent_run_id"] == parent.run_id
    # the input was loaded from the parent run's stored output
    loaded = [e for e in child.all_events if e.event_type is EventType.LOADED_INPUT]
    assert loaded[0].data["upstream_step_key"] == "load"
    assert (instance.storage_dir / parent.run_id / "load" / "result").is_file()


def test_reexecute_asset_job_from_failure(instance, tmp_path):
    flag = tmp_path / "fixed"
    calls: list[str] = []

    @asset
    def raw() -> list[int]:
        calls.append("raw")
        return [1, 2]

    @asset
    def cleaned(raw: list[int]) -> list[int]:
        calls.append("cleaned")
        if not flag.exists():
            raise RuntimeError("cleaning failed")
        return [x + 1 for x in raw]

    @asset
    def summary(cleaned: list[int]) -> int:
        calls.append("summary")
        return sum(cleaned)

    defs = Definitions(assets=[raw, cleaned, summary], jobs=[define_asset_job("all_assets")])
    j = defs.get_job_def("all_assets")
    parent = j.execute_in_process(instance=instance, raise_on_error=False)
    assert not parent.success and parent.get_skipped_step_keys() == {"summary"}

    flag.touch()
    calls.clear()
    child = reexecute_run(instance, parent.run_id, j)
    assert child.success
    assert calls == ["cleaned", "summary"]
    assert child.materialized_keys == {AssetKey("cleaned"), AssetKey("summary")}
    assert stored(instance, "summary") == 5


def test_reexecute_twice_chains_root_run(instance, tmp_path):
    attempts = []

    @asset
    def first() -> int:
        return 1

    @asset
    def second(first: int) -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError(f"attempt {len(attempts)}")
        return first + 1

    defs = Definitions(assets=[first, second], jobs=[define_asset_job("j")])
    j = defs.get_job_def("j")
    r1 = j.execute_in_process(instance=instance, raise_on_error=False)
    r2 = reexecute_run(instance, r1.run_id, j)
    assert not r2.success
    r3 = reexecute_run(instance, r2.run_id, j)
    assert r3.success and step_starts(r3) == ["second"]
    assert instance.get_run(r3.run_id).root_run_id == r1.run_id


def test_reexecute_refuses_successful_and_unknown_runs(instance):
    from orchestrator import DefinitionError

    @asset
    def fine() -> int:
        return 1

    defs = Definitions(assets=[fine], jobs=[define_asset_job("j")])
    j = defs.get_job_def("j")
    ok = j.execute_in_process(instance=instance)
    with pytest.raises(DefinitionError, match="succeeded"):
        reexecute_run(instance, ok.run_id, j)
    again = reexecute_run(instance, ok.run_id, j, from_failure=False)
    assert again.success and step_starts(again) == ["fine"]
    with pytest.raises(DefinitionError, match="no run 'nope'"):
        reexecute_run(instance, "nope", j)


def test_reexecute_op_job_twice_loads_outputs_from_the_run_that_made_them(instance):
    attempts = []

    @op
    def produce() -> int:
        return 20

    @op
    def consume(x: int) -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError(f"attempt {len(attempts)}")
        return x + 1

    @job
    def chain():
        consume(produce())

    r1 = chain.execute_in_process(instance=instance, raise_on_error=False)
    r2 = reexecute_run(instance, r1.run_id, chain)
    r3 = reexecute_run(instance, r2.run_id, chain)
    assert r3.success and step_starts(r3) == ["consume"]
    assert r3.output_for_node("consume") == 21
    (loaded,) = [e for e in r3.all_events if e.event_type is EventType.LOADED_INPUT]
    assert loaded.data["upstream_step_key"] == "produce"


def test_reexecute_from_failure_inside_a_dynamic_fan_out(instance, tmp_path):
    from orchestrator import DynamicOut, DynamicOutput

    flag = tmp_path / "fixed"
    ran: list[str] = []

    @op(out=DynamicOut())
    def files():
        ran.append("files")
        for name in ("a", "b", "c"):
            yield DynamicOutput(name, mapping_key=name)

    @op
    def parse(name: str) -> str:
        ran.append(f"parse[{name}]")
        if name == "b" and not flag.exists():
            raise RuntimeError("cannot parse b")
        return name.upper()

    @op
    def shout(text: str) -> str:
        ran.append(f"shout[{text}]")
        return text + "!"

    @op
    def combine(parts: list) -> str:
        return "".join(sorted(parts))

    @job
    def fan():
        combine(files().map(lambda f: shout(parse(f))).collect())

    parent = fan.execute_in_process(instance=instance, raise_on_error=False)
    assert parent.get_failed_step_keys() == {"parse[b]"}
    flag.touch()
    ran.clear()
    child = reexecute_run(instance, parent.run_id, fan)
    assert child.success
    assert ran == ["parse[b]", "shout[B]"]
    assert child.output_for_node("combine") == "A!B!C!"


def test_reexecute_evaluates_a_failed_blocking_check_again(instance, tmp_path):
    from orchestrator import AssetCheckResult, AssetCheckSpec, MaterializeResult, asset_check

    fixed = tmp_path / "fixed"

    @asset
    def data() -> int:
        return 1

    @asset_check(asset=data, blocking=True)
    def data_ok(data):
        return AssetCheckResult(passed=fixed.exists())

    @asset
    def below(data: int) -> int:
        return data + 1

    @asset(check_specs=[AssetCheckSpec("inline_ok", asset="self_checked", blocking=True)])
    def self_checked() -> MaterializeResult:
        return MaterializeResult(check_results=[AssetCheckResult(passed=fixed.exists())])

    @asset(deps=[self_checked])
    def after_self_checked() -> int:
        return 2

    defs = Definitions(assets=[data, below, self_checked, after_self_checked],
                       asset_checks=[data_ok], jobs=[define_asset_job("j")])
    j = defs.get_job_def("j")
    parent = j.execute_in_process(instance=instance, raise_on_error=False)
    assert parent.get_skipped_step_keys() == {"below", "after_self_checked"}

    still_bad = reexecute_run(instance, parent.run_id, j)
    assert not still_bad.success  # the checks ran again and failed again
    assert set(step_starts(still_bad)) == {"data_data_ok", "self_checked"}

    fixed.touch()
    good = reexecute_run(instance, still_bad.run_id, j)
    assert good.success
    assert set(step_starts(good)) == {"data_data_ok", "below", "self_checked",
                                      "after_self_checked"}
