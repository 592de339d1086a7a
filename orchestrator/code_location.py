"""Code locations: where a :class:`~orchestrator.definitions.Definitions` is loaded from.

A code location is a Python file (``-f path/to/file.py``) or an importable module
(``-m package.module``) holding a ``Definitions`` object, by default in the attribute
``defs``. A ``workspace.yaml`` names several of them (Dagster's shape)::

    load_from:
      - python_file: analytics/definitions.py      # relative to workspace.yaml
        location_name: analytics                   # optional (default: the file's stem)
        attribute: defs                            # optional
      - python_module: warehouse.definitions       # optional: working_directory, attribute
      - python_file: {relative_path: ml/defs.py, location_name: ml}   # nested form also works

Load one from Python::

    from orchestrator.code_location import CodeLocationOrigin

    origin = CodeLocationOrigin.for_file("examples/quickstart/definitions.py")
    defs = origin.load()                       # a Definitions
    origin.pointer                             # "file:/abs/.../definitions.py:defs"
    CodeLocationOrigin.from_pointer(origin.pointer).load()   # the same definitions again

Runs record their origin's :attr:`CodeLocationOrigin.pointer` in ``RunRecord.code_location``
so that ``orchestrator runs reexecute`` can rebuild the job later.

Errors are :class:`CodeLocationError` (a :class:`~orchestrator.errors.DefinitionError`):
an import failure carries the user's traceback (the frames of their code, not ours) in
``user_traceback`` and its message ends with a hint on how to fix it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DefinitionError

if TYPE_CHECKING:
    from .definitions import Definitions

__all__ = [
    "DEFAULT_ATTRIBUTE",
    "WORKSPACE_FILE",
    "CodeLocationError",
    "CodeLocationOrigin",
    "load_workspace",
    "resolve_origins",
    "select_origin",
]

DEFAULT_ATTRIBUTE = "defs"
WORKSPACE_FILE = "workspace.yaml"
_PKG_DIR = str(Path(__file__).resolve().parent)

HOW_TO_POINT = (
    "point at your code with -f path/to/definitions.py or -m package.module (add -a NAME if "
    "the Definitions object is not called 'defs'), or -w path/to/workspace.yaml, or run the "
    f"command in a directory that has a {WORKSPACE_FILE} or a pyproject.toml with "
    "[tool.orchestrator] module_name = \"...\" (or python_file = \"...\")"
)


class CodeLocationError(DefinitionError):
    """A code location could not be found, imported, or has no Definitions.

    ``location`` is the location's name (or the file/module), ``user_traceback`` the
    traceback of the user's import error (their frames only), or ``None``.
    """

    def __init__(self, message: str, *, location: str | None = None,
                 user_traceback: str | None = None) -> None:
        super().__init__(message)
        self.location = location
        self.user_traceback = user_traceback


@dataclass(frozen=True)
class CodeLocationOrigin:
    """How to load one code location: a file or module, the attribute, and its name.

    ``kind`` is ``"file"`` (``target`` is an absolute path) or ``"module"`` (``target`` is a
    dotted module name). ``attribute`` None means "``defs``, else the only Definitions in
    the module". ``working_directory`` is put first on ``sys.path`` while importing.
    """

    kind: str
    target: str
    attribute: str | None = None
    location_name: str | None = None
    working_directory: str | None = None
    _loaded_attribute: list[str] = field(default_factory=list, compare=False, repr=False)

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def for_file(cls, path: str | os.PathLike[str], attribute: str | None = None,
                 location_name: str | None = None,
                 working_directory: str | None = None) -> CodeLocationOrigin:
        """A Python file (relative paths are taken from the current directory)."""
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = Path.cwd() / p
        p = Path(os.path.normpath(p))
        return cls("file", str(p), attribute, location_name, working_directory)

    @classmethod
    def for_module(cls, module: str, attribute: str | None = None,
                   location_name: str | None = None,
                   working_directory: str | None = None) -> CodeLocationOrigin:
        """An importable module (the current directory is on the import path)."""
        if not module or not all(part.isidentifier() for part in module.split(".")):
            raise CodeLocationError(
                f"module name {module!r} is not a dotted Python module name (like "
                f"'my_project.definitions'); for a file use -f path/to/file.py",
                location=module)
        return cls("module", module, attribute, location_name,
                   os.path.abspath(working_directory) if working_directory else None)

    @classmethod
    def from_pointer(cls, pointer: str) -> CodeLocationOrigin:
        """Parse a pointer recorded on a run: ``file:/abs/path.py:defs`` or
        ``module:pkg.mod:defs`` (optionally followed by ``@/working/dir`` for modules)."""
        kind, sep, rest = pointer.partition(":")
        target, sep2, attribute = rest.rpartition(":")
        if not sep or not sep2 or kind not in ("file", "module") or not target or \
                not attribute.isidentifier():
            raise CodeLocationError(
                f"code location pointer {pointer!r} is not 'file:/path/to/file.py:attribute' "
                f"or 'module:package.module:attribute'; pass -f or -m to say where the code "
                f"is", location=pointer)
        if kind == "file":
            return cls("file", target, attribute)
        module, _, wd = target.partition("@")
        return cls("module", module, attribute, None, wd or None)

    # -- identity ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The location's name: ``location_name``, else the file's stem or the module name."""
        if self.location_name:
            return self.location_name
        if self.kind == "file":
            return Path(self.target).stem
        return self.target

    @property
    def pointer(self) -> str:
        """A string from which :meth:`from_pointer` rebuilds this origin (stored on runs).

        The attribute is the one actually used by the last :meth:`load` (or ``defs``)."""
        attr = self._loaded_attribute[-1] if self._loaded_attribute else (
            self.attribute or DEFAULT_ATTRIBUTE)
        if self.kind == "file":
            return f"file:{self.target}:{attr}"
        wd = f"@{self.working_directory}" if self.working_directory else ""
        return f"module:{self.target}{wd}:{attr}"

    def describe(self) -> str:
        return f"file {self.target}" if self.kind == "file" else f"module '{self.target}'"

    # -- loading ------------------------------------------------------------------------
    def load(self) -> Definitions:
        """Import the code and return its Definitions (raises :class:`CodeLocationError`)."""
        module = self._import()
        defs, attr = _find_definitions(module, self)
        self._loaded_attribute.append(attr)
        return defs

    def _import(self) -> Any:
        if self.kind == "file":
            return _import_file(self)
        return _import_module(self)


