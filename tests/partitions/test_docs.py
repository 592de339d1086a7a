"""docs/concepts/{partitions,schedules-and-sensors,daemon}.md: every python block runs,
in order, in one namespace per page; a ``text`` block right after one is its exact output."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "concepts"
_BLOCK = re.compile(r"```(?P<lang>\w*)\n(?P<body>.*?)```", re.DOTALL)


@pytest.mark.parametrize("page", ["partitions.md", "schedules-and-sensors.md", "daemon.md"])
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    blocks = [(m["lang"], m["body"]) for m in _BLOCK.finditer((DOCS / page).read_text())]
    namespace: dict = {"__name__": "docs"}
    ran = 0
    for i, (lang, body) in enumerate(blocks):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(body, f"{page}[block {i}]", "exec"), namespace)  # noqa: S102
        ran += 1
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            assert out.getvalue() == blocks[i + 1][1], f"{page} block {i}"
    assert ran >= 2
