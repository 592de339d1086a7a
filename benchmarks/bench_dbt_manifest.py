"""Benchmark: loading a big dbt manifest into assets, ours against dagster-dbt, same run.

    python benchmarks/bench_dbt_manifest.py                 # 2,000 models, 5 rounds
    python benchmarks/bench_dbt_manifest.py --models 500 --rounds 3
    python benchmarks/bench_dbt_manifest.py --manifest path/to/manifest.json --skip-dagster

Measured on one generated manifest (``gen_dbt_manifest.py``), in this order, each in fresh
Python processes so that no cache of one round helps the next:

(a) ``json.load`` of the file (the floor: any loader has to parse the JSON);
(b) ours, cold: ``load_manifest`` without a cache + ``build_dbt_specs`` (AssetSpec per model,
    seed and snapshot, AssetCheckSpec per test, AssetSpec per source), with orjson when it is
    installed and again with the standard ``json`` module (``ORCHESTRATOR_DBT_JSON=json``);
    ours, cold with the cache being written (the first load of a new manifest);
    ours, warm: the index comes from the on-disk cache, then the same specs are built;
    ours, ``@dbt_assets(manifest=path)`` without a cache: load, specs and the core's
    multi-asset, the same work as (c);
(c) dagster-dbt in the Dagster virtualenv (``.venvs/dagster``, made by
    ``scripts/ensure-dagster-venv.sh``): ``@dbt_assets(manifest=path)`` on a function, then
    ``list(assets.specs)`` and ``list(assets.check_specs)`` — what a Dagster user pays when
    definitions load.

Import times are reported apart (they do not depend on the manifest). Times are the median of
the rounds (min in brackets). Targets (issue 6): ours cold at least 5x faster than dagster-dbt,
and within 3x of json.load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAGSTER_VENV = Path(os.environ.get("ORCH_DAGSTER_VENV", ROOT / ".venvs" / "dagster"))

_JSON_SNIPPET = """
import json, sys, time
t = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    doc = json.load(f)
print(json.dumps({"load_s": time.perf_counter() - t}))
"""

_OURS_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
from orchestrator_dbt import build_dbt_specs, load_manifest
import orchestrator.assets.spec
t1 = time.perf_counter()
mode, path, cache_dir = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "nocache":
    manifest = load_manifest(path, use_cache=False)
else:
    manifest = load_manifest(path, cache_dir=cache_dir)
t2 = time.perf_counter()
specs = build_dbt_specs(manifest)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "index_s": t2 - t1, "specs_s": t3 - t2,
                  "load_s": t3 - t1, "loaded_from": manifest.loaded_from,
                  "assets": len(specs.assets), "checks": len(specs.checks),
                  "sources": len(specs.sources)}))
"""

_OURS_DECORATOR_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
from orchestrator_dbt import DbtCliResource, dbt_assets
import orchestrator.assets.decorators
t1 = time.perf_counter()

@dbt_assets(manifest=sys.argv[1])
def bench_dbt_assets(context, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()

t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "assets": len(bench_dbt_assets.keys),
                  "checks": len(bench_dbt_assets.check_keys)}))
"""

_DAGSTER_SNIPPET = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import dagster
from dagster_dbt import DbtCliResource, dbt_assets
import dagster_dbt
t1 = time.perf_counter()

@dbt_assets(manifest=sys.argv[1])
def bench_dbt_assets(context, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()

specs = list(bench_dbt_assets.specs)
checks = list(bench_dbt_assets.check_specs)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "assets": len(specs),
                  "checks": len(checks), "dagster": dagster.__version__,
                  "dagster_dbt": dagster_dbt.__version__}))
"""