# -- importing ----------------------------------------------------------------------------
def _user_traceback(exc: BaseException) -> str:
    """The traceback of an import error without the frames of the orchestrator or importlib."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith("<frozen ")
              and not f.filename.startswith(_PKG_DIR + os.sep)]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


def _hint(exc: BaseException, origin: CodeLocationOrigin) -> str:
    if isinstance(exc, SyntaxError):
        return (f"fix the syntax error in {exc.filename}, line {exc.lineno}, then run the "
                f"command again")
    if isinstance(exc, ModuleNotFoundError):
        missing = exc.name or "?"
        return (f"module '{missing}' is not importable: install the package that provides it "
                f"(pip install ...), or, if it is part of your project, run the command from "
                f"your project's root or add that directory to PYTHONPATH")
    return ("the error was raised by your code while it was imported (see the traceback); "
            "fix it and run the command again")


def _import_error(exc: BaseException, origin: CodeLocationOrigin) -> CodeLocationError:
    tb = _user_traceback(exc)
    return CodeLocationError(
        f"could not load code location '{origin.name}' from {origin.describe()}: "
        f"{type(exc).__name__}: {exc}\n\n{tb}\n\nHint: {_hint(exc, origin)}",
        location=origin.name, user_traceback=tb)


def _prepend_sys_path(directory: str) -> None:
    if directory in sys.path:
        sys.path.remove(directory)
    sys.path.insert(0, directory)


def _module_name_for_file(path: Path) -> str:
    """The file's stem (like Dagster), unless another module of that name is loaded."""
    stem = path.stem if path.stem.isidentifier() else "_location"
    existing = sys.modules.get(stem)
    if existing is None and stem not in sys.stdlib_module_names:
        return stem
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return stem
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    return f"_orchestrator_location_{stem}_{digest}"


