"""No false greens (issue 4 §7) and a robust reader (§6): each failure mode with a real
subprocess, asserting on the stored events and the error text."""

from __future__ import annotations

import pytest
from ph_helpers import PY, events, failure_text, messages

from orchestrator import AssetCheckSpec, AssetSpec, asset, materialize, multi_asset
from orchestrator.pipes import PipesSubprocessClient


def _run(path, client, *, specs=None, checks=None, **run_kwargs):
    if specs:
        @multi_asset(specs=specs)
        def target(context, pipes_subprocess_client: PipesSubprocessClient):
            return pipes_subprocess_client.run(command=[PY, path], context=context,
                                               **run_kwargs).get_results()
    else:
        @asset(check_specs=checks or [])
        def target(context, pipes_subprocess_client: PipesSubprocessClient):
            return pipes_subprocess_client.run(command=[PY, path], context=context,
                                               **run_kwargs).get_results()
    return materialize([target], resources={"pipes_subprocess_client": client},
                       raise_on_error=False, log_level="CRITICAL")


def _exit_metadata(res):
    ends = [e for e in events(res, "ENGINE_EVENT") if e.data.get("pipes_exit")]
    assert len(ends) == 1
    return ends[0].metadata


def test_nonzero_exit_fails_with_stderr_tail(script, client):
    path = script("""
        import sys
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization()
        print("disk quota exceeded on /data", file=sys.stderr)
        sys.exit(3)
    """)
    res = _run(path, client)
    assert not res.success
    text = failure_text(res)
    assert text.startswith("PipesError:")
    assert "exit code 3" in text and "disk quota exceeded on /data" in text
    md = _exit_metadata(res)
    assert md["exit_code"] == 3 and md["stop_reason"] == "exit code 3"
    assert "disk quota exceeded" in md["log_tail"]
    assert md["handle"]["pid"] > 0
    assert not events(res, "ASSET_MATERIALIZATION")  # reported results are discarded


def test_killed_by_signal_is_a_failure(script, client):
    path = script("""
        import os, signal
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    res = _run(path, client)
    assert "killed by SIGKILL" in failure_text(res)


def test_closed_with_exception_fails_with_remote_stack_and_cause(script, client):
    path = script("""
        from pipes_client import open_pipes
        def load():
            raise KeyError("inner")
        with open_pipes() as pipes:
            try:
                load()
            except KeyError as exc:
                raise ValueError("outer boom") from exc
    """)
    res = _run(path, client)
    text = failure_text(res)
    assert "external process failed with an exception" in text
    assert "ValueError: outer boom" in text
    assert "The above was caused by:" in text and "KeyError: 'inner'" in text
    assert "in load" in text  # the remote stack
    closed = [e for e in events(res, "ENGINE_EVENT")
              if (e.data.get("pipes_message") or {}).get("method") == "closed"]
    assert closed[0].level == 40


def test_closed_with_exception_but_exit_zero_still_fails(script, client):
    """A client that reports the exception and then exits 0 (Dagster: success)."""
    path = script("""
        import json, os, sys
        from pipes_protocol import make_message, dump_message
        from pipes_client import open_pipes
        pipes = open_pipes()
        pipes.close(ValueError("swallowed"))
        os._exit(0)
    """)
    res = _run(path, client)
    text = failure_text(res)
    assert "ValueError: swallowed" in text
    assert "exit code" not in text


def test_opened_but_never_closed(script, client):
    path = script("""
        import os
        from pipes_client import open_pipes
        pipes = open_pipes()
        pipes.report_asset_materialization()
        pipes.log.info("about to vanish")
        os._exit(0)  # no atexit: 'closed' is never written
    """)
    res = _run(path, client)
    assert "exited without closing the protocol session" in failure_text(res)
    assert "about to vanish" in messages(res)  # what arrived is still recorded


def test_never_opened_fails_unless_not_protocol_aware(script, client):
    path = script("""
        print("I know nothing about pipes")
    """)
    res = _run(path, client)
    text = failure_text(res)
    assert "without opening the protocol session" in text
    assert "protocol_aware=False" in text
    res2 = _run(path, client, protocol_aware=False)
    assert res2.success
    assert len(events(res2, "ASSET_MATERIALIZATION")) == 1
    assert "I know nothing about pipes" in messages(res2)


def test_not_protocol_aware_nonzero_exit_fails(script, client):
    path = script("""
        import sys
        print("ERROR: cannot connect", file=sys.stderr)
        sys.exit(2)
    """)
    res = _run(path, client, protocol_aware=False)
    text = failure_text(res)
    assert "exit code 2" in text and "ERROR: cannot connect" in text


def test_unreported_selected_asset_is_an_error_unless_implicit(script, client):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization(asset_key="a")
    """)
    specs = [AssetSpec("a"), AssetSpec("b")]
    res = _run(path, client, specs=specs)
    text = failure_text(res)
    assert "did not report materializations of ['b']" in text
    assert "implicit_materializations=True" in text
    res2 = _run(path, client, specs=specs, implicit_materializations=True)
    assert res2.success
    assert sorted(e.asset_key.to_user_string() for e in
                  events(res2, "ASSET_MATERIALIZATION")) == ["a", "b"]


