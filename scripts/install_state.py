"""Helper for scripts/test: is the project installed (editable, with every extra) and current?

    python scripts/install_state.py extras          # print "dev,all,..." (every extra in pyproject)
    python scripts/install_state.py check STAMP     # exit 0 if nothing needs (re)installing
    python scripts/install_state.py write STAMP     # record the current state after an install

"Current" means: the stamp matches pyproject.toml, this interpreter and this checkout; the
`orchestrator` package imports from this checkout (an editable install elsewhere, e.g. another
clone, is not ours); and every direct requirement of every extra is installed at an accepted
version. Stdlib only, except `packaging` when present (pip always brings one along).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def _project() -> dict:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)["project"]


def extras() -> list[str]:
    return sorted(_project().get("optional-dependencies", {}))


def _fingerprint() -> str:
    h = hashlib.sha256()
    h.update(PYPROJECT.read_bytes())
    # The environment, not the spelling of the interpreter's name (python vs python3).
    h.update(f"{sys.prefix}|{Path(sys.executable).resolve()}".encode())
    h.update(str(ROOT).encode())
    return h.hexdigest()


def _requirements() -> list[str]:
    project = _project()
    name = project["name"]
    reqs = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        reqs += [r for r in group if not re.match(rf"^{re.escape(name)}\s*\[", r)]
    return reqs


def _problems() -> list[str]:
    problems = []
    spec = importlib.util.find_spec("orchestrator")
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is None or ROOT not in origin.parents:
        problems.append(f"orchestrator imports from {origin}, not from {ROOT}")
    try:
        from packaging.requirements import Requirement
    except ImportError:  # no packaging: fall back to presence checks only
        Requirement = None  # type: ignore[assignment,misc]
    for raw in _requirements():
        if Requirement is None:
            dist = re.split(r"[\s\[<>=!~;]", raw, maxsplit=1)[0]
            specifier = None
        else:
            req = Requirement(raw)
            if req.marker is not None and not req.marker.evaluate():
                continue
            dist, specifier = req.name, req.specifier
        try:
            have = metadata.version(dist)
        except metadata.PackageNotFoundError:
            problems.append(f"{raw}: not installed")
            continue
        if specifier is not None and not specifier.contains(have, prereleases=True):
            problems.append(f"{raw}: have {have}")
    return problems


def main(argv: list[str]) -> int:
    if argv[:1] == ["extras"]:
        print(",".join(extras()))
        return 0
    if len(argv) == 2 and argv[0] in ("check", "write"):
        stamp = Path(argv[1])
        if argv[0] == "write":
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(_fingerprint())
            return 0
        if not stamp.is_file() or stamp.read_text() != _fingerprint():
            print("pyproject.toml, the interpreter or the checkout changed since the last install")
            return 1
        problems = _problems()
        for p in problems:
            print(p)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
