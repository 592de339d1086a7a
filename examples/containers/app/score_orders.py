"""A protocol-aware script: it reports metadata and a check through pipes_client.

Nothing is installed in the image for this: the Docker backend mounts the stdlib-only
client read-only and puts it on PYTHONPATH.
"""

import csv

from pipes_client import open_pipes

with open_pipes() as pipes:
    threshold = float(pipes.extras.get("big_order_threshold", 100))
    with open("/app/orders.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    big = [r for r in rows if float(r["amount"]) >= threshold]
    pipes.log.info(f"{len(big)} of {len(rows)} orders are at least {threshold}")
    pipes.report_asset_materialization(
        metadata={"orders": len(rows), "big_orders": len(big),
                  "share_big": round(len(big) / len(rows), 3)})
    pipes.report_asset_check(check_name="has_orders", passed=bool(rows),
                             metadata={"rows": len(rows)})