def _import_file(origin: CodeLocationOrigin) -> Any:
    path = Path(origin.target)
    if not path.exists():
        raise CodeLocationError(
            f"code location file {str(path)!r} does not exist (working directory: "
            f"{os.getcwd()!r}); check the path given to -f or in {WORKSPACE_FILE}",
            location=origin.name)
    if path.is_dir():
        raise CodeLocationError(
            f"code location {str(path)!r} is a directory, not a Python file; pass the file "
            f"that defines your Definitions (e.g. -f {path / 'definitions.py'}) or use -m "
            f"for a package", location=origin.name)
    if path.suffix != ".py":
        raise CodeLocationError(
            f"code location file {str(path)!r} is not a .py file; pass a Python file with -f",
            location=origin.name)
    name = _module_name_for_file(path)
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return existing
    _prepend_sys_path(origin.working_directory or str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always have one
        raise CodeLocationError(f"cannot import {path}", location=origin.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before executing: pickling and dataclasses need it
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise _import_error(exc, origin) from None
    return module


def _import_module(origin: CodeLocationOrigin) -> Any:
    _prepend_sys_path(origin.working_directory or os.getcwd())
    try:
        return importlib.import_module(origin.target)
    except ModuleNotFoundError as exc:
        parts = origin.target.split(".")
        own = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        if exc.name in own:
            raise CodeLocationError(
                f"could not load code location '{origin.name}': module '{exc.name}' was not "
                f"found (searched from {origin.working_directory or os.getcwd()!r}).\n\n"
                f"Hint: run the command from the directory that contains the package, add "
                f"it to PYTHONPATH, install your project (pip install -e .), or pass the file "
                f"with -f path/to/file.py", location=origin.name) from None
        raise _import_error(exc, origin) from None
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise _import_error(exc, origin) from None


def _find_definitions(module: Any, origin: CodeLocationOrigin) -> tuple[Definitions, str]:
    from .definitions import Definitions

    where = f"code location '{origin.name}' ({origin.describe()})"
    if origin.attribute:
        if not hasattr(module, origin.attribute):
            found = [n for n, v in vars(module).items() if isinstance(v, Definitions)]
            hint = f"; Definitions found: {', '.join(found)}" if found else ""
            raise CodeLocationError(
                f"{where} has no attribute '{origin.attribute}'{hint}. Fix -a/attribute, or "
                f"define {origin.attribute} = Definitions(...)", location=origin.name)
        value = getattr(module, origin.attribute)
        return _coerce(value, origin.attribute, where, origin), origin.attribute
    if hasattr(module, DEFAULT_ATTRIBUTE):
        value = getattr(module, DEFAULT_ATTRIBUTE)
        return _coerce(value, DEFAULT_ATTRIBUTE, where, origin), DEFAULT_ATTRIBUTE
    found = [(n, v) for n, v in vars(module).items() if isinstance(v, Definitions)]
    if len(found) == 1:
        return found[0][1], found[0][0]
    if not found:
        raise CodeLocationError(
            f"{where} defines no Definitions object: add `defs = Definitions(assets=[...])` "
            f"at module level, or pass -a NAME to name the attribute that holds it",
            location=origin.name)
    names = ", ".join(n for n, _ in found)
    raise CodeLocationError(
        f"{where} has several Definitions objects ({names}) and none is called "
        f"'{DEFAULT_ATTRIBUTE}'; choose one with -a NAME (or attribute: in "
        f"{WORKSPACE_FILE})", location=origin.name)


def _coerce(value: Any, attr: str, where: str, origin: CodeLocationOrigin) -> Definitions:
    from .definitions import Definitions

    if isinstance(value, Definitions):
        return value
    if callable(value) and not isinstance(value, type):
        try:
            made = value()
        except Exception as exc:  # noqa: BLE001 - any error of the user's factory
            raise CodeLocationError(
                f"{where}: calling '{attr}()' to build the Definitions failed: "
                f"{type(exc).__name__}: {exc}\n\n{_user_traceback(exc)}",
                location=origin.name, user_traceback=_user_traceback(exc)) from None
        if isinstance(made, Definitions):
            return made
        value = made
    raise CodeLocationError(
        f"{where}: '{attr}' is a {type(value).__name__}, not a Definitions; set "
        f"{attr} = Definitions(assets=[...]) (or pass -a with the right name)",
        location=origin.name)


# -- workspaces -------------------------------------------------------------------------
_FILE_KEYS = {"python_file", "attribute", "location_name", "working_directory"}
_MODULE_KEYS = {"python_module", "python_package", "attribute", "location_name",
                "working_directory"}


def load_workspace(path: str | os.PathLike[str]) -> list[CodeLocationOrigin]:
    """The code locations a ``workspace.yaml`` names, in order (names must be unique)."""
    p = Path(path).expanduser().absolute()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodeLocationError(f"workspace file {str(p)!r} does not exist; "
                                f"{HOW_TO_POINT}") from None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}, line {mark.line + 1}" if mark else str(p)
        raise CodeLocationError(f"workspace file {where}: invalid YAML: "
                                f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict) or "load_from" not in data:
        raise CodeLocationError(
            f"workspace file {p}: expected a mapping with a 'load_from' list, e.g.\n"
            f"load_from:\n  - python_file: definitions.py\n  - python_module: my_pkg.defs")
    unknown = set(data) - {"load_from"}
    if unknown:
        raise CodeLocationError(f"workspace file {p}: unknown top-level keys "
                                f"{sorted(unknown)}; only 'load_from' is allowed")
    entries = data["load_from"]
    if not isinstance(entries, list) or not entries:
        raise CodeLocationError(f"workspace file {p}: 'load_from' must be a non-empty list of "
                                f"entries with python_file or python_module")
    base = p.parent
    origins = [_workspace_entry(entry, i, p, base) for i, entry in enumerate(entries)]
    seen: dict[str, int] = {}
    for i, o in enumerate(origins):
        if o.name in seen:
            raise CodeLocationError(
                f"workspace file {p}: load_from[{seen[o.name]}] and load_from[{i}] are both "
                f"named '{o.name}'; give one a different location_name")
        seen[o.name] = i
    return origins


def _workspace_entry(entry: Any, i: int, path: Path, base: Path) -> CodeLocationOrigin:
    where = f"workspace file {path}: load_from[{i}]"
    if not isinstance(entry, dict):
        raise CodeLocationError(f"{where}: expected a mapping like {{python_file: defs.py}}, "
                                f"got {entry!r}")
    kinds = [k for k in ("python_file", "python_module", "python_package") if k in entry]
    if len(kinds) != 1:
        raise CodeLocationError(f"{where}: needs exactly one of python_file or python_module, "
                                f"got {sorted(entry) or 'nothing'}")
    kind = kinds[0]
    fields = dict(entry)
    value = fields.pop(kind)
    if isinstance(value, dict):  # Dagster's nested form
        nested = dict(value)
        name_key = "relative_path" if kind == "python_file" else (
            "module_name" if kind == "python_module" else "package_name")
        if name_key not in nested:
            raise CodeLocationError(f"{where}: {kind} needs '{name_key}'")
        value = nested.pop(name_key)
        fields.update(nested)
    allowed = (_FILE_KEYS if kind == "python_file" else _MODULE_KEYS) - {kind}
    unknown = set(fields) - allowed
    if unknown:
        raise CodeLocationError(f"{where}: unknown keys {sorted(unknown)}; allowed: "
                                f"{sorted(allowed)}")
    if not isinstance(value, str) or not value:
        raise CodeLocationError(f"{where}: {kind} must be a non-empty string, got {value!r}")
    for key in ("attribute", "location_name", "working_directory"):
        if key in fields and not isinstance(fields[key], str):
            raise CodeLocationError(f"{where}: {key} must be a string, got {fields[key]!r}")
    wd = fields.get("working_directory")
    if wd is not None and not os.path.isabs(wd):
        wd = str(base / wd)
    if kind == "python_file":
        file = Path(value) if os.path.isabs(value) else base / value
        return CodeLocationOrigin.for_file(file, fields.get("attribute"),
                                           fields.get("location_name"), wd)
    return CodeLocationOrigin.for_module(value, fields.get("attribute"),
                                         fields.get("location_name"), wd or str(base))


def resolve_origins(*, python_file: str | None = None, module_name: str | None = None,
                    attribute: str | None = None, workspace: str | None = None,
                    cwd: str | os.PathLike[str] | None = None) -> list[CodeLocationOrigin]:
    """The code locations a command points at: ``-f``, ``-m`` or ``-w`` (one of them), else
    ``workspace.yaml`` in the current directory, else ``[tool.orchestrator]`` in its
    ``pyproject.toml``, else a :class:`CodeLocationError` that says how to point at code."""
    given = [n for n, v in (("-f/--python-file", python_file), ("-m/--module-name", module_name),
                            ("-w/--workspace", workspace)) if v]
    if len(given) > 1:
        raise CodeLocationError(f"{' and '.join(given)} were both given; use only one of them")
    if python_file:
        return [CodeLocationOrigin.for_file(python_file, attribute)]
    if module_name:
        return [CodeLocationOrigin.for_module(module_name, attribute,
                                              working_directory=os.getcwd())]
    if attribute:
        raise CodeLocationError("-a/--attribute needs -f or -m to say which file or module it "
                                "belongs to")
    if workspace:
        return load_workspace(workspace)
    here = Path(cwd if cwd is not None else os.getcwd())
    default = here / WORKSPACE_FILE
    if default.exists():
        return load_workspace(default)
    from_pyproject = _pyproject_origin(here / "pyproject.toml")
    if from_pyproject is not None:
        return [from_pyproject]
    raise CodeLocationError(f"no code location given, no {WORKSPACE_FILE} and no "
                            f"[tool.orchestrator] in pyproject.toml in {here}; {HOW_TO_POINT}")


_PYPROJECT_KEYS = {"python_file", "module_name", "attribute", "location_name"}


def _pyproject_origin(path: Path) -> CodeLocationOrigin | None:
    """The location named by ``[tool.orchestrator]`` in pyproject.toml, if any::

        [tool.orchestrator]
        module_name = "my_project.definitions"     # or python_file = "src/definitions.py"
    """
    if not path.exists():
        return None
    try:
        import tomllib
    except ImportError:  # Python 3.10: no TOML reader in the standard library
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CodeLocationError(f"{path}: cannot read it: {exc}") from None
    section = data.get("tool", {}).get("orchestrator")
    if section is None:
        return None
    where = f"{path} [tool.orchestrator]"
    if not isinstance(section, dict):
        raise CodeLocationError(f"{where} must be a table")
    unknown = set(section) - _PYPROJECT_KEYS
    if unknown:
        raise CodeLocationError(f"{where}: unknown keys {sorted(unknown)}; allowed: "
                                f"{sorted(_PYPROJECT_KEYS)}")
    for key, value in section.items():
        if not isinstance(value, str) or not value:
            raise CodeLocationError(f"{where}: {key} must be a non-empty string, got "
                                    f"{value!r}")
    if ("python_file" in section) == ("module_name" in section):
        raise CodeLocationError(f"{where}: set exactly one of python_file or module_name")
    if "python_file" in section:
        file = Path(section["python_file"])
        return CodeLocationOrigin.for_file(file if file.is_absolute() else path.parent / file,
                                           section.get("attribute"),
                                           section.get("location_name"))
    return CodeLocationOrigin.for_module(section["module_name"], section.get("attribute"),
                                         section.get("location_name"), str(path.parent))


def select_origin(origins: Sequence[CodeLocationOrigin],
                  location: str | None) -> CodeLocationOrigin:
    """The one origin a command works on: the only one, or the one named ``location``."""
    names = [o.name for o in origins]
    if location is None:
        if len(origins) == 1:
            return origins[0]
        raise CodeLocationError(f"the workspace has {len(origins)} code locations "
                                f"({', '.join(names)}); choose one with --location NAME")
    for o in origins:
        if o.name == location:
            return o
    import difflib

    close = difflib.get_close_matches(location, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise CodeLocationError(f"no code location named '{location}'{hint}; locations: "
                            f"{', '.join(names)}")

