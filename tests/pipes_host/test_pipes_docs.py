"""docs/concepts/pipes.md and docs/guides/external-processes.md: every Python example runs (in
order, in one namespace per page, in a fresh directory) and prints exactly the ``text`` block
that follows it."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
from ph_helpers import REPO

DOC = REPO / "docs" / "concepts" / "pipes.md"
GUIDE = REPO / "docs" / "guides" / "external-processes.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize(("doc", "count"), [(DOC, 5), (GUIDE, 4)], ids=["concept", "guide"])
def test_python_examples_run_and_print_what_the_page_says(doc, count, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the scripts import pipes_client
    monkeypatch.chdir(tmp_path)
    blocks = [(m.group(1), m.group(2)) for m in _BLOCK.finditer(doc.read_text("utf-8"))]
    namespace: dict = {"__name__": "__doc_example__"}
    ran = checked = 0
    for i, (lang, body) in enumerate(blocks):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = compile(body, f"{doc.name}[block {i}]", "exec")
            exec(code, namespace)  # noqa: S102 - running the documented examples is the point
        ran += 1
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            assert out.getvalue() == blocks[i + 1][1], f"output of block {i} differs"
            checked += 1
    assert ran == checked == count


def test_every_public_name_is_documented():
    from orchestrator import pipes

    text = DOC.read_text("utf-8")
    undocumented = [n for n in pipes.__all__ if n not in text and n not in (
        "PipesContextInjector", "PipesMessageReader", "PipesSession",
        "PipesClientCompletedInvocation", "PipesTempFileMessageReader", "plain_line_parser")]
    assert undocumented == []


@pytest.mark.parametrize("modname", ["orchestrator.pipes", "orchestrator.launchers"])
def test_public_names_sorted_and_importable(modname):
    import importlib

    mod = importlib.import_module(modname)
    assert list(mod.__all__) == sorted(mod.__all__)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def test_import_is_light():
    """Importing the package pulls in neither the session machinery nor any launcher."""
    import subprocess
    import sys

    code = ("import sys, orchestrator.pipes, orchestrator.launchers; "
            "print(sorted(m for m in sys.modules if m.startswith(('orchestrator.pipes.', "
            "'orchestrator.launchers.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['orchestrator.launchers.base']"
