"""The package's surface: exports, and loading without importing dbt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orchestrator_dbt

ROOT = Path(__file__).resolve().parents[2]


def test_all_is_sorted_and_importable() -> None:
    assert orchestrator_dbt.__all__ == sorted(orchestrator_dbt.__all__)
    for name in orchestrator_dbt.__all__:
        assert getattr(orchestrator_dbt, name) is not None


def test_loading_and_specs_never_import_dbt(tiny_doc, write_json) -> None:
    """The whole loading path (index, cache, specs, @dbt_assets) runs without dbt imported."""
    path = write_json(tiny_doc)
    code = f"""
import json, sys
from orchestrator_dbt import DbtCliResource, build_dbt_specs, dbt_assets, load_manifest
m = load_manifest({str(path)!r}, use_cache=False)
specs = build_dbt_specs(m)

@dbt_assets(manifest=m)
def tiny(context, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()

heavy = sorted(n for n in sys.modules if n == "dbt" or n.startswith(("dbt.", "agate", "duckdb")))
print(json.dumps({{"heavy": heavy, "assets": len(specs.assets)}}))
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "integrations")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"heavy": [], "assets": 2}
