"""Channels and injectors end to end: stdio, chunked blob store, env/url context (large
context by reference), a shell script reporting with one echo, progress, CLI bootstrap."""

from __future__ import annotations

import pytest
from ph_helpers import PY, events, failure_text, messages

from orchestrator import PipesError, asset, materialize
from orchestrator.pipes import (
    PipesChunkedMessageReader,
    PipesEnvContextInjector,
    PipesStdioMessageReader,
    PipesSubprocessClient,
    PipesUrlContextInjector,
)


def _materialize(path_or_cmd, client, **kw):
    cmd = path_or_cmd if isinstance(path_or_cmd, (list, str)) and not str(
        path_or_cmd).endswith(".py") else [PY, path_or_cmd]

    @asset
    def target(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=cmd, context=context, **kw).get_results()

    return materialize([target], resources={"pipes_subprocess_client": client},
                       raise_on_error=False, log_level="CRITICAL")


BASIC = """
from pipes_client import open_pipes
with open_pipes() as pipes:
    pipes.log.info("via " + pipes.extras.get("channel", "?"))
    print("ordinary output")
    pipes.report_asset_materialization(metadata={"n": 1})
"""


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_stdio_channel(script, client, stream):
    res = _materialize(script(BASIC), client, message_reader=PipesStdioMessageReader(stream),
                       extras={"channel": "stdio"})
    assert res.success, failure_text(res)
    msgs = messages(res)
    assert "via stdio" in msgs and "ordinary output" in msgs
    assert not any("__dagster_pipes_version" in m for m in msgs)  # messages are not logs
    assert events(res, "ASSET_MATERIALIZATION")[0].metadata == {"n": 1}


def test_chunked_channel_on_a_local_fsspec_filesystem(script, client, tmp_path):
    body = """
    import fsspec
    from pipes_client import open_pipes, PipesBlobStoreMessageWriter
    writer = PipesBlobStoreMessageWriter(fs=fsspec.filesystem("file"), interval=0.05)
    with open_pipes(message_writer=writer) as pipes:
        for i in range(20):
            pipes.log.info(f"chunked {i}")
        pipes.report_asset_materialization(metadata={"n": 20})
    """
    store = tmp_path / "bucket"
    store.mkdir()
    reader = PipesChunkedMessageReader(str(store))
    res = _materialize(script(body), client, message_reader=reader)
    assert res.success, failure_text(res)
    assert [m for m in messages(res) if m.startswith("chunked")] == \
        [f"chunked {i}" for i in range(20)]
    assert list(store.iterdir()) == []  # the session's chunks were removed


def test_env_context_inline_and_by_reference_when_large(script, client, tmp_path):
    body = """
    import os
    from pipes_client import open_pipes
    from pipes_protocol import decode_bootstrap
    params = decode_bootstrap(os.environ["DAGSTER_PIPES_CONTEXT"])
    with open_pipes() as pipes:
        pipes.report_asset_materialization(metadata={
            "carrier": sorted(params)[0], "size": len(pipes.extras["blob"])})
    """
    path = script(body)
    small = _materialize(path, client, extras={"blob": "x" * 10},
                         context_injector=PipesEnvContextInjector())
    assert events(small, "ASSET_MATERIALIZATION")[0].metadata == {"carrier": "data",
                                                                  "size": 10}
    refdir = tmp_path / "refs"
    big = _materialize(path, client, extras={"blob": "x" * 100_000},
                       context_injector=PipesEnvContextInjector(ref_url=str(refdir)))
    assert events(big, "ASSET_MATERIALIZATION")[0].metadata == {"carrier": "url",
                                                                "size": 100_000}
    assert list(refdir.iterdir()) == []  # reference removed after the session
    too_big = _materialize(path, client, extras={"blob": "x" * 100_000},
                           context_injector=PipesEnvContextInjector())
    assert "max_inline_bytes" in failure_text(too_big) and "ref_url=" in failure_text(too_big)


def test_url_context_injector(script, client, tmp_path):
    res = _materialize(script(BASIC), client,
                       context_injector=PipesUrlContextInjector(str(tmp_path / "ctx")),
                       extras={"channel": "url"})
    assert res.success and "via url" in messages(res)


