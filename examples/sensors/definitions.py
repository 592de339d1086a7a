"""One run per new file in a directory.

The ``new_files`` sensor looks at ``$INBOX_DIR`` (default: ``inbox/`` next to this file)
every second. Each new or changed ``*.csv`` file gets one run of ``ingest_file`` whose
config names the file. The run key (file name and modification time) makes each version of
a file run exactly once, even if the daemon restarts; the cursor (the newest modification
time handled) keeps each evaluation from looking at old files again.

Try it::

    mkdir -p examples/sensors/inbox
    orchestrator daemon -f examples/sensors/definitions.py &
    printf 'a,b\\n1,2\\n' > examples/sensors/inbox/first.csv
    orchestrator runs list            # one run of ingest_file, tagged with the run key
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator import (
    Config,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)

INBOX = Path(os.environ.get("INBOX_DIR", Path(__file__).parent / "inbox"))


class FileConfig(Config):
    path: str


@asset
def ingested_file(config: FileConfig) -> dict:
    """Read one CSV file and count its rows."""
    lines = Path(config.path).read_text().splitlines()
    return {"path": config.path, "rows": max(0, len(lines) - 1)}


ingest_file = define_asset_job("ingest_file", selection=[ingested_file])


@sensor(job=ingest_file, minimum_interval_seconds=1,
        default_status=DefaultSensorStatus.RUNNING)
def new_files(context):
    """One run per new or changed CSV file in the inbox."""
    if not INBOX.is_dir():
        return SkipReason(f"{INBOX} does not exist yet")
    since = int(context.cursor or 0)
    newest = since
    requests = []
    for path in sorted(INBOX.glob("*.csv")):
        mtime = path.stat().st_mtime_ns
        if mtime <= since:
            continue
        newest = max(newest, mtime)
        requests.append(RunRequest(
            run_key=f"{path.name}:{mtime}",
            run_config={"ops": {"ingested_file": {"config": {"path": str(path)}}}},
            tags={"file": path.name}))
    context.update_cursor(str(newest))
    return requests or SkipReason("no new file")


defs = Definitions(assets=[ingested_file], jobs=[ingest_file], sensors=[new_files])
