"""The POSIX shell client end to end under each available POSIX shell."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from pc_host import REPO, MiniHost, make_context

from pipes_protocol import make_features

PIPES_SH = REPO / "pipes_client" / "sh" / "pipes.sh"
SHELLS = [s for s in (["dash"], ["busybox", "sh"], ["bash", "--posix"]) if shutil.which(s[0])]
if not SHELLS:
    pytest.skip("no POSIX shell available", allow_module_level=True)


@pytest.fixture(params=SHELLS, ids=lambda s: s[0])
def sh(request):
    return request.param


def run_sh(host: MiniHost, sh: list[str], body: str, **env: str):
    script = host.tmp / "job.sh"
    script.write_text(f". '{PIPES_SH}'\n{body}")
    return host.run([*sh, str(script)], env=host.env(**env))


def test_session_with_trap_and_failure(tmp_path, sh):
    host = MiniHost(tmp_path, make_context(asset_keys=["raw/orders", "clean"]))
    proc = run_sh(host, sh, """
pipes_open
trap 'pipes_close $?' EXIT
pipes_log info "rows for $PIPES_RUN_ID"
pipes_report_materialization --asset clean --data-version v2 --meta rows int 3 --meta ok bool true
pipes_report_check unique false --asset 'raw/orders' --severity warn --meta dupes int 2
pipes_progress 1 2 ignored-without-feature
exit 3
""")
    assert proc.returncode == 3, proc.stderr
    msgs = host.messages()
    assert [m["method"] for m in msgs] == [
        "opened", "log", "report_asset_materialization", "report_asset_check", "closed"]
    assert msgs[0]["params"]["extras"]["pipes_client"]["language"] == "sh"
    assert msgs[1]["params"] == {"message": "rows for run-123", "level": "INFO"}
    assert msgs[2]["params"]["metadata"] == {"rows": {"type": "int", "raw_value": 3},
                                             "ok": {"type": "bool", "raw_value": True}}
    assert msgs[3]["params"]["severity"] == "WARN" and msgs[3]["params"]["passed"] is False
    exc = msgs[4]["params"]["exception"]
    assert exc["name"] == "NonZeroExit" and "status 3" in exc["message"]


def test_success_defaults_to_the_single_asset_and_sends_progress_when_advertised(tmp_path, sh):
    host = MiniHost(tmp_path, make_context(pipes_features=make_features(["progress"])))
    proc = run_sh(host, sh, """
pipes_open
trap 'pipes_close $?' EXIT
pipes_progress 5 10 "half way"
pipes_report_materialization --meta score float 2
""")
    assert proc.returncode == 0, proc.stderr
    msgs = host.messages()
    assert [m["method"] for m in msgs] == [
        "opened", "progress", "report_asset_materialization", "closed"]
    assert msgs[1]["params"] == {"asset_key": None, "current": 5, "total": 10,
                                 "message": "half way"}
    assert msgs[2]["params"]["asset_key"] == "orders"
    score = msgs[2]["params"]["metadata"]["score"]["raw_value"]
    assert isinstance(score, float) and score == 2.0
    assert msgs[3]["params"]["exception"] is None


def test_misuse_gives_clear_errors_and_sends_nothing(tmp_path, sh):
    host = MiniHost(tmp_path)
    proc = run_sh(host, sh, """
pipes_open
pipes_log LOUD x || echo "e1"
pipes_report_materialization --meta n int 1.5 || echo "e2"
pipes_report_materialization --meta n float abc || echo "e3"
pipes_report_materialization --meta n kind x || echo "e4"
pipes_report_check only-a-name || echo "e5"
pipes_report_materialization
pipes_report_materialization || echo "e6"
pipes_close 0
pipes_log INFO late || echo "e7"
""")
    assert proc.stdout.split() == ["e1", "e2", "e3", "e4", "e5", "e6", "e7"], proc.stderr
    for text in ["level 'LOUD'", "needs an integer, got '1.5'", "needs a number, got 'abc'",
                 "unknown type 'kind'", "usage", "already reported", "after pipes_close"]:
        assert text in proc.stderr
    assert host.methods() == ["opened", "report_asset_materialization", "closed"]


def test_stdio_channel_and_single_echo(tmp_path, sh):
    """An existing script needs no library: one echo on stdout is a materialization."""
    host = MiniHost(tmp_path, channel="stdio")
    message = ('{"__dagster_pipes_version": "0.1", "method": "report_asset_materialization", '
               '"params": {"asset_key": "orders", "data_version": null, '
               '"metadata": {"rows": {"type": "int", "raw_value": 42}}}}')
    proc = run_sh(host, sh, f"""
echo "ordinary output"
echo '{message}'
""")
    assert proc.returncode == 0
    msgs = host.messages()
    assert [m["method"] for m in msgs] == ["report_asset_materialization"]
    assert msgs[0]["params"]["metadata"]["rows"]["raw_value"] == 42
    assert "ordinary output" in proc.stdout


def test_outside_a_host_it_warns_and_does_nothing(tmp_path, sh):
    script = tmp_path / "s.sh"
    script.write_text(f". '{PIPES_SH}'\npipes_open\npipes_log INFO x\npipes_report_materialization "
                      "--asset a\npipes_close 0\necho done\n")
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([*sh, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "done\n"
    assert "not launched by a pipes host" in proc.stderr


def test_blob_channel_is_refused_with_an_explanation(tmp_path, sh):
    host = MiniHost(tmp_path)
    env = host.env()
    env.pop("PIPES_MESSAGES_PATH")
    script = tmp_path / "s.sh"
    script.write_text(f". '{PIPES_SH}'\npipes_open || exit 7\n")
    proc = subprocess.run([*sh, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 7 and "plain PIPES_* variables" in proc.stderr
