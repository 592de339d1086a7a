"""The Python client end to end: real subprocesses, a minimal host, every line parsed by the
host codec. No orchestrator involved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from pc_host import REPO, MiniHost, make_context

from pipes_protocol import encode_bootstrap, make_features

SCRIPT = """
from pipes_client import open_pipes
with open_pipes() as pipes:
    pipes.log.info("computing %s for run %s", pipes.asset_key, pipes.run_id)
    pipes.report_asset_materialization(
        metadata={"rows": 10, "score": 0.5, "ok": True, "note": "x", "cfg": {"a": 1},
                  "site": {"type": "url", "raw_value": "https://example.org"}},
        data_version="dv1")
    pipes.report_asset_check("not_empty", passed=True, metadata={"n": 10})
    pipes.report_custom_message({"extra": pipes.get_extra("greeting"),
                                 "code_version": pipes.code_version, "job": pipes.job_name})
"""


@pytest.mark.parametrize("channel", ["file", "stdio", "buffered_stdio"])
def test_full_session_on_each_channel(tmp_path, channel):
    host = MiniHost(tmp_path, channel=channel)
    proc = host.python(SCRIPT)
    assert proc.returncode == 0, proc.stderr
    msgs = host.messages()
    assert [m["method"] for m in msgs] == [
        "opened", "log", "report_asset_materialization", "report_asset_check",
        "report_custom_message", "closed"]
    opened, log, mat, check, custom, closed = msgs
    assert opened["params"]["extras"]["pipes_client"]["language"] == "python"
    assert log["params"] == {"message": "computing orders for run run-123", "level": "INFO"}
    assert mat["params"]["asset_key"] == "orders" and mat["params"]["data_version"] == "dv1"
    md = mat["params"]["metadata"]
    assert md["rows"] == {"type": "int", "raw_value": 10}
    assert md["score"] == {"type": "float", "raw_value": 0.5}
    assert md["cfg"] == {"type": "json", "raw_value": {"a": 1}}
    assert md["site"] == {"type": "url", "raw_value": "https://example.org"}
    assert check["params"]["check_name"] == "not_empty" and check["params"]["passed"] is True
    assert check["params"]["severity"] == "ERROR"
    assert custom["params"]["payload"] == {"extra": "hi", "code_version": "v7", "job": "job_x"}
    assert closed["params"] == {"exception": None}


def test_exception_chain_is_reported_in_closed(tmp_path):
    host = MiniHost(tmp_path)
    proc = host.python("""
from pipes_client import open_pipes
def load():
    raise KeyError("inner")
with open_pipes() as pipes:
    try:
        load()
    except KeyError as exc:
        raise ValueError("outer boom") from exc
""")
    assert proc.returncode == 1 and "outer boom" in proc.stderr
    closed = host.messages()[-1]
    assert closed["method"] == "closed"
    exc = closed["params"]["exception"]
    assert exc["name"] == "ValueError" and exc["message"] == "ValueError: outer boom\n"
    assert any("script.py" in frame for frame in exc["stack"])
    assert exc["cause"]["name"] == "KeyError" and exc["cause"]["message"] == "KeyError: 'inner'\n"
    assert exc["context"] is None  # suppressed by the explicit cause


def test_implicit_context_chain(tmp_path):
    host = MiniHost(tmp_path)
    host.python("""
from pipes_client import open_pipes
with open_pipes():
    try:
        {}["k"]
    except KeyError:
        raise RuntimeError("while handling")
""")
    exc = host.messages()[-1]["params"]["exception"]
    assert exc["name"] == "RuntimeError" and exc["cause"] is None
    assert exc["context"]["name"] == "KeyError"


def test_uncaught_exception_without_with_block_still_closes(tmp_path):
    host = MiniHost(tmp_path)
    proc = host.python("""
from pipes_client import open_pipes
pipes = open_pipes()
pipes.log.info("started")
raise SystemError("no with block")
""")
    assert proc.returncode == 1 and "no with block" in proc.stderr  # default hook still ran
    msgs = host.messages()
    assert [m["method"] for m in msgs] == ["opened", "log", "closed"]
    assert msgs[-1]["params"]["exception"]["name"] == "SystemError"


def test_normal_exit_without_close_sends_closed_at_exit(tmp_path):
    host = MiniHost(tmp_path, channel="buffered_stdio")
    proc = host.python("""