def test_unreported_declared_check_is_an_error(script, client):
    path = script("""
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization()
    """)
    res = _run(path, client, checks=[AssetCheckSpec("positive", asset="target")],
               implicit_materializations=True)
    assert "did not report declared checks ['target:positive']" in failure_text(res)


def test_reporting_an_asset_outside_the_selection_names_it(script, client):
    path = script("""
        import json
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            pipes.report_asset_materialization()
            # bypass the client's own check to reach the host
            pipes._send("report_asset_materialization",
                        {"asset_key": "not/mine", "data_version": None, "metadata": None})
    """)
    res = _run(path, client)
    text = failure_text(res)
    assert "'not/mine'" in text and "not selected" in text
    warn = [m for m in messages(res) if "not/mine" in m]
    assert warn  # also visible live as a warning


def test_bad_lines_become_warnings_and_reading_goes_on(script, client):
    path = script("""
        import os
        from pipes_client import open_pipes
        with open_pipes() as pipes:
            path = __import__("pipes_client")._io  # noqa
            target = os.environ["PIPES_MESSAGES_PATH"]
            bad = [
                'this is not json',
                '{"__dagster_pipes_version": "0.1", "method": "explode", "params": {}}',
                '{"__dagster_pipes_version": "0.1", "method": "log", "params": {}}',
                '{"__dagster_pipes_version": "0.1", "method": "log", '
                '"params": {"message": "extra", "level": "INFO", "color": "red"}}',
                '{"__dagster_pipes_version": "0.1", "method": "report_asset_check", '
                '"params": {"asset_key": "target", "check_name": "c", "passed": "yes"}}',
                '{"__dagster_pipes_version": "0.1", "method": "report_asset_materialization", '
                '"params": {"asset_key": "target", "metadata": {"n": {"type": "int", '
                '"raw_value": "ten"}}}}',
            ]
            with open(target, "a") as fh:
                fh.write("\\n".join(bad) + "\\n")
            pipes.log.info("still reading after bad lines")
            pipes.report_asset_materialization(metadata={"ok": 1})
    """)
    res = _run(path, client)
    assert res.success
    msgs = messages(res)
    warns = [e.message for e in events(res, "LOG") if e.level == 30]
    assert any("malformed JSON" in w and "this is not json" in w for w in warns)
    assert any("unknown message method 'explode'" in w for w in warns)
    assert any("missing required param 'message'" in w for w in warns)
    assert any("'color'" in w for w in warns)  # an extra param: read anyway, but warned
    assert "extra" in msgs
    assert any("'passed'" in w for w in warns)
    assert any("'ten'" in w for w in warns)
    assert "still reading after bad lines" in msgs
    assert events(res, "ASSET_MATERIALIZATION")[0].metadata == {"ok": 1}


def test_missing_command_is_a_clear_launcher_error(client):
    from orchestrator import LauncherError

    @asset
    def target(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=["no-such-program-xyz"],
                                           context=context).get_results()

    res = materialize([target], resources={"pipes_subprocess_client": client},
                      raise_on_error=False, log_level="CRITICAL")
    text = failure_text(res)
    assert "LauncherError" in text and "'no-such-program-xyz'" in text and "PATH" in text
    assert LauncherError.__name__ in text


@pytest.mark.parametrize("bad", [[], "", [1, 2], None])
def test_bad_command_argument(bad, client):
    from orchestrator import PipesError

    @asset
    def target(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=bad, context=context).get_results()

    res = materialize([target], resources={"pipes_subprocess_client": client},
                      raise_on_error=False, log_level="CRITICAL")
    text = failure_text(res)
    assert text.startswith(("PipesError", "LauncherError"))
    assert "command" in text
    _ = PipesError
