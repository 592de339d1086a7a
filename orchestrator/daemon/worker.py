"""Executes one queued run in this process: ``python -m orchestrator.daemon.worker RUN_ID``.

The daemon starts it with ``ORCHESTRATOR_HOME`` set. It loads the run's code location
(``RunRecord.code_location``), rebuilds the job (a subset of an asset job when the run
selects some assets), and executes it under the queued run's id. Anything that stops it
before the run starts is recorded as the run's failure.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["execute_queued_run", "main"]


def resolve_job(defs: Any, run: Any) -> Any:
    """The job a run executes, from its code location's definitions."""
    from ..asset_key import AssetKey

    names = set(defs.job_names)
    if run.job_name in names:
        job = defs.get_job_def(run.job_name)
        layer = getattr(job, "asset_layer", None)
        if run.asset_selection and layer is not None:
            wanted = {AssetKey.from_user_string(k) for k in run.asset_selection}
            if wanted != set(layer.selected_keys):
                sub = defs.asset_job(sorted(wanted, key=lambda k: k.parts), name=run.job_name)
                sub.tags = {**job.tags, **sub.tags}
                sub.partitions_def = job.partitions_def
                return sub
        return job
    if run.asset_selection:
        keys = [AssetKey.from_user_string(k) for k in run.asset_selection]
        return defs.asset_job(keys, name=run.job_name)
    from ..errors import DefinitionError

    raise DefinitionError(f"run {run.run_id}: job '{run.job_name}' is not in its code location "
                          f"any more (jobs: {sorted(names)}); it cannot be executed")


def execute_queued_run(instance: Any, run_id: str) -> Any:
    """Execute the queued run ``run_id`` in this process; returns the ExecutionResult."""
    from ..code_location import CodeLocationOrigin
    from ..errors import DefinitionError
    from ..execution.api import execute_job
    from ..execution.cancel import process_tags

    run = instance.run_storage.get_run(run_id)
    if run is None:
        raise DefinitionError(f"no run {run_id!r} in the instance at {instance.home}")
    if run.code_location is None:
        raise DefinitionError(f"run {run_id} records no code location; it cannot be executed "
                              f"in its own process")
    defs = CodeLocationOrigin.from_pointer(run.code_location).load()
    job = resolve_job(defs, run)
    kwargs: dict[str, Any] = {}
    if run.partition and "..." in run.partition:
        start, _, end = run.partition.partition("...")
        kwargs["partition_key_range"] = (start, end)
    elif run.partition:
        kwargs["partition_key"] = run.partition
    return execute_job(job, run_config=run.run_config or None, instance=instance,
                       run_id=run_id, tags=process_tags(), raise_on_error=False,
                       code_location=run.code_location, **kwargs)


def main(argv: list[str] | None = None) -> int:
    from ..instance import Instance

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m orchestrator.daemon.worker RUN_ID", file=sys.stderr)
        return 2
    return _run(Instance.get(), args[0])


def main_in_fork(run_id: str, home: str) -> int:
    """Entry point of a run process forked from the daemon: a new Instance object (the
    daemon's store connections are not used across the fork)."""
    import sys as _sys

    from ..instance import Instance

    _sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the log file
    _sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    instance = Instance(home)
    run = instance.run_storage.get_run(run_id)
    if run is not None and run.code_location and run.code_location.startswith("file:"):
        # re-execute the definitions file so that the run sees its current code (modules it
        # imports stay as the daemon imported them; restart the daemon to reload those)
        from ..code_location import CodeLocationOrigin, _module_name_for_file

        origin = CodeLocationOrigin.from_pointer(run.code_location)
        from pathlib import Path

        _sys.modules.pop(_module_name_for_file(Path(origin.target)), None)
    try:
        return _run(instance, run_id)
    finally:
        instance.close()


def _run(instance: Any, run_id: str) -> int:
    from ..events import Event, EventType

    try:
        result = execute_queued_run(instance, run_id)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:  # noqa: BLE001 - recorded as the run's failure
        run = instance.run_storage.get_run(run_id)
        if run is not None and not run.status.is_finished:
            from ..execution.step import serialize_error

            instance.run_storage.store_event(Event(
                EventType.RUN_FAILURE, run_id, level=40,
                message=f"the run could not start: {type(exc).__name__}: {exc}",
                data={"error": serialize_error(exc)}))
        print(f"run {run_id} could not start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
