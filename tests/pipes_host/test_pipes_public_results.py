"""Public session APIs for hosts that hand results over while the work runs
(``take_new_results``, ``stderr_tail``) and the ``check_targets`` extension (checks declared on
assets the step depends on, reported by the client). Real child processes throughout."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from ph_helpers import PY, child_env, failure_text

from orchestrator import AssetCheckSpec, AssetSpec, asset, materialize
from orchestrator.errors import PipesError
from orchestrator.launchers import LaunchSpec, SubprocessLauncher
from orchestrator.pipes import open_pipes_session
from orchestrator.results import AssetCheckResult, MaterializeResult


def _run_child(session, path: str) -> int:
    env = {**os.environ, **child_env(), **session.get_bootstrap_env_vars()}
    return subprocess.run([PY, path], env=env, timeout=120).returncode


def test_check_on_a_dependency_is_advertised_and_accepted(script):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            assert pipes.has_feature("check_targets")
            pipes.report_asset_materialization()
            pipes.report_asset_check("fresh", passed=False, severity="WARN",
                                     metadata={"age_hours": 30}, asset_key="raw")
            pipes.report_asset_check("positive", passed=True)
    """)
    seen = {}

    @asset(deps=["raw"], check_specs=[AssetCheckSpec("fresh", asset="raw"),
                                      AssetCheckSpec("positive", asset="clean")])
    def clean(context):
        with open_pipes_session(context) as session:
            seen.update(session.context_data["pipes_features"])
            code = _run_child(session, path)
        session.check_outcome(exit_code=code)
        return session.get_results()

    result = materialize([AssetSpec("raw"), clean], selection=[clean])
    assert result.success
    # only the check on the dependency is a check target (the step's own one is in scope)
    assert seen["check_targets"] == {"raw": ["fresh"]}
    assert "check_targets" in seen["features"]
    evals = {(e.asset_key.to_user_string(), e.check_name): e
             for e in result.get_asset_check_evaluations()}
    assert sorted(evals) == [("clean", "positive"), ("raw", "fresh")]
    assert not evals[("raw", "fresh")].passed and evals[("clean", "positive")].passed
    assert evals[("raw", "fresh")].metadata["age_hours"] == 30


def test_client_refuses_a_check_the_host_did_not_advertise(script):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization()
            pipes.report_asset_check("unique", passed=True, asset_key="raw")
    """)

    @asset(deps=["raw"], check_specs=[AssetCheckSpec("fresh", asset="raw")])
    def clean(context):
        with open_pipes_session(context) as session:
            code = _run_child(session, path)
        session.check_outcome(exit_code=code)
        return session.get_results()

    result = materialize([AssetSpec("raw"), clean], selection=[clean],
                         raise_on_error=False)
    assert not result.success
    text = failure_text(result)
    assert "'raw' is not in scope" in text and "{'raw': ['fresh']}" in text


def test_no_dependency_checks_advertise_an_empty_map():
    seen = {}

    @asset(check_specs=[AssetCheckSpec("positive", asset="alone")])
    def alone(context):
        with open_pipes_session(context) as session:
            seen.update(session.context_data["pipes_features"])
        yield MaterializeResult()
        yield AssetCheckResult(passed=True)

    assert materialize([alone]).success
    assert seen["check_targets"] == {}


def test_take_new_results_hands_each_result_over_once_while_the_child_runs(script, tmp_path):
    go = tmp_path / "go"
    path = script(f"""
        import os, time
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization(metadata={{"rows": 3}}, data_version="v1")
            for _ in range(1200):  # the host creates {go!s} after taking the first result
                if os.path.exists({str(go)!r}):
                    break
                time.sleep(0.05)
            else:
                raise SystemExit("the host never took the first result")
            pipes.report_asset_check("positive", passed=True)
    """)
    got: dict[str, list] = {}

    @asset(check_specs=[AssetCheckSpec("positive", asset="orders")])
    def orders(context):
        with open_pipes_session(context) as session:
            env = {**os.environ, **child_env(), **session.get_bootstrap_env_vars()}
            proc = subprocess.Popen([PY, path], env=env)
            first: list = []
            for _ in range(1200):
                first += session.take_new_results()
                if first or proc.poll() is not None:
                    break
                time.sleep(0.05)
            got["first"] = first
            got["again"] = session.take_new_results()  # nothing new: the child waits for go
            Path(go).touch()
            code = proc.wait(120)
        got["after_close"] = session.take_new_results()
        got["then"] = session.take_new_results()
        got["all"] = session.get_results()
        session.check_outcome(exit_code=code)
        yield from got["first"] + got["after_close"]

    result = materialize([orders])
    assert result.success
    (mat,) = got["first"]
    assert isinstance(mat, MaterializeResult) and mat.asset_key.to_user_string() == "orders"
    assert mat.metadata["rows"].value == 3 and mat.data_version == "v1"
    assert got["again"] == []
    (check,) = got["after_close"]
    assert isinstance(check, AssetCheckResult) and check.check_name == "positive"
    assert check.passed
    assert got["then"] == []
    assert len(got["all"]) == 2  # get_results() still gives everything
    assert result.get_asset_check_evaluations()[0].passed


def test_stderr_tail_after_the_session_closed(tmp_path):
    child = tmp_path / "noisy.py"
    child.write_text(
        "import sys\n"
        "from pipes_client import open_pipes\n"
        "with open_pipes() as pipes:\n"
        "    for i in range(40):\n"
        "        print(f'line {i}', file=sys.stderr)\n"
        "    pipes.report_asset_materialization()\n"
        "sys.exit(3)\n")
    tails: dict[str, list[str]] = {}

    @asset
    def noisy(context):
        with open_pipes_session(context) as session:
            session.launch(SubprocessLauncher(),
                           LaunchSpec(command=[PY, str(child)], env=child_env()))
            status = session.wait()
        tails["five"] = session.stderr_tail(5)
        tails["default"] = session.stderr_tail()
        with pytest.raises(PipesError, match="positive int"):
            session.stderr_tail(0)
        session.check_outcome(status)

    result = materialize([noisy], raise_on_error=False)
    assert not result.success and "exit code 3" in failure_text(result)
    assert tails["five"] == [f"line {i}" for i in range(35, 40)]
    assert tails["default"] == [f"line {i}" for i in range(20, 40)]


def test_stderr_tail_without_launched_work_is_empty():
    @asset
    def plain(context):
        with open_pipes_session(context) as session:
            assert session.stderr_tail(3) == []
        return MaterializeResult()

    assert materialize([plain]).success
