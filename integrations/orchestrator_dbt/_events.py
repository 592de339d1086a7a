"""dbt node results → what to report, shared by the in-process runner and the external one.

Plain data in and out, no orchestrator imports: the external runner (``_pipes_runner``) uses
this module with only dbt and the stdlib-only ``pipes_client`` installed, so both ways of
running dbt produce the same materializations and check results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: dbt statuses of a test that count as a check result (``skipped`` does not).
CHECK_STATUSES = ("pass", "fail", "warn", "error")


def node_result(data: Mapping[str, Any]) -> dict[str, Any]:
    """A ``NodeFinished`` event's data (as a dict) boiled down to one flat result."""
    info = data.get("node_info") or {}
    rr = data.get("run_result") or {}
    adapter = rr.get("adapter_response") or {}
    rows = adapter.get("rows_affected")
    relation = (info.get("node_relation") or {}).get("relation_name")
    failures = rr.get("num_failures")
    return {
        "unique_id": info.get("unique_id", ""),
        "name": info.get("node_name", ""),
        "resource_type": info.get("resource_type", ""),
        "status": str(rr.get("status") or info.get("node_status") or "").lower(),
        "message": rr.get("message") or "",
        "execution_time": float(rr.get("execution_time") or 0.0),
        "relation_name": relation or None,
        "rows_affected": int(rows) if isinstance(rows, (int, float)) else None,
        "num_failures": int(failures) if isinstance(failures, (int, float)) else None,
        "adapter_message": adapter.get("_message"),
        "started_at": info.get("node_started_at"),
        "finished_at": info.get("node_finished_at"),
    }


def materialization_metadata(result: Mapping[str, Any], node: Mapping[str, Any],
                             target_dir: str | None) -> dict[str, Any]:
    """Metadata of a finished model, seed or snapshot.

    ``node`` holds ``resource_type``, ``package_name``, ``original_file_path`` and
    ``relation_name`` from the manifest.
    """
    md: dict[str, Any] = {
        "dbt/unique_id": result["unique_id"],
        "execution_time": round(result["execution_time"], 6),
    }
    relation = result.get("relation_name") or node.get("relation_name")
    if relation:
        md["relation_name"] = relation
    if result.get("rows_affected") is not None:
        md["rows_affected"] = result["rows_affected"]
    if node.get("resource_type") != "seed" and target_dir:
        md["compiled_sql"] = "/".join(
            [target_dir.rstrip("/"), "compiled", node["package_name"], node["original_file_path"]])
    if result.get("adapter_message"):
        md["dbt/message"] = result["adapter_message"]
    return md


def check_fields(result: Mapping[str, Any]) -> tuple[bool, str, dict[str, Any]]:
    """(passed, severity, metadata) of a finished test: ``warn`` is a failed WARN check."""
    status = result["status"]
    md: dict[str, Any] = {"dbt/unique_id": result["unique_id"], "status": status,
                          "execution_time": round(result["execution_time"], 6)}
    if result.get("num_failures") is not None:
        md["failures"] = result["num_failures"]
    if status == "error" and result.get("message"):
        md["dbt/message"] = result["message"]
    return status == "pass", ("WARN" if status == "warn" else "ERROR"), md


def failure_message(command: str, project_dir: str, results: list[Mapping[str, Any]],
                    errors: list[str]) -> str:
    """One line per failed node (with the start of dbt's message), or dbt's own errors."""
    failed = [r for r in results if r["status"] in ("error", "fail")]
    lines = [f"{r['unique_id']}: {r['status']}" + _first_lines(r["message"]) for r in failed]
    if not lines:
        lines = errors or ["dbt reported failure without a node result"]
    return f"dbt {command} failed for project {project_dir}: " + "; ".join(lines)


def _first_lines(message: str) -> str:
    lines = [ln.strip() for ln in (message or "").splitlines() if ln.strip()]
    return f" ({' '.join(lines[:3])})" if lines else ""


def unmatched_message(command: str, project_dir: str, warnings: list[str],
                      generated: bool) -> str:
    """A selection that matched nothing: with a generated selection the manifest is stale."""
    first = "; ".join(w.strip() for w in warnings[:3])
    if generated:
        fix = ("the manifest no longer matches the project (a model was renamed or removed): "
               "run `dbt parse` (DbtProject.parse()) and load the definitions again")
    else:
        fix = "check the selection (`dbt ls --select ...` shows what it matches)"
    return (f"dbt {command} in project {project_dir} selected nothing it was asked for: "
            f"{first}. Fix: {fix}")
