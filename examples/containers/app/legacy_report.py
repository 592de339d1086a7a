"""An existing script, unchanged: it knows nothing about the orchestrator.

It reads orders from a CSV file, prints a summary and exits non-zero when the input is bad,
as scripts do. The orchestrator runs it in a container with protocol_aware=False: its
stdout and stderr become the asset's logs and its exit code decides success.
"""

import csv
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "/app/orders.csv"
with open(path, newline="") as handle:
    rows = list(csv.DictReader(handle))
if not rows:
    print(f"no orders in {path}", file=sys.stderr)
    sys.exit(2)
total = sum(float(r["amount"]) for r in rows)
print(f"read {len(rows)} orders from {path}")
print(f"total amount: {total:.2f}")
