"""docs/integrations/dbt.md: every Python example runs, and prints what the page shows.

A ```python block followed directly by a ```text block must print exactly that text. The blocks
run in order in one namespace, in a fresh directory holding a copy of the passing test project
as ``./shop`` (with no manifest: the first example runs `dbt parse`).
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "dbt.md"
PROJECT = Path(__file__).resolve().parent / "projects" / "passing"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def _blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


@pytest.mark.system
def test_python_examples_run_and_print_what_the_page_says(tmp_path, monkeypatch,
                                                          parsed_projects) -> None:
    shutil.copytree(PROJECT, tmp_path / "shop",
                    ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    blocks = _blocks()
    namespace: dict = {"__name__": "__doc_example__"}
    checked = ran = 0
    for i, (lang, body) in enumerate(blocks):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = compile(body, f"{DOC.name}[block {i}]", "exec")
            exec(code, namespace)  # noqa: S102 - the page's examples are the test
        ran += 1
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            assert out.getvalue() == blocks[i + 1][1], f"output of block {i} differs"
            checked += 1
    assert ran >= 10 and checked == ran
    assert (tmp_path / "shop" / "target" / "manifest.json").is_file()


def test_install_line_matches_the_extra() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "pip install 'orchestrator[dbt]'" in text
    pyproject = (DOC.parents[2] / "pyproject.toml").read_text()
    assert re.search(r'^dbt = \[.*"dbt-core>=1\.8,<1\.12".*"orjson', pyproject, re.MULTILINE)
