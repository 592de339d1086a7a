"""The Node.js client end to end (real node subprocesses, minimal host, host codec)."""

from __future__ import annotations

import shutil
import signal
import time

import pytest
from pc_host import REPO, MiniHost, make_context

from pipes_protocol import make_features

NODE = shutil.which("node")
if NODE is None:
    pytest.skip("node is not installed", allow_module_level=True)
CLIENT = str(REPO / "pipes_client" / "node")


def run_js(host: MiniHost, body: str, *args: str):
    script = host.tmp / "job.js"
    script.write_text(
        f"const {{ openPipes, withPipes, meta, PipesError }} = require({CLIENT!r});\n{body}")
    return host.run([NODE, str(script), *args])


@pytest.mark.parametrize("channel", ["file", "stdio", "buffered_stdio"])
def test_session_with_typed_floats(tmp_path, channel):
    host = MiniHost(tmp_path, channel=channel)
    proc = run_js(host, """
const pipes = openPipes();
pipes.log.info(`computing ${pipes.assetKey} v${pipes.codeVersion} ${pipes.getExtra('greeting')}`);
pipes.reportAssetMaterialization({
  metadata: { rows: 10, ratio: meta.float(1), mean: 2.5, explicit: { type: 'float', raw_value: 3 },
              ok: true, site: meta.url('https://x.org'), cfg: { a: [1, 2] },
              big: 12345678901234567890n },
  dataVersion: 'dv1' });
pipes.reportAssetCheck({ checkName: 'not_empty', passed: false, severity: 'WARN' });
pipes.close();
""")
    assert proc.returncode == 0, proc.stderr
    msgs = host.messages()
    assert [m["method"] for m in msgs] == [
        "opened", "log", "report_asset_materialization", "report_asset_check", "closed"]
    assert msgs[0]["params"]["extras"]["pipes_client"]["language"] == "node"
    assert msgs[1]["params"]["message"] == "computing orders vv7 hi"
    md = msgs[2]["params"]["metadata"]
    for name in ("ratio", "explicit", "mean"):
        assert md[name]["type"] == "float" and isinstance(md[name]["raw_value"], float), name
    # the raw line keeps 1.0 a float even for a strict (Dagster) host
    raw = next(ln for ln in host.raw_lines() if "report_asset_materialization" in ln)
    assert '"raw_value": 1.0' in raw and '"raw_value": 3.0' in raw
    assert md["rows"] == {"type": "int", "raw_value": 10}
    assert md["big"] == {"type": "int", "raw_value": 12345678901234567890}
    assert md["site"] == {"type": "url", "raw_value": "https://x.org"}
    assert msgs[3]["params"]["severity"] == "WARN"
    assert msgs[4]["params"]["exception"] is None


def test_async_error_with_cause_is_reported_and_rethrown(tmp_path):
    host = MiniHost(tmp_path)
    proc = run_js(host, """
withPipes(async (pipes) => {
  pipes.log.info('start');
  await new Promise((r) => setTimeout(r, 10));
  throw new TypeError('outer', { cause: new RangeError('inner') });
}).catch((err) => { console.error(String(err)); process.exitCode = 4; });
""")
    assert proc.returncode == 4 and "TypeError: outer" in proc.stderr
    exc = host.messages()[-1]["params"]["exception"]
    assert exc["name"] == "TypeError" and exc["message"] == "TypeError: outer\n"
    assert any("job.js" in frame for frame in exc["stack"])
    assert exc["cause"]["name"] == "RangeError" and exc["cause"]["message"] == "RangeError: inner\n"


def test_uncaught_exception_and_forgotten_close(tmp_path):
    host = MiniHost(tmp_path)
    proc = run_js(host, "const p = openPipes(); p.log.info('x'); throw new Error('kaboom');")
    assert proc.returncode == 1 and "kaboom" in proc.stderr
    assert host.messages()[-1]["params"]["exception"]["message"] == "Error: kaboom\n"

    host2 = MiniHost(tmp_path / "b" if not (tmp_path / "b").mkdir() else tmp_path)
    proc = run_js(host2, "openPipes().log.info('no close call');")
    assert proc.returncode == 0
    assert host2.methods() == ["opened", "log", "closed"]


def test_sigterm_sends_closed(tmp_path):
    host = MiniHost(tmp_path)
    script = tmp_path / "wait.js"
    script.write_text(f"const {{ openPipes }} = require({CLIENT!r});\n"
                      "openPipes().log.info('waiting'); setInterval(() => {}, 1000);\n")
    proc = host.popen([NODE, str(script)])
    try:
        deadline = time.monotonic() + 30
        while "waiting" not in host.messages_path.read_text():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM
    assert host.messages()[-1]["params"]["exception"]["name"] == "SIGTERM"