from pipes_client import open_pipes
open_pipes().log.info("bye")
print("plain output")
""")
    assert proc.returncode == 0
    assert host.methods() == ["opened", "log", "closed"]
    # buffered: everything arrives after the script's own output
    assert proc.stdout.index("plain output") < proc.stdout.index("__dagster_pipes_version")


def test_sys_exit_zero_in_with_block_is_not_an_exception(tmp_path):
    host = MiniHost(tmp_path)
    proc = host.python("""
import sys
from pipes_client import open_pipes
with open_pipes():
    sys.exit(0)
""")
    assert proc.returncode == 0
    assert host.messages()[-1]["params"]["exception"] is None


def test_sigterm_still_sends_closed_then_dies_by_the_signal(tmp_path):
    host = MiniHost(tmp_path)
    script = tmp_path / "script.py"
    script.write_text("""
import time
from pipes_client import open_pipes
with open_pipes() as pipes:
    pipes.log.info("waiting")
    time.sleep(120)
""")
    proc = host.popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 30
        while "waiting" not in host.messages_path.read_text():
            assert time.monotonic() < deadline, "client never logged"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM
    closed = host.messages()[-1]
    assert closed["method"] == "closed"
    assert closed["params"]["exception"]["name"] == "SIGTERM"


def test_existing_sigterm_handler_is_left_alone(tmp_path):
    host = MiniHost(tmp_path)
    proc = host.python("""
import signal
from pipes_client import open_pipes
mine = lambda s, f: None
signal.signal(signal.SIGTERM, mine)
with open_pipes():
    assert signal.getsignal(signal.SIGTERM) is mine
print("ok")
""")
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


def test_client_side_errors(tmp_path):
    host = MiniHost(tmp_path, make_context(asset_keys=["a", "b"], code_version_by_asset_key=None))
    proc = host.python("""
from pipes_client import open_pipes, PipesClientError
errors = []
with open_pipes() as pipes:
    for call in (lambda: pipes.report_asset_materialization(),
                 lambda: pipes.report_asset_materialization(asset_key="nope"),
                 lambda: pipes.asset_key,
                 lambda: pipes.partition_key,
                 lambda: pipes.get_extra("missing"),
                 lambda: pipes.report_asset_check("c", passed="yes", asset_key="a"),
                 lambda: pipes.report_asset_materialization(asset_key="a", metadata={"x": {1, 2}}),
                 lambda: pipes.report_asset_materialization(
                     asset_key="a", metadata={"x": {"type": "int", "raw_value": "3"}}),
                 lambda: pipes.report_output(1, asset_key="a")):
        try:
            call()
            errors.append("NO ERROR")
        except PipesClientError as exc:
            errors.append(str(exc))
    pipes.report_asset_materialization(asset_key="a")
    try:
        pipes.report_asset_materialization(asset_key="a")
    except PipesClientError as exc:
        errors.append(str(exc))
try:
    pipes.log.info("late")
except PipesClientError as exc:
    errors.append(str(exc))
import json; print(json.dumps(errors))
""")
    assert proc.returncode == 0, proc.stderr
    errors = json.loads(proc.stdout)
    assert "NO ERROR" not in errors
    expected = ["there are 2 assets in scope", "'nope' is not in scope", "exactly one asset",
                "no single partition", "extra 'missing' is not defined",
                "passed must be True or False", "cannot infer a metadata type for set",
                "metadata entry 'x' of type 'int' needs an integer",
                "did not advertise the 'outputs' feature", "already reported",
                "already closed"]
    assert len(errors) == len(expected)
    for err, want in zip(errors, expected):
        assert want in err, (want, err)
    # the refused calls sent nothing
    assert host.methods() == ["opened", "report_asset_materialization", "closed"]


def test_no_bootstrap_gives_a_warning_and_a_no_op_context(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_PIPES", "PIPES_"))}
    env["PYTHONPATH"] = str(REPO)
    code = """
import warnings
warnings.simplefilter("always")
from pipes_client import open_pipes, PipesClientWarning
with warnings.catch_warnings(record=True) as caught:
    pipes = open_pipes()
assert any(issubclass(w.category, PipesClientWarning) for w in caught)
with pipes:
    pipes.log.info("nothing")
    pipes.report_asset_materialization(metadata={"a": 1})
    pipes.progress(1, 2)
