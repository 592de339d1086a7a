"""Where the test infrastructure lives and what it is called.

The one source of truth is ``scripts/infra.env`` (also sourced by the shell scripts)::

    >>> from helpers.infra import load_settings, test_images
    >>> load_settings()["DAGSTER_VERSION"]        # doctest: +SKIP
    '1.13.28'
    >>> test_images().busybox                      # doctest: +SKIP
    'orchestrator-test/busybox:1'

Environment variables of the same name override the file, as in the scripts.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"
INFRA_ENV = SCRIPTS / "infra.env"

__all__ = [
    "INFRA_ENV",
    "REPO_ROOT",
    "SCRIPTS",
    "TestImages",
    "dagster_venv",
    "dagster_venv_python",
    "docker_engine_answers",
    "in_ci",
    "load_settings",
    "parse_env_file",
    "run_script",
    "test_images",
]


def in_ci() -> bool:
    """True when running under CI (``CI`` set to anything but empty/0/false/no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse plain ``KEY=VALUE`` lines (``#`` comments, blank lines, optional quotes).

    Raises ValueError naming the file and line for anything else, so a broken
    ``scripts/infra.env`` fails loudly instead of silently dropping a setting.
    """
    values: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier() or key != key.strip():
            raise ValueError(
                f"{path}:{lineno}: expected KEY=VALUE, got {raw!r}; "
                "fix the line (no spaces around '=', no 'export')"
            )
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


@lru_cache(maxsize=1)
def _file_settings() -> dict[str, str]:
    return parse_env_file(INFRA_ENV)


def load_settings() -> dict[str, str]:
    """Settings from ``scripts/infra.env``, with same-named environment variables winning."""
    return {key: os.environ.get(key, value) for key, value in _file_settings().items()}


@dataclass(frozen=True)
class TestImages:
    """Tags of the locally built test images (see ``scripts/build-test-images.sh``)."""

    __test__ = False  # not a test class, despite the name

    busybox: str
    """Static busybox: ``sh``, ``echo``, ``cat``, ... in ``/bin``; CMD ``sh``."""
    python: str
    """Debian minbase with Debian's ``python3`` (3.11); CMD ``python3``."""

    def all(self) -> tuple[str, ...]:
        return (self.busybox, self.python)


def test_images() -> TestImages:
    """The test image tags (not checking that they exist; the ``test_images`` fixture does)."""
    s = load_settings()
    return TestImages(busybox=s["ORCH_TEST_BUSYBOX_IMAGE"], python=s["ORCH_TEST_PYTHON_IMAGE"])


test_images.__test__ = False  # type: ignore[attr-defined]


def dagster_venv() -> Path:
    """The Dagster virtualenv directory (``$ORCH_DAGSTER_VENV`` or ``.venvs/dagster``)."""
    return Path(os.environ.get("ORCH_DAGSTER_VENV") or REPO_ROOT / ".venvs" / "dagster")


def dagster_venv_python() -> Path:
    return dagster_venv() / "bin" / "python"


def docker_engine_answers(timeout: float = 20.0) -> tuple[bool, str]:
    """Ask ``docker info`` whether an engine answers; returns (ok, reason-if-not)."""
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except FileNotFoundError:
        return False, "the docker client is not installed"
    except subprocess.TimeoutExpired:
        return False, f"'docker info' did not answer within {timeout:.0f}s"
    if proc.returncode != 0 or not proc.stdout.strip():
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return False, detail[-1] if detail else f"'docker info' exited {proc.returncode}"
    return True, ""


def run_script(name: str, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/<name>`` with bash, capturing output (stdout and stderr as text)."""
    return subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