def _run(python: str, snippet: str, *args: str, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run([python, "-c", snippet, *args], capture_output=True, text=True,
                          check=False,
                          env=env, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({python}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _our_env() -> dict[str, str]:
    # This working tree first, whatever the editable install points at.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "integrations"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _stats(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), min(values)


def _fmt(values: list[float]) -> str:
    med, lo = _stats(values)
    return f"{med * 1000:8.1f} ms  [{lo * 1000:7.1f}]"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--manifest", type=Path, help="use this manifest instead of generating one")
    ap.add_argument("--skip-dagster", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp:
        tmpdir = Path(tmp)
        if args.manifest is not None:
            manifest = args.manifest.resolve()
        else:
            manifest = tmpdir / "manifest.json"
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_dbt_manifest.py"),
                            str(manifest), "--models", str(args.models)], check=True,
                           env=_our_env())
        size_mb = manifest.stat().st_size / 1e6
        try:
            import orjson  # noqa: F401

            parser = "orjson"
        except ImportError:
            parser = "json"

        env = _our_env()
        py = sys.executable
        results: dict[str, list[dict]] = {"json": [], "cold": [], "cold_stdlib": [],
                                          "cold_write": [], "warm": [], "decorator": [],
                                          "decorator_warm": [], "dagster": []}
        stdlib_env = dict(env, ORCHESTRATOR_DBT_JSON="json")
        warm_cache = tmpdir / "warm-cache"
        _run(py, _OURS_SNIPPET, "cache", str(manifest), str(warm_cache), env=env)  # fill it
        _run(py, _OURS_DECORATOR_SNIPPET, str(manifest),
             env=dict(env, ORCHESTRATOR_CACHE_DIR=str(tmpdir / "deco-warm")))  # and this one
        has_dagster = (DAGSTER_VENV / "bin" / "python").exists() and not args.skip_dagster
        if not has_dagster and not args.skip_dagster:
            print(f"no Dagster venv at {DAGSTER_VENV}: run scripts/ensure-dagster-venv.sh",
                  file=sys.stderr)
        for r in range(args.rounds):
            # interleaved, so that load on the machine hits every contender alike
            results["json"].append(_run(py, _JSON_SNIPPET, str(manifest)))
            results["cold"].append(_run(py, _OURS_SNIPPET, "nocache", str(manifest), "-",
                                        env=env))
            results["cold_stdlib"].append(_run(py, _OURS_SNIPPET, "nocache", str(manifest),
                                               "-", env=stdlib_env))
            fresh = tmpdir / f"cache-{r}"
            results["cold_write"].append(_run(py, _OURS_SNIPPET, "cache", str(manifest),
                                              str(fresh), env=env))
            results["warm"].append(_run(py, _OURS_SNIPPET, "cache", str(manifest),
                                        str(warm_cache), env=env))
            # @dbt_assets without a cache: the definition-load cost, like dagster-dbt's below
            results["decorator"].append(_run(py, _OURS_DECORATOR_SNIPPET, str(manifest),
                                             env=dict(env, ORCHESTRATOR_CACHE_DIR=str(
                                                 tmpdir / f"deco-cache-{r}"))))
            results["decorator_warm"].append(_run(py, _OURS_DECORATOR_SNIPPET, str(manifest),
                                                  env=dict(env, ORCHESTRATOR_CACHE_DIR=str(
                                                      warm_cache.parent / "deco-warm"))))
            if has_dagster:
                results["dagster"].append(_run(str(DAGSTER_VENV / "bin" / "python"),
                                               _DAGSTER_SNIPPET, str(manifest)))
        assert all(x["loaded_from"] == "json"
                   for x in results["cold"] + results["cold_write"] + results["cold_stdlib"])
        assert all(x["loaded_from"] == "cache" for x in results["warm"])

    def col(name: str, field: str = "load_s") -> list[float]:
        return [x[field] for x in results[name]]

    ours = results["cold"][0]
    print(f"\nmanifest: {args.models if args.manifest is None else '?'} models, "
          f"{size_mb:.1f} MB; rounds: {args.rounds}; our JSON parser: {parser}")
    print(f"ours builds {ours['assets']} asset specs, {ours['checks']} check specs, "
          f"{ours['sources']} source specs")
    print("\n                                         median     [min]")
    print(f"(a) json.load                         {_fmt(col('json'))}")
    print(f"(b) ours, cold (no cache)             {_fmt(col('cold'))}"
          f"   index {_fmt(col('cold', 'index_s'))}, specs {_fmt(col('cold', 'specs_s'))}")
    print(f"    ours, cold, stdlib json parser    {_fmt(col('cold_stdlib'))}")
    print(f"    ours, cold, writing the cache     {_fmt(col('cold_write'))}")
    print(f"    ours, warm (index from cache)     {_fmt(col('warm'))}"
          f"   index {_fmt(col('warm', 'index_s'))}")
    print(f"    import orchestrator_dbt + specs   {_fmt(col('cold', 'import_s'))}")
    deco = results["decorator"][0]
    print(f"    ours, @dbt_assets (cold)          {_fmt(col('decorator'))}"
          f"   ({deco['assets']} assets, {deco['checks']} checks)")
    print(f"    ours, @dbt_assets (index cached)  {_fmt(col('decorator_warm'))}")
    figures: dict[str, object] = {
        "models": args.models, "manifest_mb": round(size_mb, 2), "rounds": args.rounds,
        "parser": parser,
        **{f"{k}_median_s": _stats(col(k))[0]
           for k in ("json", "cold", "cold_stdlib", "cold_write", "warm", "decorator",
                     "decorator_warm")},
    }
    cold = _stats(col("cold"))[0]
    js = _stats(col("json"))[0]
    if results["dagster"]:
        dg = results["dagster"][0]
        print(f"(c) dagster-dbt @dbt_assets + specs   {_fmt(col('dagster'))}"
              f"   ({dg['assets']} assets, {dg['checks']} checks; dagster {dg['dagster']}, "
              f"dagster-dbt {dg['dagster_dbt']})")
        print(f"    import dagster + dagster_dbt      {_fmt(col('dagster', 'import_s'))}")
        dag = _stats(col("dagster"))[0]
        figures["dagster_median_s"] = dag
        figures["speedup_vs_dagster"] = dag / cold
        figures["speedup_warm_vs_dagster"] = dag / _stats(col("warm"))[0]
        print(f"\nours cold vs dagster-dbt:  {dag / cold:5.1f}x faster   (target >= 5x)"
              f"{'  OK' if dag / cold >= 5 else '  MISSED'}")
        print(f"ours warm vs dagster-dbt:  {dag / _stats(col('warm'))[0]:5.1f}x faster")
        dec = _stats(col("decorator"))[0]
        figures["speedup_decorator_vs_dagster"] = dag / dec
        print(f"@dbt_assets vs dagster's:  {dag / dec:5.1f}x faster (both building the "
              "multi-asset)")
        decw = _stats(col("decorator_warm"))[0]
        figures["speedup_decorator_warm_vs_dagster"] = dag / decw
        print(f"  ... with the index cached: {dag / decw:5.1f}x faster")
    figures["ratio_cold_vs_json"] = cold / js
    print(f"ours cold vs json.load:    {cold / js:5.2f}x the time (target <= 3x)"
          f"{'  OK' if cold / js <= 3 else '  MISSED'}")
    stdlib = _stats(col("cold_stdlib"))[0]
    figures["ratio_cold_stdlib_vs_json"] = stdlib / js
    print(f"ours cold, stdlib json:    {stdlib / js:5.2f}x the time of json.load")
    print(f"ours warm vs json.load:    {_stats(col('warm'))[0] / js:5.2f}x the time")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
