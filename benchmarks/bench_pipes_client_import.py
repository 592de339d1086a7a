"""Import cost of the Python pipes client, as an external process pays it.

Run:  python benchmarks/bench_pipes_client_import.py [--runs N] [--dagster]

Measures whole-process wall time of `python -c "import pipes_client"` minus a bare
`python -c "pass"` (interpreter start-up, `site` included in both), taking the minimum of N
runs of each, interleaved so machine noise hits both alike. Bytecode is compiled first (the
figure a user with an installed package sees; this machine sets PYTHONDONTWRITEBYTECODE).
Also printed: `import pipes_protocol` alone, `open_pipes` + one message (a no-op session is
not representative, so a real file-channel session is timed), and with --dagster the same
figure for `import dagster_pipes` from the Dagster venv. Target: well under 30 ms.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAGSTER_PY = REPO / ".venvs" / "dagster" / "bin" / "python"


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def best_delta(python: str, code: str, runs: int, env: dict[str, str]) -> tuple[float, float]:
    bare, full = [], []
    for _ in range(runs):
        bare.append(wall([python, "-c", "pass"], env))
        full.append(wall([python, "-c", code], env))
    return min(full) - min(bare), min(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--dagster", action="store_true", help="also time dagster_pipes")
    args = parser.parse_args()
    for pkg in ("pipes_client", "pipes_protocol"):
        compileall.compile_dir(str(REPO / pkg), quiet=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_PIPES", "PIPES_"))}
    env["PYTHONPATH"] = str(REPO)  # the working tree, whatever the editable install points at
    results: dict[str, float] = {}
    delta, bare = best_delta(sys.executable, "import pipes_client", args.runs, env)
    results["bare_interpreter_ms"] = bare * 1000
    results["import_pipes_client_ms"] = delta * 1000
    delta, _ = best_delta(sys.executable, "import pipes_protocol", args.runs, env)
    results["import_pipes_protocol_ms"] = delta * 1000

    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp) / "ctx.json"
        ctx.write_text(json.dumps({"run_id": "r", "asset_keys": ["a"], "extras": {}}))
        sys.path.insert(0, str(REPO))
        from pipes_protocol import bootstrap_env_vars

        session_env = dict(env, **bootstrap_env_vars({"path": str(ctx)},
                                                     {"path": str(Path(tmp) / "m")}))
        code = ("from pipes_client import open_pipes\nwith open_pipes() as p:\n"
                "    p.report_asset_materialization(metadata={'rows': 1})")
        delta, _ = best_delta(sys.executable, code, max(5, args.runs // 3), session_env)
        results["open_report_close_session_ms"] = delta * 1000

    if args.dagster and DAGSTER_PY.exists():
        denv = {k: v for k, v in env.items() if k != "PYTHONPATH"}
        delta, _ = best_delta(str(DAGSTER_PY), "import dagster_pipes", args.runs, denv)
        results["dagster_import_dagster_pipes_ms"] = delta * 1000

    for name, value in results.items():
        print(f"{name:36s} {value:8.2f}")
    target = 30.0
    verdict = "OK" if results["import_pipes_client_ms"] < target else "OVER TARGET"
    print(f"import pipes_client over bare interpreter: {results['import_pipes_client_ms']:.2f} ms "
          f"(target < {target:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
