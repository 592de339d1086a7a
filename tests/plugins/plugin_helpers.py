"""Helpers shared by the plugin tests (imported by conftest and test modules)."""

from __future__ import annotations

import itertools
import os
import textwrap
from pathlib import Path

#: The working tree under test. Subprocesses get it first on PYTHONPATH so that they
#: import this tree's ``orchestrator`` even if the editable install points elsewhere.
REPO = Path(__file__).resolve().parents[2]

ENV_VARS = ("ORCHESTRATOR_PLUGINS", "ORCHESTRATOR_TRACE_PLUGINS", "ORCHESTRATOR_PLUGINS_STRICT")
_counter = itertools.count()


def unique(prefix: str) -> str:
    """A module name never used before in this process (sys.modules caches imports)."""
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


def write_dist(
    root: Path,
    dist_name: str,
    module: str,
    source: str,
    *,
    version: str = "1.0",
    entry_point: str | None = None,
    entry_value: str | None = None,
) -> Path:
    """Write module ``module`` and a dist-info declaring it as an orchestrator plugin."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist_name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(
        f"[orchestrator.plugins]\n{entry_point or dist_name} = {entry_value or module}\n"
    )
    (info / "top_level.txt").write_text(module + "\n")
    return root


def subprocess_env(*paths: Path, **extra: str) -> dict[str, str]:
    """Environment for a subprocess that sees ``paths`` (and this working tree) first on
    PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    entries = [*(str(p) for p in paths), str(REPO), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(e for e in entries if e)
    env.update(extra)
    return env
