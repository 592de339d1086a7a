"""Docker backend overhead: a trivial protocol-aware asset in a container, end to end, against
a bare ``docker run --rm`` of the same image and command in the same run.

Run:  python benchmarks/bench_docker.py [--reps 15] [--image TAG] [--json]

- bare: ``docker run --rm --init`` with the same mounts (the Python client) and the same
  command (``from pipes_client import open_pipes`` and report a materialization; without a
  host the client does nothing), run by the ``docker`` CLI as a user would;
- ours: ``materialize([asset])`` in this (warm) process, the asset calling
  ``PipesDockerClient.run(...)``: run and step events in a SQLite run store, context and
  messages through the pipes session, container created, its handle recorded, started, its
  logs followed, waited for and removed, the materialization reported back.

The two alternate, after warm-up runs; the figures are medians (and minimums). The
orchestration overhead is ours - bare (target: at most 150 ms); the ratio is ours / bare.
Default image: the local Python test image (scripts/build-test-images.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = ("from pipes_client import open_pipes\n"
          "with open_pipes() as pipes:\n"
          "    pipes.report_asset_materialization(metadata={'ok': True})\n")


def _default_image() -> str:
    """The Python test image named in scripts/infra.env (env var of the same name wins)."""
    key = "ORCH_TEST_PYTHON_IMAGE"
    if os.environ.get(key):
        return os.environ[key]
    for line in (ROOT / "scripts" / "infra.env").read_text().splitlines():
        if line.startswith(key + "="):
            return line.split("=", 1)[1].strip()
    raise SystemExit(f"{key} is not in scripts/infra.env; pass --image")


def bare_run(image: str, binds: list[str]) -> float:
    cmd = ["docker", "run", "--rm", "--init", "-e", "PYTHONPATH=/opt/orchestrator/lib"]
    for b in binds:
        cmd += ["-v", b]
    cmd += [image, "python3", "-c", SCRIPT]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bare docker run failed: {proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--image", default=None)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    image = args.image or _default_image()

    os.environ["ORCHESTRATOR_HOME"] = tempfile.mkdtemp(prefix="bench-docker-")
    from orchestrator_docker import PipesDockerClient
    from orchestrator_docker.launcher import CLIENT_LIB_DIR, _package_dir

    from orchestrator import asset, materialize
    from orchestrator.instance import Instance

    binds = [f"{_package_dir(p)}:{CLIENT_LIB_DIR}/{p}:ro"
             for p in ("pipes_client", "pipes_protocol")]
    instance = Instance.get()
    client = PipesDockerClient(pull_policy="never")

    @asset
    def trivial(context):
        return client.run(context=context, image=image,
                          command=["python3", "-c", SCRIPT]).get_results()

    def ours() -> float:
        t0 = time.perf_counter()
        result = materialize([trivial], instance=instance, log_level="WARNING")
        elapsed = time.perf_counter() - t0
        assert result.success
        return elapsed

    for _ in range(args.warmup):
        bare_run(image, binds)
        ours()
    bare_t: list[float] = []
    ours_t: list[float] = []
    for _ in range(args.reps):
        bare_t.append(bare_run(image, binds))
        ours_t.append(ours())
    b, o = statistics.median(bare_t), statistics.median(ours_t)
    out = {
        "image": image, "reps": args.reps,
        "bare_median_ms": round(b * 1000, 1), "ours_median_ms": round(o * 1000, 1),
        "bare_min_ms": round(min(bare_t) * 1000, 1), "ours_min_ms": round(min(ours_t) * 1000, 1),
        "overhead_median_ms": round((o - b) * 1000, 1),
        "overhead_min_ms": round((min(ours_t) - min(bare_t)) * 1000, 1),
        "ratio_median": round(o / b, 3), "target_overhead_ms": 150,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"image: {image}, {args.reps} alternating repetitions after {args.warmup} warm-up")
    print(f"bare `docker run --rm`:      median {out['bare_median_ms']:7.1f} ms   "
          f"min {out['bare_min_ms']:7.1f} ms")
    print(f"asset via PipesDockerClient: median {out['ours_median_ms']:7.1f} ms   "
          f"min {out['ours_min_ms']:7.1f} ms")
    print(f"orchestration overhead:      median {out['overhead_median_ms']:7.1f} ms   "
          f"min {out['overhead_min_ms']:7.1f} ms   (target <= 150 ms)")
    print(f"ratio ours / bare:           {out['ratio_median']:.3f}")


if __name__ == "__main__":
    main()
