"""Executes every titled code block of docs/protocol.md (and the client guide):
python blocks in one namespace per page, sh blocks under a minimal host with dash (or another
POSIX sh), js blocks with node, json blocks validated by the host codec and the schemas."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipes_protocol import CONTEXT_KEYS, bootstrap_env_vars, parse_message, plain_env_vars

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "docs" / "protocol.md", REPO / "docs" / "guides" / "run-an-existing-script.md"]
BLOCK = re.compile(r'^```(\w+) title="([^"]+)"[^\n]*\n(.*?)^```\s*$', re.MULTILINE | re.DOTALL)


def blocks(page: Path):
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(page.read_text())]


def test_pages_have_executable_blocks():
    for page in PAGES:
        kinds = {kind for kind, _, _ in blocks(page)}
        assert {"python", "sh"} <= kinds, (page, kinds)


def _context():
    ctx = {key: None for key in CONTEXT_KEYS}
    ctx.update(run_id="doc-run", retry_number=0, extras={}, asset_keys=["orders"],
               code_version_by_asset_key={"orders": "1"},
               pipes_features={"version": "1", "features": ["progress"]})
    return ctx


def _posix_sh():
    for cand in (["dash"], ["busybox", "sh"], ["bash", "--posix"]):
        if shutil.which(cand[0]):
            return cand
    pytest.skip("no POSIX shell")


def run_external(kind: str, code: str, tmp: Path, stdio: bool):
    """Run a client snippet as a real process under a minimal host; return parsed messages."""
    ctx = _context()
    (tmp / "context.json").write_text(json.dumps(ctx))
    msgs = tmp / "messages"
    msgs.write_text("")
    mparams = {"stdio": "stdout"} if stdio else {"path": str(msgs)}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_PIPES", "PIPES_"))}
    env.update(bootstrap_env_vars({"path": str(tmp / "context.json")}, mparams))
    env.update(plain_env_vars(ctx, mparams))
    env["PIPES_SH"] = str(REPO / "pipes_client" / "sh" / "pipes.sh")
    env["PYTHONPATH"] = str(REPO)
    env["NODE_PATH"] = str(REPO)
    script = tmp / f"snippet.{ {'sh': 'sh', 'js': 'js', 'python': 'py'}[kind] }"
    script.write_text(code)
    if kind == "sh":
        argv = [*_posix_sh(), str(script)]
    elif kind == "js":
        if not shutil.which("node"):
            pytest.skip("node is not installed")
        argv = ["node", str(script)]
    else:
        argv = [sys.executable, str(script)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout if stdio else msgs.read_text()
    lines = [ln for ln in text.splitlines() if "__dagster_pipes_version" in ln]
    out = [parse_message(ln) for ln in lines]
    assert all(m["warnings"] == [] for m in out)
    return out


CASES = [(page.name, kind, title, code) for page in PAGES for kind, title, code in blocks(page)]


@pytest.mark.parametrize("page,kind,title,code", CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_doc_block(page, kind, title, code, tmp_path, validator):
    if kind == "json":
        if title == "context":
            validator("context").validate(json.loads(code))
        else:
            for line in code.strip().splitlines():
                assert parse_message(line)["warnings"] == []
                validator("message").validate(json.loads(line))
        return
    external = title.startswith("client:") or kind in ("sh", "js")
    if kind == "python" and not external:
        namespace = _NAMESPACES.setdefault(page, {"REPO": str(REPO), "__name__": "__doc__"})
        exec(compile(code, f"{page}:{title}", "exec"), namespace)
        return
    stdio = "echo" in title or "stdio" in title
    msgs = run_external(kind, code, tmp_path, stdio=stdio)
    assert msgs, "the snippet sent no message"
    methods = [m["method"] for m in msgs]
    if not stdio:
        assert methods[0] == "opened" and methods[-1] == "closed", methods
    assert "report_asset_materialization" in methods


_NAMESPACES: dict[str, dict] = {}
