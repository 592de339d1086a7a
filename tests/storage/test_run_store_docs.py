"""docs/concepts/run-store.md: every Python example runs, and prints what the page shows.

A ```python block followed directly by a ```text block must print exactly that text. The
blocks run in order in one namespace, in a fresh directory with ORCHESTRATOR_HOME set.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "concepts" / "run-store.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def _blocks():
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def test_python_examples_run_and_print_what_the_page_says(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    blocks = _blocks()
    namespace: dict = {"__name__": "__doc_example__"}
    checked = ran = 0
    for i, (lang, body) in enumerate(blocks):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(body, f"{DOC.name}[block {i}]", "exec"), namespace)
        ran += 1
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            assert out.getvalue() == blocks[i + 1][1], f"output of block {i} differs"
            checked += 1
    assert ran >= 4 and checked >= 4
    assert (tmp_path / "home" / "runs.db").exists()


def test_yaml_example_is_a_valid_instance_config(tmp_path):
    from orchestrator.instance import Instance

    (yaml_text,) = [body for lang, body in _blocks() if lang == "yaml"]
    spec = yaml.safe_load(yaml_text)
    spec["run_storage"]["config"]["path"] = str(tmp_path / "elsewhere" / "runs.db")
    home = tmp_path / "home"
    home.mkdir()
    (home / "orchestrator.yaml").write_text(yaml.safe_dump(spec))
    with Instance.from_home(home) as inst:
        assert inst.run_storage.path == spec["run_storage"]["config"]["path"]
