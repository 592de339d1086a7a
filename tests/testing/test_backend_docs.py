"""docs/plugins/writing-a-backend.md and docs/backends/subprocess.md: every titled Python
block runs (one namespace per page; a block titled like a test file is run with pytest), and
every excerpt still matches the source file it quotes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "examples" / "plugin-template"
GUIDE = REPO / "docs" / "plugins" / "writing-a-backend.md"
SUBPROCESS = REPO / "docs" / "backends" / "subprocess.md"
TITLED = re.compile(r'^```python title="([^"]+)"\n(.*?)^```\s*$', re.MULTILINE | re.DOTALL)
EXCERPT = re.compile(r'^<!-- excerpt: (\S+) -->\n```python\n(.*?)^```\s*$',
                     re.MULTILINE | re.DOTALL)


@pytest.fixture(autouse=True)
def template_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(TEMPLATE))


def _run_page(page: Path, tmp_path: Path) -> int:
    namespace: dict = {}
    ran = 0
    for title, code in TITLED.findall(page.read_text()):
        if title.startswith("tests/"):
            test_file = tmp_path / Path(title).name
            test_file.write_text(code)
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TEMPLATE), str(REPO)]))
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p",
                                   "no:cacheprovider", str(test_file)], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=600, check=False)
            assert proc.returncode == 0, f"{title}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
            assert re.search(r"\b2\d passed\b", proc.stdout), proc.stdout[-500:]
        else:
            try:
                compiled = compile(code, f"{page.name}: {title}", "exec")
                exec(compiled, namespace)  # noqa: S102 - running the page's code is the test
            except Exception as exc:
                raise AssertionError(f"block {title!r} of {page} failed: {exc!r}") from exc
        ran += 1
    return ran


def test_guide_blocks_run(tmp_path, tmp_home):
    assert _run_page(GUIDE, tmp_path) >= 3


def test_subprocess_page_blocks_run(tmp_path, tmp_home):
    assert _run_page(SUBPROCESS, tmp_path) >= 2


def test_guide_excerpts_match_the_template():
    excerpts = EXCERPT.findall(GUIDE.read_text())
    assert len(excerpts) >= 4
    for path, code in excerpts:
        source = (REPO / path).read_text()
        lines = [ln for ln in code.splitlines() if ln.strip()]
        at = 0
        for line in lines:  # every line, in order
            found = source.find(line, at)
            assert found >= 0, f"excerpt of {path} no longer matches the source: {line!r}"
            at = found + len(line)