print("noop ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "noop ok" in proc.stdout, proc.stderr
    assert "__dagster_pipes_version" not in proc.stdout


@pytest.mark.parametrize("form", ["separate", "equals"])
def test_bootstrap_from_command_line(tmp_path, form):
    host = MiniHost(tmp_path, carrier="argv")
    script = tmp_path / "s.py"
    script.write_text("import sys\nfrom pipes_client import open_pipes\n"
                      "with open_pipes() as p:\n    p.log.info(p.run_id)\n")
    args = host.argv_extra()
    if form == "equals":
        args = [f"{args[0]}={args[1]}", f"{args[2]}={args[3]}"]
    env = host.env()
    host.carrier = "none"
    proc = host.run([sys.executable, str(script), *args], env=env)
    assert proc.returncode == 0, proc.stderr
    assert host.messages()[1]["params"]["message"] == "run-123"


@pytest.mark.parametrize("encoded", [True, False])
def test_bootstrap_from_file(tmp_path, encoded):
    host = MiniHost(tmp_path, carrier="file")
    ctx, msg = host.context_params, host.message_params
    boot = tmp_path / "boot.json"
    boot.write_text(json.dumps({
        "DAGSTER_PIPES_CONTEXT": encode_bootstrap(ctx) if encoded else ctx,
        "DAGSTER_PIPES_MESSAGES": encode_bootstrap(msg) if encoded else msg}))
    script = tmp_path / "s.py"
    script.write_text("from pipes_client import open_pipes\n"
                      "with open_pipes() as p:\n    p.log.info(p.job_name)\n")
    if encoded:
        proc = host.run([sys.executable, str(script)], env=host.env(PIPES_BOOTSTRAP_FILE=str(boot)))
    else:
        proc = host.run([sys.executable, str(script), "--pipes-bootstrap-file", str(boot)])
    assert proc.returncode == 0, proc.stderr
    assert host.messages()[1]["params"]["message"] == "job_x"


def test_bad_bootstrap_fails_loudly(tmp_path):
    host = MiniHost(tmp_path)
    env = host.env(DAGSTER_PIPES_CONTEXT='{"path": "/tmp/x"}')
    proc = host.python("from pipes_client import open_pipes\nopen_pipes()\n", env=env)
    assert proc.returncode == 1
    assert "PipesClientError" in proc.stderr and "raw JSON" in proc.stderr


def test_context_inline_and_by_url(tmp_path):
    host = MiniHost(tmp_path)
    host.context_params = {"data": make_context(run_id="inline-run")}
    log_run_id = ("from pipes_client import open_pipes\n"
                  "with open_pipes() as p: p.log.info(p.run_id)\n")
    host.python(log_run_id)
    assert host.messages()[1]["params"]["message"] == "inline-run"

    host2 = MiniHost(tmp_path / "u" if (tmp_path / "u").mkdir() is None else tmp_path)
    host2.context_params = {"url": "file://" + str(host2.context_path)}
    host2.python(log_run_id)
    assert host2.messages()[1]["params"]["message"] == "run-123"


def test_partition_properties(tmp_path):
    host = MiniHost(tmp_path, make_context(
        partition_key="2024-03-05",
        partition_key_range={"start": "2024-03-05", "end": "2024-03-05"},
        partition_time_window={"start": "2024-03-05T00:00:00+00:00",
                               "end": "2024-03-06T00:00:00+00:00"}))
    host.python("""
from pipes_client import open_pipes
with open_pipes() as p:
    p.report_custom_message([p.is_partition_step, p.partition_key, p.partition_key_range,
                             p.partition_time_window, p.asset_keys, p.is_asset_step])
""")
    payload = host.messages()[1]["params"]["payload"]
    assert payload == [True, "2024-03-05", {"start": "2024-03-05", "end": "2024-03-05"},
                       {"start": "2024-03-05T00:00:00+00:00", "end": "2024-03-06T00:00:00+00:00"},
                       ["orders"], True]


def test_threads_never_interleave_lines(tmp_path):
    host = MiniHost(tmp_path)
    proc = host.python("""
import threading
from pipes_client import open_pipes
with open_pipes() as pipes:
    def work(i):
        for j in range(300):
            pipes.log.info("thread %d message %d %s", i, j, "x" * (j * 7))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
""")
    assert proc.returncode == 0, proc.stderr
    msgs = host.messages()  # every line parses
    logs = [m["params"]["message"] for m in msgs if m["method"] == "log"]
    assert len(logs) == 8 * 300 and len(set(logs)) == 8 * 300


def test_logging_records_are_forwarded(tmp_path):
    host = MiniHost(tmp_path)
    host.python("""
import logging
from pipes_client import open_pipes
with open_pipes() as pipes:
    pipes.forward_logging("etl", level="INFO")
    log = logging.getLogger("etl")
    log.debug("hidden")
    log.info("loaded %d rows", 5)
    log.warning("careful")
logging.getLogger("etl").error("after close: not sent, no crash")
""")
    logs = [(m["params"]["level"], m["params"]["message"]) for m in host.messages()
            if m["method"] == "log"]
    assert logs == [("INFO", "loaded 5 rows"), ("WARNING", "careful")]


def test_extensions_are_silent_without_advertisement(tmp_path):
    host = MiniHost(tmp_path)
    host.python("""
from pipes_client import open_pipes
with open_pipes() as pipes:
    pipes.progress(1, 10, "step")
    assert pipes.features == []
""")
    assert host.methods() == ["opened", "closed"]


def test_progress_heartbeat_and_json_output_when_advertised(tmp_path):
    out_base = tmp_path / "outputs" / "orders"
    ctx = make_context(pipes_features=make_features(
        ["outputs", "progress", "heartbeat"], heartbeat_interval=0.05,
        outputs={"orders": str(out_base)}))
    host = MiniHost(tmp_path, ctx)
    proc = host.python(f"""
import time
from pipes_client import open_pipes
with open_pipes() as pipes:
    pipes.progress(5, 10, "half", asset_key="orders")
    url = pipes.report_output({{"rows": [1, 2, 3]}}, metadata={{"n": 3}})
    # wait until a heartbeat has been written (bounded, not a timing assertion)
    deadline = time.monotonic() + 30
    while '"method": "heartbeat"' not in open({str(host.messages_path)!r}).read():
        assert time.monotonic() < deadline
        time.sleep(0.02)
print(url)
""")
    assert proc.returncode == 0, proc.stderr
    msgs = host.messages()
    methods = [m["method"] for m in msgs]
    assert "heartbeat" in methods and methods[-1] == "closed"
    prog = next(m for m in msgs if m["method"] == "progress")["params"]
    assert prog == {"asset_key": "orders", "current": 5, "total": 10, "message": "half"}
    out = next(m for m in msgs if m["method"] == "report_output")["params"]
    assert out["format"] == "json" and out["url"] == str(out_base) + ".json"
    assert json.loads(open(out["url"]).read()) == {"rows": [1, 2, 3]}
    assert out["metadata"] == {"n": {"type": "int", "raw_value": 3}}


def test_parquet_output(tmp_path):
    pytest.importorskip("pyarrow")
    out_base = tmp_path / "o" / "orders"
    host = MiniHost(tmp_path, make_context(pipes_features=make_features(
        ["outputs"], outputs={"orders": str(out_base)})))
    proc = host.python("""
import pyarrow as pa
from pipes_client import open_pipes
with open_pipes() as pipes:
    pipes.report_output(pa.table({"id": [1, 2], "name": ["a", "b"]}))
""")
    assert proc.returncode == 0, proc.stderr
    import pyarrow.parquet as pq

    out = host.messages()[1]["params"]
    assert out["format"] == "parquet"
    assert pq.read_table(out["url"]).to_pydict() == {"id": [1, 2], "name": ["a", "b"]}


def test_import_pulls_in_nothing_heavy():
    """The import-cost budget, checked by behaviour (not by a timing): no json, zlib, threading,
    logging, fsspec or orchestrator module is loaded by ``import pipes_client``."""
    code = ("import sys; before = set(sys.modules); import pipes_client; "
            "print('\\n'.join(sorted(set(sys.modules) - before)))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_PIPES", "PIPES_"))}
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    allowed_prefixes = ("pipes_client", "pipes_protocol")
    extra = [m for m in out if not m.startswith(allowed_prefixes)
             and m not in {"__future__", "math"}]
    assert extra == [], extra


def test_public_api_matches_dagster_pipes_names():
    import pipes_client

    assert pipes_client.__all__ == sorted(pipes_client.__all__)
    for name in pipes_client.__all__:
        assert getattr(pipes_client, name) is not None
    ctx_api = {"get", "is_initialized", "asset_key", "asset_keys", "partition_key",
               "partition_key_range", "partition_time_window", "run_id", "job_name",
               "retry_number", "extras", "get_extra", "code_version", "code_version_by_asset_key",
               "provenance", "provenance_by_asset_key", "log", "report_asset_materialization",
               "report_asset_check", "report_custom_message", "close", "is_closed",
               "is_asset_step", "is_partition_step", "log_external_stream"}
    assert ctx_api <= set(dir(pipes_client.PipesContext))
    assert pipes_client.open_dagster_pipes is pipes_client.open_pipes


@pytest.mark.slow
def test_import_benchmark_script_runs():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_pipes_client_import.py"),
                          "--runs", "2"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "import pipes_client over bare interpreter" in out.stdout
