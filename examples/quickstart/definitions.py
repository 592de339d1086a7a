"""Quick start: three assets, an asset check and a job, with no dependency but orchestrator.

Run everything (from the repository root)::

    orchestrator materialize -f examples/quickstart/definitions.py --select '*'

then look at what happened::

    orchestrator runs list
    orchestrator assets list -f examples/quickstart/definitions.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from orchestrator import (
    AssetCheckResult,
    AssetSelection,
    Config,
    Definitions,
    MaterializeResult,
    asset,
    asset_check,
    define_asset_job,
)

ORDERS_CSV = Path(__file__).with_name("orders.csv")


@asset(group_name="ingest", description="Orders read from orders.csv.")
def raw_orders(context) -> list[dict]:
    with ORDERS_CSV.open(newline="") as handle:
        rows = [{"order_id": int(r["order_id"]), "customer": r["customer"],
                 "amount": float(r["amount"])} for r in csv.DictReader(handle)]
    context.log.info("read %d orders from %s", len(rows), ORDERS_CSV.name)
    return rows


@asset(group_name="analytics", description="Total amount ordered per customer.")
def customer_totals(context, raw_orders: list[dict]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for order in raw_orders:
        totals[order["customer"]] = round(totals.get(order["customer"], 0.0) + order["amount"], 2)
    context.log.info("%d customers", len(totals))
    return totals


class TopConfig(Config):
    limit: int = 3


@asset(group_name="analytics", description="The customers who ordered the most.")
def top_customers(context, config: TopConfig, customer_totals: dict[str, float]):
    ranked = sorted(customer_totals.items(), key=lambda kv: kv[1], reverse=True)[:config.limit]
    for name, total in ranked:
        context.log.info("%s: %.2f", name, total)
    return MaterializeResult(metadata={"top": ranked[0][0], "count": len(ranked)})


@asset_check(asset=customer_totals, blocking=True,
             description="No customer has a negative total.")
def totals_are_not_negative(customer_totals: dict[str, float]) -> AssetCheckResult:
    negative = sorted(name for name, total in customer_totals.items() if total < 0)
    return AssetCheckResult(passed=not negative, metadata={"negative": len(negative)})


analytics_job = define_asset_job("analytics_job", selection=AssetSelection.groups("analytics"),
                                 description="Recompute the analytics from stored orders.")

defs = Definitions(
    assets=[raw_orders, customer_totals, top_customers],
    asset_checks=[totals_are_not_negative],
    jobs=[analytics_job],
)
