"""client_calls.json run through every client's driver (Python, Node, POSIX sh): each must send
exactly the expected messages, type-strict, and each line must pass the host codec."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pc_host import REPO

from pipes_protocol import parse_message, plain_env_vars, vectors_path

DRIVERS = Path(__file__).parent / "drivers"
VECTORS = json.loads(Path(vectors_path("client_calls")).read_text())
CASES = VECTORS["cases"]


def strict_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return type(a) is type(b) and (a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def check_results(results: dict[str, dict], cases=CASES, errors_checked=True):
    for case in cases:
        res = results[case["name"]]
        if "error" in case:
            if errors_checked:
                assert res["error"] and case["error"] in res["error"], (case["name"], res)
            continue
        assert res["error"] is None, (case["name"], res["error"])
        sent = [json.loads(line) for line in res["lines"]]
        for line in res["lines"]:
            assert "\n" not in line
            assert parse_message(line)["warnings"] == [], line
        assert len(sent) == len(case["expect"]), (case["name"], sent)
        for got, want in zip(sent, case["expect"]):
            assert got["__dagster_pipes_version"] == "0.1"
            assert got["method"] == want["method"], case["name"]
            assert strict_equal(got["params"], want["params"]), (case["name"], got, want)


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_PIPES", "PIPES_"))}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_python_client_conformance():
    driver = str(DRIVERS / "py_driver.py")
    out = subprocess.run([sys.executable, driver, vectors_path("client_calls")],
                         capture_output=True, text=True, env=_env(), timeout=120, check=True)
    results = {r["name"]: r for r in map(json.loads, out.stdout.splitlines())}
    check_results(results)


def test_node_client_conformance():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = subprocess.run([node, str(DRIVERS / "node_driver.js"), vectors_path("client_calls")],
                         capture_output=True, text=True, env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    results = {r["name"]: r for r in map(json.loads, out.stdout.splitlines())}
    check_results(results)


def posix_sh() -> list[str]:
    for cand in (["dash"], ["busybox", "sh"], ["bash", "--posix"]):
        if shutil.which(cand[0]):
            return cand
    pytest.skip("no POSIX shell")


def _sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _sh_value(mtype: str, value) -> str:
    if mtype == "json":
        return json.dumps(value, separators=(",", ":"))
    if mtype == "bool":
        return "true" if value else "false"
    if mtype == "null":
        return ""
    return str(value) if not isinstance(value, str) else value


def sh_command(call: dict) -> str:
    args = call["args"]
    name = call["call"]
    if name == "log":
        return f"pipes_log {args['level']} {_sh_quote(args['message'])}"
    if name == "report_custom_message":
        return f"pipes_report_custom {_sh_quote(json.dumps(args['payload']))}"
    parts = []
    if name == "report_asset_materialization":
        parts.append("pipes_report_materialization")
        if "data_version" in args:
            parts += ["--data-version", _sh_quote(args["data_version"])]
    else:
        parts += ["pipes_report_check", "--check", _sh_quote(args["check_name"]),
                  "--passed" if args["passed"] else "--failed"]
        if "severity" in args:
            parts += ["--severity", args["severity"]]
    if "asset_key" in args:
        parts += ["--asset", _sh_quote(args["asset_key"])]
    for mname, mtype, value in args.get("metadata", []):
        parts += ["--meta", _sh_quote(mname), mtype, _sh_quote(_sh_value(mtype, value))]
    return " ".join(parts)


def test_shell_client_conformance(tmp_path):
    sh = posix_sh()
    results = {}
    env = _env()
    env.update(plain_env_vars(VECTORS["context"], {"stdio": "stdout"}))
    cases = [c for c in CASES if "pipes_features" not in c]  # sh: no check_targets (§8.5)
    for case in cases:
        script = ["set -u", f". {_sh_quote(str(REPO / 'pipes_client' / 'sh' / 'pipes.sh'))}",
                  "pipes_open"]
        script += [sh_command(c) + " || exit 3" for c in case["calls"]]
        script.append("pipes_close 0")
        path = tmp_path / "case.sh"
        path.write_text("\n".join(script) + "\n")
        proc = subprocess.run([*sh, str(path)], capture_output=True, text=True, env=env,
                              timeout=60)
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        lines = [ln for ln in lines if json.loads(ln)["method"] not in ("opened", "closed")]
        results[case["name"]] = {"lines": lines,
                                 "error": proc.stderr.strip() if proc.returncode else None}
    check_results(results, cases)
