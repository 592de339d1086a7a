"""Helpers of the CLI tests: the real console script in a subprocess, a sample project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def console_script() -> list[str]:
    """The ``orchestrator`` console script of this interpreter (else ``python -m``)."""
    script = Path(sys.executable).with_name("orchestrator")
    if script.exists():
        return [str(script)]
    found = shutil.which("orchestrator")
    return [found] if found else [sys.executable, "-m", "orchestrator"]


class Cli:
    """Runs ``orchestrator ARGS`` in a subprocess with a private home and working dir."""

    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd
        self.env = {**os.environ, "ORCHESTRATOR_HOME": str(home), "NO_COLOR": "1",
                    "PYTHONPATH": os.pathsep.join(
                        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(
                            os.pathsep) if p]),
                    "COLUMNS": "200"}
        self.env.pop("ORCHESTRATOR_LOG_LEVEL", None)

    def __call__(self, *args: str, cwd: Path | None = None, timeout: float = 120,
                 module: bool = False) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "orchestrator"] if module else console_script()
        return subprocess.run([*cmd, *args], cwd=cwd or self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def popen(self, *args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen([*console_script(), *args], cwd=cwd or self.cwd, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


#: A small project: numbers → total (fails while fail.flag exists next to the file) → check.
PROJECT = '''
import logging
from pathlib import Path

from orchestrator import (AssetCheckResult, Definitions, asset, asset_check,
                          define_asset_job)

HERE = Path(__file__).parent


@asset(group_name="raw", description="Some numbers.")
def numbers(context) -> list[int]:
    context.log.info("making numbers")
    return [1, 2, 3]


@asset
def total(context, numbers: list[int]) -> int:
    if (HERE / "fail.flag").exists():
        raise ValueError("fail.flag is present")
    context.log.warning("total is %s", sum(numbers))
    return sum(numbers)


@asset_check(asset=total)
def total_positive(total: int) -> AssetCheckResult:
    return AssetCheckResult(passed=total > 0)


defs = Definitions(assets=[numbers, total], asset_checks=[total_positive],
                   jobs=[define_asset_job("everything", "*")])
'''