def test_shell_script_reports_with_one_echo(tmp_path, client):
    sh = tmp_path / "job.sh"
    sh.write_text(
        '#!/bin/sh\n'
        'echo "working on $PIPES_ASSET_KEY for run $PIPES_RUN_ID"\n'
        'echo \'{"__dagster_pipes_version": "0.1", "method": "opened", "params": {}}\'\n'
        'echo "{\\"__dagster_pipes_version\\": \\"0.1\\", \\"method\\": '
        '\\"report_asset_materialization\\", \\"params\\": {\\"metadata\\": {\\"rows\\": '
        '{\\"type\\": \\"int\\", \\"raw_value\\": 5}}}}"\n'
        'echo \'{"__dagster_pipes_version": "0.1", "method": "closed", "params": {}}\'\n')
    sh.chmod(0o755)
    res = _materialize([str(sh)], client, message_reader=PipesStdioMessageReader())
    assert res.success, failure_text(res)
    assert any(m.startswith("working on target for run ") for m in messages(res))
    assert events(res, "ASSET_MATERIALIZATION")[0].metadata == {"rows": 5}


def test_progress_and_heartbeat_are_advertised_and_shown(script, client):
    body = """
    from pipes_client import open_pipes
    with open_pipes() as pipes:
        assert pipes.has_feature("progress") and pipes.has_feature("outputs")
        for i in range(1, 4):
            pipes.progress(i, 3, message=f"step {i}")
        pipes.report_asset_materialization()
    """
    res = _materialize(script(body), client)
    assert res.success, failure_text(res)
    prog = events(res, "PROGRESS")
    assert [(e.data["current"], e.data["total"]) for e in prog] == [(1, 3), (2, 3), (3, 3)]
    assert prog[-1].message == "progress 3/3: step 3"


def test_bootstrap_by_cli_arguments(script):
    """Platforms without env vars: the same session's bootstrap as argv."""
    import os
    import subprocess

    from ph_helpers import child_env

    from orchestrator.pipes import open_pipes_session

    path = script(BASIC)

    @asset
    def target(context):
        with open_pipes_session(context, extras={"channel": "argv"}) as session:
            argv = session.get_bootstrap_cli_arguments()
            env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_PIPES")}
            proc = subprocess.run([PY, path, *argv], env={**env, **child_env()}, check=False)
        session.check_outcome(exit_code=proc.returncode)
        return session.get_results()

    res = materialize([target], log_level="CRITICAL")
    assert res.success and "via argv" in messages(res)


def test_open_pipes_session_needs_a_context():
    from orchestrator.pipes import open_pipes_session

    with pytest.raises(PipesError, match="needs an execution context"), \
            open_pipes_session(object()):
        pass


def test_missing_heartbeat_is_detected(script, tmp_path):
    """A client that sent heartbeats and then went silent is reported as possibly hung."""
    from ph_helpers import child_env

    go = tmp_path / "go"
    body = f"""
    import json, os, time
    path = os.environ["PIPES_MESSAGES_PATH"]
    def send(method, params):
        with open(path, "a") as fh:
            fh.write(json.dumps({{"__dagster_pipes_version": "0.1", "method": method,
                                 "params": params}}) + "\\n")
    send("opened", {{}})
    send("heartbeat", {{}})
    while not os.path.exists({str(go)!r}):
        time.sleep(0.01)
    send("report_asset_materialization", {{"asset_key": None, "data_version": None,
                                          "metadata": None}})
    send("closed", {{}})
    """
    path = script(body)
    client = PipesSubprocessClient(env=child_env(), heartbeat_interval=0.05)
    from orchestrator import Instance

    instance = Instance.ephemeral()

    @asset
    def target(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(command=[PY, path], context=context).get_results()

    import threading
    import time

    out: dict = {}
    th = threading.Thread(target=lambda: out.setdefault("res", materialize(
        [target], resources={"pipes_subprocess_client": client}, instance=instance,
        raise_on_error=False, log_level="CRITICAL")))
    th.start()
    found = []
    for _ in range(3000):
        runs = instance.run_storage.get_runs()
        if runs:
            found = [e for e in instance.run_storage.get_events(runs[0].run_id)
                     if e.data.get("heartbeat_missed")]
            if found:
                break
        time.sleep(0.01)
    go.write_text("")
    th.join(60)
    assert found and "no heartbeat" in found[0].message and found[0].level == 30
    assert out["res"].success


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"extras": ["not", "a", "dict"]}, "extras= must be a dict"),
    ({"extras": {"x": object()}}, "not JSON-serialisable"),
    ({"message_reader": "file"}, "message_reader= must be a PipesMessageReader"),
    ({"context_injector": {"path": "/tmp/x"}}, "context_injector= must be a PipesContextInjector"),
    ({"line_parser": 3}, "line_parser= must be a callable"),
])
def test_bad_session_arguments_are_named(kwargs, expected, client, script):
    path = script(BASIC)
    res = _materialize(path, client, **kwargs)
    assert expected in failure_text(res)
    assert "PipesError" in failure_text(res)
