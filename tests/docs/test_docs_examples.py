"""Every ```python block in docs/**/*.md runs, so the documentation cannot rot.

Blocks of one page run in order in one namespace (a later block may use what an earlier
one defined), each page in a fresh temporary working directory with its own
``ORCHESTRATOR_HOME``. A block that needs an external service opts out with an HTML comment
on the line just before its fence::

    <!-- skip-example -->
    ```python
    ...
    ```

A block introduced by ``<!-- file: path -->`` is the content of a file: it is written to
that path in the working directory (later examples use it) instead of being run. A block
introduced by ``<!-- excerpt: path -->`` quotes a source file and is not run
either, nor is a block titled ``client: ...`` (```` ```python title="client: python" ````):
that is a program for an external process, which the page's own test runs under a real
host.

The working directory holds a copy of the repository's ``examples/``, so pages can refer to
``examples/quickstart/definitions.py`` as a reader in a checkout would, and the namespace
has ``REPO``, the repository root (for examples that start a Python subprocess needing
the checkout on ``PYTHONPATH``).

A failing page is reported by its path (the test id) with the block's line in the page and
the traceback, whose frames point at the Markdown file's own line numbers.
"""

from __future__ import annotations

import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
SKIP_MARK = "<!-- skip-example -->"
#: ``<!-- excerpt: path/to/file.py -->``: the block quotes part of a source file (checked
#: against it by the page's own test); it is not a runnable example.
EXCERPT_MARK = "<!-- excerpt:"
#: ``<!-- file: path -->``: the block is the content of a file the page's later examples use;
#: it is written to that path (relative to the working directory) instead of being run.
FILE_MARK = "<!-- file:"
_CLIENT_TITLE = re.compile(r'title="client:')
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the first code line in the page
    code: str
    skipped: bool
    file: str | None = None  # ``<!-- file: path -->``: written there instead of run


