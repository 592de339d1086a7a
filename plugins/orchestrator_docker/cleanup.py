"""Finding and removing containers left behind by runs that are over.

Every container the Docker launcher creates is labelled ``orchestrator.managed=true`` and
``orchestrator.run_id=<run>``. A container is *left over* when its run is finished
(SUCCESS, FAILURE, CANCELED) in the instance's run store, e.g. kept by
``keep_on_failure=True`` or orphaned by an orchestrator process that was killed. Containers
of runs that are still running are never touched; containers whose run this instance does
not know (another instance's, or a deleted run) are only removed with
``include_unknown=True``::

    from orchestrator.instance import Instance
    from orchestrator_docker import find_leftovers, remove_leftovers

    leftovers = find_leftovers(Instance.get())
    for item in leftovers:
        print(item.name, item.run_id, item.reason)
    remove_leftovers(leftovers)

The command line is ``orchestrator docker cleanup [--dry-run] [--include-unknown]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Leftover", "find_leftovers", "remove_leftovers"]


@dataclass
class Leftover:
    """A labelled container and what the cleanup decided about it."""

    container_id: str
    name: str
    run_id: str | None
    run_status: str | None
    state: str
    remove: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _api(base_url: str | None) -> Any:
    from .launcher import DockerLauncher

    return DockerLauncher(base_url)._api()


def find_leftovers(instance: Any, *, include_unknown: bool = False,
                   base_url: str | None = None) -> list[Leftover]:
    """Every container labelled by the orchestrator on the engine, with the decision
    (``remove``) and its reason; see the module docstring for the rules."""
    api = _api(base_url)
    out: list[Leftover] = []
    storage = instance.run_storage
    for c in api.containers(all=True, filters={"label": "orchestrator.managed=true"}):
        labels = c.get("Labels") or {}
        run_id = labels.get("orchestrator.run_id") or None
        name = (c.get("Names") or ["/" + c["Id"][:12]])[0].lstrip("/")
        run = storage.get_run(run_id) if run_id else None
        status = run.status.value if run is not None else None
        if run is None:
            remove = include_unknown
            reason = ("run unknown to this instance" if run_id else "no run id label") + \
                ("" if include_unknown else " (kept; --include-unknown removes it)")
        elif run.status.is_finished:
            remove, reason = True, f"run is {status}"
        else:
            remove, reason = False, f"run is {status}: still running"
        out.append(Leftover(c["Id"], name, run_id, status, c.get("State") or "", remove,
                            reason))
    return out


def remove_leftovers(leftovers: list[Leftover], *, base_url: str | None = None) -> list[str]:
    """Remove (force: stop first) the containers marked ``remove``; returns their names.
    A container that is already gone is skipped."""
    from docker.errors import NotFound

    api = _api(base_url)
    removed = []
    for item in leftovers:
        if not item.remove:
            continue
        try:
            api.remove_container(item.container_id, force=True, v=True)
        except NotFound:
            continue
        removed.append(item.name)
    return removed
