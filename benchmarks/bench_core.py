"""Core benchmarks, this project and Dagster side by side in the same run.

Run:  python benchmarks/bench_core.py [--quick] [--only import,chain,fan,build]

Dagster runs in its own virtual environment (.venvs/dagster, made by
scripts/ensure-dagster-venv.sh). Every workload runs in a fresh subprocess per side, so
imports and caches do not leak between them. Printed: each side's figure and the ratio
(ours / Dagster's: lower is better). Machines here are shared and noisy: read ratios, not
absolute times; each figure is the best of a few repetitions.

Workloads (issue #2's targets):
- import:  whole-process `python -c "import orchestrator"` vs `import dagster` (interpreter
           start-up included, as a user pays it); `import+api` also pulls in the names a
           definitions file uses (asset, materialize, Definitions, Config).
- chain:   materialize a chain of N assets (default 500), default IO manager, persistent
           SQLite run store; per-asset overhead = run time / N.
- fan:     1 -> N -> 1 fan (default 500 in the middle), same settings.
- build:   build and validate a layered DAG of 5,000 assets.
- memory:  peak RSS of the process that ran the chain (reported with `chain`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAGSTER_PY = ROOT / ".venvs" / "dagster" / "bin" / "python"

# --- workload sources: {fw} is "ours" or "dagster" --------------------------------------------
_DEFS = {
    "ours": "from orchestrator import asset, AssetIn, Definitions, materialize, Instance\n",
    "dagster": "from dagster import asset, AssetIn, Definitions, materialize, DagsterInstance\n",
}
# one line of workload source: a persistent instance in the temporary directory `home`
_INSTANCE = {
    "ours": "inst = Instance.from_home(home)",
    "dagster": ("os.environ['DAGSTER_HOME'] = home; "
                "open(os.path.join(home, 'dagster.yaml'), 'w').close(); "
                "inst = DagsterInstance.get()"),
}


def _chain_src(fw: str, n: int) -> str:
    return _DEFS[fw] + textwrap.dedent(f"""
    import time, resource, tempfile, os, json, logging
    N = {n}
    assets = []
    @asset(name="a0")
    def a0():
        return 0
    assets.append(a0)
    for i in range(1, N):
        def f(prev):
            return prev + 1
        f.__name__ = f"a{{i}}"
        assets.append(asset(name=f"a{{i}}", ins={{"prev": AssetIn(f"a{{i-1}}")}})(f))
    home = tempfile.mkdtemp()
    {_INSTANCE[fw]}
    logging.disable(logging.CRITICAL)
    t = time.perf_counter()
    r = materialize(assets, instance=inst{", log_level='error'" if fw == "ours" else ""})
    dt = time.perf_counter() - t
    assert r.success
    print(json.dumps({{"seconds": dt, "per_asset_ms": dt / N * 1000,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
    """)


def _fan_src(fw: str, n: int) -> str:
    params = ", ".join(f"m{i}" for i in range(n))
    return _DEFS[fw] + textwrap.dedent(f"""
    import time, resource, tempfile, os, json, logging
    N = {n}
    assets = []
    @asset
    def root():
        return 1
    assets.append(root)
    for i in range(N):
        def f(root):
            return root + 1
        f.__name__ = f"m{{i}}"
        assets.append(asset(name=f"m{{i}}")(f))
    ns = {{}}
    exec("def sink({params}):\\n    return 0", ns)
    assets.append(asset(name="sink")(ns["sink"]))
    home = tempfile.mkdtemp()
    {_INSTANCE[fw]}
    logging.disable(logging.CRITICAL)
    t = time.perf_counter()
    r = materialize(assets, instance=inst{", log_level='error'" if fw == "ours" else ""})
    dt = time.perf_counter() - t
    assert r.success
    print(json.dumps({{"seconds": dt, "per_asset_ms": dt / (N + 2) * 1000,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
    """)


def _build_src(fw: str, n: int) -> str:
    validate = "defs.validate()" if fw == "ours" else "Definitions.validate_loadable(defs)"
    return _DEFS[fw] + textwrap.dedent(f"""
    import time, json
    N = {n}
    WIDTH = 100
    t = time.perf_counter()
    assets = []
    for i in range(N):
        layer, pos = divmod(i, WIDTH)
        if layer == 0:
            def f():
                return 1
            f.__name__ = f"x{{i}}"
            assets.append(asset(name=f"x{{i}}")(f))
        else:
            a = (layer - 1) * WIDTH + pos
            b = (layer - 1) * WIDTH + (pos + 1) % WIDTH
            def f(p, q):
                return p + q
            f.__name__ = f"x{{i}}"
            ins = {{"p": AssetIn(f"x{{a}}"), "q": AssetIn(f"x{{b}}")}}
            assets.append(asset(name=f"x{{i}}", ins=ins)(f))
    defs = Definitions(assets=assets)
    {validate}
    dt = time.perf_counter() - t
    print(json.dumps({{"seconds": dt}}))
    """)


def _run(python: str | Path, src: str, timeout: float = 900) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(src)
    try:
        env = _env()
        out = subprocess.run([str(python), f.name], capture_output=True, text=True,
                             timeout=timeout, env=env, cwd=tempfile.gettempdir())
    finally:
        os.unlink(f.name)
    if out.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env() -> dict[str, str]:
    """Both sides with bytecode caches, as users run them (this workplace sets
    PYTHONDONTWRITEBYTECODE, which would make every process recompile our sources)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _import_time(python: str | Path, module: str, reps: int) -> float:
    def once(code: str) -> float:
        t = time.perf_counter()
        subprocess.run([str(python), "-c", code], check=True, cwd=tempfile.gettempdir(),
                       env=_env())
        return time.perf_counter() - t

    once(f"import {module}")  # warm the bytecode cache

    return min(once(f"import {module}") for _ in range(reps))


def _best(python: str | Path, src: str, reps: int, key: str) -> dict:
    results = [_run(python, src) for _ in range(reps)]
    return min(results, key=lambda r: r[key])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    ap.add_argument("--only", default="import,chain,fan,build")
    ap.add_argument("--json", action="store_true", help="print results as JSON")
    args = ap.parse_args()
    if not DAGSTER_PY.exists():
        sys.exit(f"Dagster venv missing: run scripts/ensure-dagster-venv.sh (wanted {DAGSTER_PY})")
    only = set(args.only.split(","))
    reps = 1 if args.quick else 3
    n = 100 if args.quick else 500
    n_build = 1000 if args.quick else 5000
    ours_py = sys.executable
    results: dict[str, dict] = {}

    def report(name: str, ours: float, theirs: float, unit: str, target: str) -> None:
        ratio = ours / theirs if theirs else float("nan")
        results[name] = {"ours": ours, "dagster": theirs, "ratio": ratio, "unit": unit,
                         "target": target}
        if not args.json:
            print(f"{name:<34} ours {ours:10.3f} {unit:<4} dagster {theirs:10.3f} {unit:<4} "
                  f"ratio {ratio:6.3f}  (target {target})", flush=True)

    if "import" in only:
        report("import (whole process)", _import_time(ours_py, "orchestrator", 7) * 1000,
               _import_time(DAGSTER_PY, "dagster", 5) * 1000, "ms", "<= 1/6 = 0.167")
        api = "orchestrator; from orchestrator import asset, materialize, Definitions, Config"
        report("import+api (whole process)", _import_time(ours_py, api, 7) * 1000,
               _import_time(DAGSTER_PY, "dagster; from dagster import asset, materialize, "
                            "Definitions, Config", 5) * 1000, "ms", "<= 1/6 = 0.167")
    if "chain" in only:
        o = _best(ours_py, _chain_src("ours", n), reps, "seconds")
        d = _best(DAGSTER_PY, _chain_src("dagster", n), 1, "seconds")
        report(f"chain of {n}: per-asset overhead", o["per_asset_ms"], d["per_asset_ms"], "ms",
               "<= 1/20 = 0.05")
        report(f"chain of {n}: peak memory", o["peak_rss_mb"], d["peak_rss_mb"], "MB",
               "<= 1/2 = 0.5")
    if "fan" in only:
        o = _best(ours_py, _fan_src("ours", n), reps, "seconds")
        d = _best(DAGSTER_PY, _fan_src("dagster", n), 1, "seconds")
        report(f"fan 1->{n}->1: per-asset overhead", o["per_asset_ms"], d["per_asset_ms"], "ms",
               "<= 1/20 = 0.05")
    if "build" in only:
        o = _best(ours_py, _build_src("ours", n_build), reps, "seconds")
        d = _best(DAGSTER_PY, _build_src("dagster", n_build), 1, "seconds")
        report(f"build+validate {n_build} assets", o["seconds"] * 1000, d["seconds"] * 1000,
               "ms", "<= 1/20 = 0.05")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