def extract_blocks(text: str) -> list[Block]:
    """The fenced code blocks whose info string starts with ``python`` (``py`` too)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m.group("fence"), m.group("indent")
        info = m.group("info").strip().split()
        lang = info[0].lower() if info else ""
        j = i + 1
        body: list[str] = []
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) <= {fence[0]}:
                break
            body.append(lines[j].removeprefix(indent))
            j += 1
        prev = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        if lang not in ("python", "py", "python3") and prev.startswith(FILE_MARK):
            blocks.append(Block(i + 2, "\n".join(body) + "\n", False,
                                prev[len(FILE_MARK):].removesuffix("-->").strip()))
        elif lang in ("python", "py", "python3"):
            skipped = (prev == SKIP_MARK or prev.startswith(EXCERPT_MARK)
                       or _CLIENT_TITLE.search(m.group("info")) is not None)
            target = None
            if prev.startswith(FILE_MARK) and prev.endswith("-->"):
                target = prev[len(FILE_MARK):-3].strip()
            blocks.append(Block(i + 2, "\n".join(body) + "\n", skipped, target))
        i = j + 1
    return blocks


def doc_pages() -> list[Path]:
    """Every page under docs/ with a runnable block, and the README."""
    pages = [*DOCS.rglob("*.md"), DOCS.parent / "README.md"]
    return sorted(p for p in pages
                  if any(not b.skipped for b in extract_blocks(p.read_text(encoding="utf-8"))))


def run_page(page: Path, root: Path = DOCS.parent) -> None:
    """Run the page's blocks in order in one namespace; raise AssertionError naming the
    page and line of the first block that fails."""
    rel = page.relative_to(root)
    # a real module, so that code looking classes up by module (pydantic's forward
    # references, pickle, dataclasses) finds what the page defined
    module = types.ModuleType("__docs_example__")
    module.__file__ = str(page)
    module.__dict__["REPO"] = str(root)
    saved = sys.modules.get(module.__name__)
    sys.modules[module.__name__] = module
    try:
        for block in extract_blocks(page.read_text(encoding="utf-8")):
            if block.skipped:
                continue
            if block.file is not None:
                target = Path(block.file)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.code, encoding="utf-8")
                continue
            # pad so that tracebacks give the Markdown file's line numbers
            source = "\n" * (block.line - 1) + block.code
            try:
                exec(compile(source, str(page), "exec"), module.__dict__)  # noqa: S102
            except BaseException as exc:  # every failure is reported
                if isinstance(exc, KeyboardInterrupt):
                    raise
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next
                                                        or exc.__traceback__))
                raise AssertionError(
                    f"{rel}: the example starting at line {block.line} failed:\n{tb}") from None
    finally:
        if saved is None:
            sys.modules.pop(module.__name__, None)
        else:
            sys.modules[module.__name__] = saved


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "home"
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(home))
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "argv", [sys.argv[0]])
    import shutil

    shutil.copytree(DOCS.parent / "examples", work / "examples",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build",
                                                  ".orchestrator", "node_modules"))
    return work


# Pages that do not run on their own in a fresh directory today. Each fails the suite as
# soon as it passes (strict xfail), so the entry is removed when the page is fixed.
KNOWN_FAILURES: dict[str, str] = {
}


# Pages whose examples need set-up that only their own harness does (local test images in
# place of public ones, an installed plugin template, a prepared dbt project): their own test
# runs every example of the page; this runner leaves them to it.
OWN_HARNESS: dict[str, str] = {
    "backends/docker.md": "tests/docker/test_docker_docs.py",
    "plugins/writing-a-backend.md": "tests/testing/test_backend_docs.py",
    "integrations/dbt.md": "tests/dbt/test_dbt_docs.py",
}
NEEDS_SETUP: dict[str, str] = {}


def _rel(page: Path) -> str:
    return str(page.relative_to(DOCS)) if page.is_relative_to(DOCS) else page.name


def _page_param(page: Path) -> object:
    rel = _rel(page)
    marks = []
    if rel in KNOWN_FAILURES:
        marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[rel], strict=True,
                                       raises=AssertionError))
    elif rel in NEEDS_SETUP:
        marks.append(pytest.mark.xfail(reason=NEEDS_SETUP[rel], strict=False,
                                       raises=AssertionError))
    return pytest.param(page, id=rel, marks=marks)


@pytest.mark.parametrize("page", [_page_param(p) for p in doc_pages()
                                  if _rel(p) not in OWN_HARNESS])
def test_docs_page_examples_run(page, page_env):
    run_page(page)


# -- the runner itself -----------------------------------------------------------------------------
def test_extract_blocks_order_languages_and_skip_marks():
    text = "\n".join([  # noqa: FLY002 - one line per page line, numbered
        "# Title",                    # 1
        "```python",                  # 2
        "x = 1",                      # 3
        "```",                        # 4
        "",                           # 5
        "```bash",                    # 6
        "echo no",                    # 7
        "```",                        # 8
        "<!-- skip-example -->",      # 9
        "```python",                  # 10
        "needs_a_server()",           # 11
        "```",                        # 12
        "- item:",                    # 13
        "  ````py title",             # 14
        "  y = x + 1",                # 15
        "  ````",                     # 16
        "<!-- excerpt: src/x.py -->",  # 17
        "```python",                  # 18
        "        indented_excerpt()",  # 19
        "```",                        # 20
    ])
    blocks = extract_blocks(text)
    assert [(b.line, b.code, b.skipped) for b in blocks] == [
        (3, "x = 1\n", False), (11, "needs_a_server()\n", True), (15, "y = x + 1\n", False),
        (19, "        indented_excerpt()\n", True)]


def test_runner_shares_a_namespace_and_reports_the_failing_line(tmp_path):
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text("```python\nvalue = 41\n```\n\ntext\n\n```python\n\nassert value == 41\n"
                    "raise ValueError('broken example')\n```\n")
    with pytest.raises(AssertionError) as exc:
        run_page(page, tmp_path)
    msg = str(exc.value)
    assert "docs/page.md: the example starting at line 8 failed" in msg
    assert f'File "{page}", line 10' in msg
    assert "ValueError: broken example" in msg


def test_every_page_runs_in_its_own_directory_and_home(page_env, tmp_path):
    import os

    assert Path.cwd() == page_env
    assert os.environ["ORCHESTRATOR_HOME"] == str(tmp_path / "home")


def test_concepts_index_links_every_concept_page_and_only_existing_pages():
    index = DOCS / "concepts" / "index.md"
    text = index.read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", text))
    for link in links:
        assert (index.parent / link).resolve().is_file(), f"index.md links missing {link}"
    pages = {p.name for p in index.parent.glob("*.md")} - {"index.md"}
    missing = sorted(pages - {Path(link).name for link in links if "/" not in link})
    assert missing == [], f"concepts/index.md does not link {missing}"


def test_pages_left_to_their_own_harness_have_one():
    root = DOCS.parent
    for page, harness in OWN_HARNESS.items():
        assert (DOCS / page).exists(), f"{page} is listed in OWN_HARNESS but does not exist"
        text = (root / harness).read_text(encoding="utf-8")
        assert Path(page).name in text, f"{harness} does not mention {page}"
