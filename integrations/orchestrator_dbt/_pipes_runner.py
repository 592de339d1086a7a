"""Run dbt in an external process and report through the pipes protocol.

Started by ``DbtCliResource(..., runner="subprocess")`` as ``python -m
orchestrator_dbt._pipes_runner``; needs only dbt and the stdlib-only ``pipes_client`` (no
orchestrator core), so the same command works in a container. Everything it needs comes in the
protocol's context extras (a file, not the command line, so thousands of selected nodes fit):

- ``dbt_args``: the dbt command line (``["build", "--select", ...]``);
- ``assets``: unique id → escaped asset key; ``checks``: unique id → [asset key, check name];
- ``nodes``: unique id → manifest facts for the metadata; ``target_dir``.

Each finished model, seed and snapshot is reported with ``report_asset_materialization``, each
test with ``report_asset_check`` (the same metadata as in-process runs, from ``_events``), as
dbt finishes them; a source test's check is on an asset the step only depends on, which the
host advertises in the ``check_targets`` extension (docs/protocol.md §8.5). A last custom
message ``{"dbt": {...}}`` carries dbt's outcome; the process exits 0 whenever the protocol
worked, also when dbt failed (the host turns a dbt failure into a step failure after taking
the results).
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import Any

_DONE = object()


def main() -> int:
    from pipes_client import open_pipes

    try:
        from ._events import (
            CHECK_STATUSES,
            check_fields,
            failure_message,
            materialization_metadata,
            node_result,
        )
    except ImportError:  # run as a plain script next to _events.py
        from _events import (  # type: ignore[no-redef]
            CHECK_STATUSES,
            check_fields,
            failure_message,
            materialization_metadata,
            node_result,
        )

    with open_pipes() as pipes:
        extras = pipes.extras
        args: list[str] = list(extras["dbt_args"])
        assets: dict[str, str] = extras.get("assets") or {}
        checks: dict[str, list[str]] = extras.get("checks") or {}
        nodes: dict[str, dict[str, Any]] = extras.get("nodes") or {}
        target_dir = extras.get("target_dir")
        project_dir = extras.get("project_dir", "")

        try:
            from dbt.cli.main import dbtRunner
            from google.protobuf.json_format import MessageToDict
        except ImportError as exc:
            raise ImportError(
                f"dbt is not installed for {sys.executable} ({exc}): install dbt-core and the "
                "project's adapter (e.g. pip install 'dbt-core<1.12' dbt-duckdb) where the dbt "
                "runner runs (the image, for runner='docker')") from exc

        events: queue.Queue[Any] = queue.Queue()
        errors: list[str] = []
        unmatched: list[str] = []

        def callback(event: Any) -> None:
            if event.info.name == "NodeFinished":
                events.put(MessageToDict(event.data, preserving_proto_field_name=True))
            elif event.info.name == "NoNodesForSelectionCriteria":
                unmatched.append(str(event.info.msg))
            elif event.info.level == "error" and event.info.msg:
                errors.append(str(event.info.msg))

        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = dbtRunner(callbacks=[callback]).invoke(args)
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome["exception"] = exc
            finally:
                events.put(_DONE)

        thread = threading.Thread(target=run, name="dbt", daemon=True)
        thread.start()
        results: list[dict[str, Any]] = []
        while True:
            item = events.get()
            if item is _DONE:
                break
            result = node_result(item)
            results.append(result)
            uid = result["unique_id"]
            if uid in assets:
                if result["status"] == "success":
                    md = materialization_metadata(result, nodes.get(uid, {}), target_dir)
                    pipes.report_asset_materialization(metadata=md, asset_key=assets[uid])
            elif uid in checks and result["status"] in CHECK_STATUSES:
                passed, severity, md = check_fields(result)
                key, name = checks[uid]
                # a source test's check is on an asset the step depends on: the host
                # advertises it in pipes_features' check_targets, so the client accepts it
                pipes.report_asset_check(check_name=name, passed=passed, severity=severity,
                                         metadata=md, asset_key=key)
        thread.join()
        if "exception" in outcome:
            raise outcome["exception"]
        res = outcome["result"]
        if res.exception is not None:
            text = str(res.exception).strip()
            if text and not any(text in e for e in errors):
                errors.append(text)
        success = bool(res.success)
        pipes.report_custom_message({"dbt": {
            "success": success,
            "results": results,
            "unmatched": unmatched,
            "error_message": None if success else failure_message(
                args[0], project_dir, results, errors),
        }})
    return 0


if __name__ == "__main__":
    sys.exit(main())
