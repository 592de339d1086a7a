"""The layout's rules, checked on the source: the core never imports a backend or an
integration, and the external side (pipes_client, pipes_protocol) never imports the
orchestrator and needs nothing beyond the standard library at import time."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY_ADDONS = {p.name for d in ("plugins", "integrations") for p in (ROOT / d).iterdir()
                      if (p / "__init__.py").exists()}


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(top-level module, line, at module level?) of every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((a.name.split(".")[0], child.lineno, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module.split(".")[0], child.lineno, top))
            in_function = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            type_checking = isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(
                child.test)
            visit(child, top and not in_function and not type_checking)

    visit(tree, True)
    return found


def _py_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_there_are_addons_to_check():
    assert {"orchestrator_docker", "orchestrator_dbt", "orchestrator_arrow"} <= FIRST_PARTY_ADDONS


def test_core_never_imports_a_backend_or_an_integration():
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}"
           for p in _py_files("orchestrator") for mod, line, _ in _imports(p)
           if mod in FIRST_PARTY_ADDONS or mod == "pipes_client"]
    assert not bad, "the core must not depend on plugins/integrations/the client:\n" + \
        "\n".join(bad)


def test_external_side_never_imports_the_orchestrator():
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}"
           for pkg in ("pipes_client", "pipes_protocol") for p in _py_files(pkg)
           for mod, line, _ in _imports(p)
           if mod == "orchestrator" or mod in FIRST_PARTY_ADDONS]
    assert not bad, "\n".join(bad)


def test_external_side_imports_only_the_standard_library_at_import_time():
    allowed = set(sys.stdlib_module_names) | {"pipes_protocol", "pipes_client", "__future__"}
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod} at module level"
           for pkg in ("pipes_client", "pipes_protocol") for p in _py_files(pkg)
           for mod, line, top in _imports(p) if top and mod not in allowed]
    assert not bad, ("optional libraries (fsspec, pyarrow) must be imported inside the "
                     "functions that need them:\n" + "\n".join(bad))


def test_protocol_codec_needs_nothing_but_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"pipes_protocol", "__future__"}
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}"
           for p in _py_files("pipes_protocol") for mod, line, _ in _imports(p)
           if mod not in allowed]
    assert not bad, "\n".join(bad)
