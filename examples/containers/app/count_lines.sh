#!/bin/sh
# A shell script for an image without Python: it reports through the POSIX shell client,
# which the Docker backend mounts into every container (its path is in $PIPES_SH).
. "$PIPES_SH"
pipes_open
trap 'pipes_close $?' EXIT
lines=$(wc -l < /app/orders.csv)
pipes_log INFO "orders.csv has $lines lines"
pipes_report_materialization --meta lines int "$lines"
