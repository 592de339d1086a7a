"""The benchmark's manifest generator (and a smoke run of the benchmark itself)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from orchestrator_dbt import build_dbt_specs, load_manifest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.system


def _gen_module():
    spec = importlib.util.spec_from_file_location(
        "gen_dbt_manifest", ROOT / "benchmarks" / "gen_dbt_manifest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def template(passing_manifest_path):
    return json.loads(passing_manifest_path.read_text())


def test_generated_manifest_is_layered_and_loads(tmp_path, template) -> None:
    gen = _gen_module()
    doc = gen.generate(template, n_models=200, seed=3)
    kinds = Counter(n["resource_type"] for n in doc["nodes"].values())
    assert kinds["model"] == 200 and kinds["seed"] == 4 and kinds["snapshot"] == 2
    assert kinds["test"] > 300
    assert len(doc["sources"]) == 20 and len(doc["unit_tests"]) == 4
    assert len(doc["macros"]) > 400  # dbt's and the adapter's, plus the project's
    assert doc["metadata"]["dbt_schema_version"] == template["metadata"]["dbt_schema_version"]
    known = set(doc["nodes"]) | set(doc["sources"])
    for uid, n in doc["nodes"].items():
        assert set(n["depends_on"].get("nodes", [])) <= known, uid
    assert doc["parent_map"]["model.bench_shop." + "stg_sales__00000"] == [
        doc["nodes"]["model.bench_shop.stg_sales__00000"]["depends_on"]["nodes"][0]]

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(doc))
    manifest = load_manifest(path, use_cache=False)
    mats = Counter(n.materialized for n in manifest.by_resource_type("model"))
    assert set(mats) == {"view", "table", "incremental", "ephemeral"}
    generic = [t for t in manifest.tests.values() if t.kind == "generic"]
    assert {t.test_name for t in generic} == {"not_null", "unique", "accepted_values",
                                              "relationships"}
    assert all(t.attached_node for t in generic)  # model and source tests all attach
    assert {t.severity for t in generic} == {"error", "warn"}
    assert any(t.attached_node.startswith("source.") for t in generic)
    specs = build_dbt_specs(manifest)
    assert len(specs.assets) == 200 + 4 + 2 - mats["ephemeral"]
    # deterministic for a seed
    assert gen.generate(template, n_models=200, seed=3)["nodes"].keys() == doc["nodes"].keys()


def test_generator_cli_with_template(tmp_path, passing_manifest_path) -> None:
    out = tmp_path / "big" / "manifest.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gen_dbt_manifest.py"), str(out),
         "--models", "60", "--template", str(passing_manifest_path)],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "60 models" in proc.stderr
    assert len(load_manifest(out, use_cache=False).by_resource_type("model")) == 60


@pytest.mark.slow
def test_benchmark_runs_end_to_end(tmp_path, passing_manifest_path) -> None:
    gen = _gen_module()
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(gen.generate(json.loads(passing_manifest_path.read_text()),
                                            n_models=60)))
    figures = tmp_path / "figures.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "integrations")]))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_dbt_manifest.py"), "--manifest",
         str(path), "--rounds", "1", "--skip-dagster", "--json", str(figures)],
        capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "ours cold vs json.load" in proc.stdout
    data = json.loads(figures.read_text())
    assert data["cold_median_s"] > 0 and data["warm_median_s"] > 0
