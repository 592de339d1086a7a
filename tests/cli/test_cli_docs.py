"""docs/concepts/cli.md and definitions.md: every example runs and does what the page says.

- ``bash`` blocks: each line is run with bash in a sandbox holding a copy of
  ``examples/quickstart/`` (``RUN_ID`` is replaced by the latest run's id); a line marked
  ``# exits 1`` must exit 1, every other line 0. A bash block followed by a ``text`` block
  must print that text (the sandbox path shown as ``/…``).
- ``python`` blocks run in order in one namespace (in the sandbox); followed by a ``text``
  block they must print exactly that.
- A block preceded by ``<!-- file: PATH -->`` is written to PATH in the sandbox instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, Cli

DOCS = REPO / "docs" / "concepts"
_BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```",
                    re.DOTALL)


def blocks(name: str) -> list[tuple[str, str, str | None]]:
    text = (DOCS / name).read_text(encoding="utf-8")
    return [(m["lang"], m["body"], m["file"]) for m in _BLOCK.finditer(text)]


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    box = tmp_path / "sandbox"
    shutil.copytree(REPO / "examples" / "quickstart", box / "examples" / "quickstart",
                    ignore=shutil.ignore_patterns("__pycache__", ".orchestrator"))
    cli = Cli(tmp_path / "home", box)
    cli.env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + cli.env["PATH"]
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(cli.home))
    monkeypatch.chdir(box)
    return cli


def latest_run(cli: Cli) -> dict:
    proc = subprocess.run(["orchestrator", "runs", "list", "--json", "--limit", "1"],
                          cwd=cli.cwd, env=cli.env, capture_output=True, text=True, check=True)
    runs = json.loads(proc.stdout)
    return runs[0] if runs else {}


def run_line(cli: Cli, line: str) -> subprocess.CompletedProcess[str]:
    command = line.split("  #")[0].strip()
    if "RUN_ID" in command:
        command = command.replace("RUN_ID", latest_run(cli)["run_id"])
    proc = subprocess.run(["bash", "-c", command], cwd=cli.cwd, env=cli.env,
                          capture_output=True, text=True, timeout=120, check=False)
    expected = 1 if "# exits 1" in line else 0
    assert proc.returncode == expected, f"{command!r} exited {proc.returncode}:\n" \
                                        f"{proc.stdout}\n{proc.stderr}"
    if "--json" in command and proc.returncode == 0:
        json.loads(proc.stdout)  # every --json output parses
    return proc


def normalized(text: str, cli: Cli) -> str:
    text = text.replace(str(cli.cwd), "/…")
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def run_page(name: str, cli: Cli) -> dict[str, int]:
    page = blocks(name)
    namespace: dict = {"__name__": "__doc_example__"}
    counts = {"bash": 0, "python": 0, "checked": 0, "files": 0}
    for i, (lang, body, file) in enumerate(page):
        expected = page[i + 1][1] if i + 1 < len(page) and page[i + 1][0] == "text" \
            and page[i + 1][2] is None else None
        if file is not None:
            target = cli.cwd / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
            counts["files"] += 1
        elif lang == "bash":
            proc = None
            for line in body.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    proc = run_line(cli, line)
                    counts["bash"] += 1
            if expected is not None and proc is not None:
                assert normalized(proc.stdout, cli) == normalized(expected, cli), \
                    f"output of bash block {i} of {name} differs"
                counts["checked"] += 1
        elif lang == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(body, f"{name}[block {i}]", "exec"), namespace)  # noqa: S102
            counts["python"] += 1
            if expected is not None:
                assert out.getvalue() == expected, f"output of python block {i} of {name}"
                counts["checked"] += 1
    return counts


def test_cli_page_commands_run_in_order(sandbox):
    counts = run_page("cli.md", sandbox)
    assert counts["bash"] >= 20
    # the re-execution story: the last run re-executed the failed one, from its failure
    child = latest_run(sandbox)
    assert child["status"] == "SUCCESS" and child["parent_run_id"]
    proc = subprocess.run(["orchestrator", "runs", "show", child["parent_run_id"], "--json"],
                          cwd=sandbox.cwd, env=sandbox.env, capture_output=True, text=True,
                          check=True)
    parent = json.loads(proc.stdout)
    assert parent["run"]["status"] == "FAILURE"
    failed = [e["step_key"] for e in parent["events"] if e["event_type"] == "STEP_FAILURE"]
    assert failed == ["raw_orders"]
    assert sorted(child["step_keys_to_execute"]) == [
        "customer_totals", "customer_totals_totals_are_not_negative", "raw_orders",
        "top_customers"]


def test_definitions_page_examples(sandbox):
    counts = run_page("definitions.md", sandbox)
    assert counts["python"] >= 5 and counts["checked"] >= 5 and counts["files"] == 3
    assert counts["bash"] >= 5
    runs = json.loads(subprocess.run(["orchestrator", "runs", "list", "--json"],
                                     cwd=sandbox.cwd, env=sandbox.env, capture_output=True,
                                     text=True, check=True).stdout)
    assert [r["asset_selection"] for r in runs] == [["campaigns"]]
    assert runs[0]["code_location"].endswith("marketing/definitions.py:defs")
