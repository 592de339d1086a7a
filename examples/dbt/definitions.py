"""A dbt project as assets, between two Python assets.

    till_sales (Python) -> dbt: products, stg_sales, daily_revenue -> revenue_report (Python)

``till_sales`` writes the table that the dbt source ``till.sales`` reads (the source's
``meta.orchestrator.asset_key`` maps it onto this asset, so it runs first); dbt builds the
models and runs their tests, and the source's tests, as checks; ``revenue_report`` reads the
``daily_revenue`` model. Run everything (from the repository root; needs
``pip install -e '.[dbt]'``)::

    orchestrator materialize -f examples/dbt/definitions.py --select '*'

Nothing is written next to these files: the DuckDB database, dbt's target/ and logs/ and the
report go to ``<orchestrator home>/dbt-example/`` (``$ORCHESTRATOR_HOME``, else
``.orchestrator/`` in the project).
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestrator import AssetKey, Definitions, MaterializeResult, asset
from orchestrator.instance import Instance

PROJECT_DIR = Path(__file__).resolve().parent / "bakery"
WORK_DIR = Instance.get().home / "dbt-example"
DATABASE = WORK_DIR / "bakery.duckdb"

project = DbtProject(PROJECT_DIR, manifest_path=WORK_DIR / "target" / "manifest.json",
                     log_path=WORK_DIR / "logs")
if not project.manifest_path.is_file():
    project.parse()  # writes the manifest under WORK_DIR (about 2 s, once)


@asset(group_name="till", description="Sales from the till, as the table dbt's source reads.")
def till_sales(context) -> MaterializeResult:
    import duckdb

    rows = [  # (sale_id, sold_at, product_id, quantity); a return has a negative quantity
        (1, "2024-05-01 07:12:00", 1, 2), (2, "2024-05-01 07:40:00", 2, 3),
        (3, "2024-05-01 09:05:00", 3, 1), (4, "2024-05-02 08:00:00", 2, 6),
        (5, "2024-05-02 08:30:00", 4, 2), (6, "2024-05-02 10:10:00", 2, -1),
        (7, "2024-05-03 07:55:00", 1, 4), (8, "2024-05-03 12:00:00", 3, 2),
    ]
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(DATABASE)) as con:
        con.execute("create or replace table main.till_sales (sale_id integer, sold_at "
                    "timestamp, product_id integer, quantity integer)")
        con.executemany("insert into main.till_sales values (?, ?, ?, ?)", rows)
    context.log.info("wrote %d sales to %s", len(rows), DATABASE)
    return MaterializeResult(metadata={"rows": len(rows)})


@dbt_assets(manifest=project)
def bakery_dbt(context, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


@asset(deps=[AssetKey("daily_revenue")], group_name="reports",
       description="The best day, from dbt's daily_revenue model.")
def revenue_report(context) -> MaterializeResult:
    import duckdb

    with duckdb.connect(str(DATABASE), read_only=True) as con:
        days = con.execute("select cast(sold_on as varchar), items, revenue "
                           "from daily_revenue order by sold_on").fetchall()
    best = max(days, key=lambda d: d[2])
    report = {"days": len(days), "best_day": best[0], "best_revenue": float(best[2]),
              "total_revenue": round(sum(float(d[2]) for d in days), 2)}
    (WORK_DIR / "revenue_report.json").write_text(json.dumps(report, indent=2))
    context.log.info("best day %s: %.2f", best[0], best[2])
    return MaterializeResult(metadata=report)


defs = Definitions(
    assets=[till_sales, bakery_dbt, revenue_report],
    resources={"dbt": DbtCliResource(project, vars={"bakery_db": str(DATABASE)})},
)
