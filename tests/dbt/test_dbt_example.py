"""examples/dbt runs end to end through the real CLI, and writes nothing next to its files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dbt"

pytestmark = [pytest.mark.system, pytest.mark.slow]


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_example_materializes_python_dbt_python_through_the_cli(tmp_path, parsed_projects):
    before = _tree(EXAMPLE)
    home = tmp_path / "home"
    env = {**os.environ, "ORCHESTRATOR_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "materialize", "-f",
         str(EXAMPLE / "definitions.py"), "--select", "*"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "SUCCESS: steps 3 succeeded" in out
    # the Python asset upstream of the dbt source ran first, the one downstream last
    order = [line.split("materialized ")[1] for line in out.splitlines()
             if "ASSET_MATERIALIZATION" in line]
    assert order[0] == "'till_sales'" and order[-1] == "'revenue_report'", out[-3000:]
    assert set(order[1:-1]) == {"'products'", "'stg_sales'", "'daily_revenue'"}
    # dbt's models, tests and the source's tests as checks on the Python asset
    assert "materialized 'daily_revenue'" in out
    assert "check 'source_unique_till_sales_sale_id' on 'till_sales' passed" in out
    work = home / "dbt-example"
    report = json.loads((work / "revenue_report.json").read_text())
    assert report == {"days": 3, "best_day": "2024-05-03", "best_revenue": 22.4,
                      "total_revenue": 56.2}
    assert (work / "target" / "manifest.json").is_file() and (work / "logs").is_dir()
    # nothing was written into the example, nor into the working directory
    assert _tree(EXAMPLE) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