def test_errors_bootstrap_by_argv_and_extensions(tmp_path):
    out = tmp_path / "out" / "orders"
    host = MiniHost(tmp_path, make_context(pipes_features=make_features(
        ["progress", "outputs"], outputs={"orders": str(out)})), carrier="argv")
    proc = run_js(host, """
const pipes = openPipes();
const errors = [];
for (const f of [() => pipes.reportAssetMaterialization({ assetKey: 'nope' }),
                 () => pipes.partitionKey,
                 () => pipes.reportAssetCheck({ checkName: 'c', passed: 'yes' }),
                 () => pipes.reportAssetMaterialization({
                   metadata: { n: { type: 'int', raw_value: 1.5 } } }),
                 () => pipes.log.log('LOUD', 'x')]) {
  try {
    f();
    errors.push('NO ERROR');
  } catch (e) {
    if (!(e instanceof PipesError)) throw e;
    errors.push(e.message);
  }
}
pipes.progress(3, { total: 4, message: 'm' });
pipes.reportOutput({ a: 1 });
pipes.close();
try { pipes.log.info('late'); } catch (e) { errors.push(e.message); }
console.log(JSON.stringify(errors));
""")
    assert proc.returncode == 0, proc.stderr
    import json

    errors = json.loads(proc.stdout)
    for err, want in zip(errors, ['"nope" is not in scope', "partitionKey is not available",
                                  "passed must be true or false", "needs an integer",
                                  "not one of", "already closed"]):
        assert want in err, (want, err)
    assert len(errors) == 6
    msgs = host.messages()
    assert [m["method"] for m in msgs] == ["opened", "progress", "report_output", "closed"]
    assert json.loads(open(msgs[2]["params"]["url"]).read()) == {"a": 1}


def test_no_bootstrap_is_a_no_op_with_a_warning(tmp_path):
    script = tmp_path / "s.js"
    script.write_text(f"const {{ openPipes }} = require({CLIENT!r});\nconst p = openPipes();\n"
                      "p.reportAssetMaterialization({ metadata: { a: 1 } });\n"
                      "p.close(); console.log('ok');\n")
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_PIPES", "PIPES_"))}
    proc = subprocess.run([NODE, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "ok\n"
    assert "not launched by a pipes host" in proc.stderr


def test_bad_bootstrap_is_explained(tmp_path):
    host = MiniHost(tmp_path)
    env = host.env(DAGSTER_PIPES_CONTEXT='{"path": "/x"}')
    script = tmp_path / "s.js"
    script.write_text(f"require({CLIENT!r}).openPipes();\n")
    proc = host.run([NODE, str(script)], env=env)
    assert proc.returncode == 1 and "raw JSON" in proc.stderr


def test_node_decodes_every_bootstrap_vector(tmp_path):
    import json
    import subprocess

    from pipes_protocol import vectors_path

    code = f"""
const c = require({CLIENT!r});
const v = JSON.parse(require('fs').readFileSync({vectors_path('bootstrap')!r}, 'utf8'));
const out = {{ cases: v.cases.concat(v.lenient).map((x) => c.decodeBootstrap(x.encoded, 'v')),
              invalid: v.invalid.map((x) => {{
                try {{ c.decodeBootstrap(x.encoded, 'v'); return null; }}
                catch (e) {{ return e.message; }}
              }}) }};
console.log(JSON.stringify(out));
"""
    proc = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    vec = json.loads(open(vectors_path("bootstrap")).read())
    assert got["cases"] == [c["params"] for c in vec["cases"] + vec["lenient"]]
    assert all(got["invalid"]), got["invalid"]


def test_node_asset_keys_match_the_vectors():
    import json
    import subprocess

    from pipes_protocol import vectors_path

    code = f"""
const c = require({CLIENT!r});
const v = JSON.parse(require('fs').readFileSync({vectors_path('asset_keys')!r}, 'utf8'));
const bad = v.invalid.filter((x) => {{
  try {{ c.unescapeAssetKey(x.escaped); return true; }} catch (e) {{ return false; }}
}});
console.log(JSON.stringify({{
  esc: v.cases.map((x) => c.escapeAssetKey(x.parts)),
  unesc: v.cases.concat(v.decode_only).map((x) => c.unescapeAssetKey(x.escaped)),
  accepted_invalid: bad.map((x) => x.escaped) }}));
"""
    proc = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    vec = json.loads(open(vectors_path("asset_keys")).read())
    assert got["esc"] == [c["escaped"] for c in vec["cases"]]
    assert got["unesc"] == [c["parts"] for c in vec["cases"] + vec["decode_only"]]
    assert got["accepted_invalid"] == []
