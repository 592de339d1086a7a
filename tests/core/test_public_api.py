"""The public API: a sorted __all__ whose names all resolve, and a light import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orchestrator

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pydantic", "rich", "click", "yaml", "sqlite3")


def test_all_is_sorted_and_unique():
    assert orchestrator.__all__ == sorted(orchestrator.__all__)
    assert len(set(orchestrator.__all__)) == len(orchestrator.__all__)


def test_every_public_name_resolves():
    values = [getattr(orchestrator, n) for n in orchestrator.__all__]
    assert all(v is not None for v in values)
    assert set(orchestrator.__all__) <= set(dir(orchestrator))


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        orchestrator.nope  # noqa: B018


def test_dagster_names_used_in_the_docs_are_exported():
    for name in ("asset", "multi_asset", "asset_check", "AssetSpec", "AssetIn", "AssetOut",
                 "AssetKey", "AssetSelection", "AssetCheckResult", "AssetCheckSpec",
                 "MaterializeResult", "Definitions", "define_asset_job", "materialize",
                 "op", "graph", "job", "In", "Out", "DynamicOut", "DynamicOutput", "Output",
                 "RetryPolicy", "Backoff", "Jitter", "Failure", "RetryRequested",
                 "IOManager", "io_manager", "InputContext", "OutputContext",
                 "FilesystemIOManager", "InMemoryIOManager", "Config", "ConfigurableResource",
                 "resource", "EnvVar", "DagsterType", "build_asset_context",
                 "build_op_context", "AssetExecutionContext", "OpExecutionContext"):
        assert name in orchestrator.__all__, name


def _modules_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, env=env, cwd=REPO)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_orchestrator_is_light():
    mods = _modules_after("import orchestrator")
    loaded = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    assert loaded == [], f"'import orchestrator' imports {loaded}"


def test_defining_assets_and_jobs_stays_light():
    mods = _modules_after(
        "from orchestrator import asset, op, job, AssetSelection, Definitions, "
        "define_asset_job\n"
        "@asset\ndef a() -> int: return 1\n"
        "@asset\ndef b(a: int) -> int: return a\n"
        "@op\ndef o(): return 1\n"
        "@job\ndef j(): o()\n"
        "Definitions(assets=[a, b], jobs=[j, define_asset_job('x', '+b')]).validate()\n")
    loaded = sorted(m for m in mods if m.split(".")[0] in ("rich", "click", "yaml", "sqlite3"))
    assert loaded == [], f"defining assets imports {loaded}"
