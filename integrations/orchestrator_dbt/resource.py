"""Running dbt: one invocation per run, its events streamed into materializations and checks.

::

    from orchestrator_dbt import DbtCliResource, DbtProject, dbt_assets, dbt_source_specs

    project = DbtProject("analytics")

    @dbt_assets(manifest=project.load_manifest())
    def analytics(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    defs = Definitions(assets=[analytics, *dbt_source_specs(analytics)],
                       resources={"dbt": DbtCliResource(project)})

``stream()`` yields a ``MaterializeResult`` for each model, seed and snapshot as soon as dbt
finishes it, and an ``AssetCheckResult`` for each test; a failed model fails the step after the
other results are in, so that only what depends on the failure is skipped.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator.results import Failure

from .errors import DbtProjectError
from .manifest import DbtManifest
from .project import DBT_IN_PROCESS_LOCK, DbtProject

__all__ = ["DbtCliInvocation", "DbtCliResource", "DbtNodeResult", "DbtRunError"]

_DONE = object()
_RUNNERS = ("in_process", "subprocess", "docker")
#: How often the host looks for new results of an external runner (seconds).
_POLL_SECONDS = 0.1
#: Where this package's runner files are mounted in a container (run as a plain script there).
_CONTAINER_LIB = "/opt/orchestrator/dbt"


class DbtRunError(Failure):
    """dbt reported errors: raised (as the step's failure) once all results are in.

    A ``Failure``: its message becomes the step's error message.
    """

    def __init__(self, description: str, metadata: Mapping[str, Any] | None = None) -> None:
        super().__init__(description, metadata=metadata, allow_retries=True)


class DbtNodeResult(dict):
    """One finished dbt node, as dbt reported it: a dict with ``unique_id``, ``name``,
    ``resource_type``, ``status`` (success, error, skipped, pass, fail, warn), ``message``,
    ``execution_time`` (seconds), ``relation_name``, ``rows_affected`` and ``num_failures``
    (``None`` when dbt does not say), ``adapter_message``, ``started_at``, ``finished_at``."""

    @property
    def unique_id(self) -> str:
        return self["unique_id"]

    @property
    def status(self) -> str:
        return self["status"]


def _node_result(data: Mapping[str, Any]) -> DbtNodeResult:
    from ._events import node_result

    return DbtNodeResult(node_result(data))


class DbtCliResource:
    """Runs dbt commands for a project, in this process (default) or in a subprocess.

    ``project`` is a :class:`DbtProject` or a project directory. ``target``, ``profiles_dir``
    (default: the project's), ``threads``, ``vars`` (a dict passed as ``--vars``) and
    ``state_path`` (a directory with the manifest of a previous run: ``--defer --state`` slim
    runs) apply to every command. Relative paths in profiles (a DuckDB file, say) are resolved
    by dbt against the current directory, as with the dbt command line.

    ``runner="subprocess"`` runs dbt in a separate Python process (``python``, default this
    interpreter, with ``env`` added to its environment) that reports through the pipes
    protocol: the same materializations and check results arrive, each as dbt finishes the
    node. ``runner="docker"`` runs that same reporter in a container of ``image`` (which must
    have Python and dbt with the adapter) through the Docker backend (``orchestrator[docker]``):
    the project directory (and the profiles, state and target directories) are mounted at the
    same paths, the working directory is the current one when it is inside the project (else
    the project directory), and ``container_options`` adds Docker launcher options
    (``network``, ``mem_limit``, ``volumes``, ``user``, ``pull_policy``...).

    ::

        dbt = DbtCliResource("analytics", target="prod", threads=8)
        invocation = dbt.cli(["build", "--select", "tag:nightly"])
        for result in invocation.stream_raw():
            print(result.unique_id, result.status)
    """

    __orchestrator_resource__ = True

    def __init__(
        self,
        project: DbtProject | str | os.PathLike[str],
        *,
        target: str | None = None,
        profiles_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        vars: Mapping[str, Any] | None = None,
        state_path: str | os.PathLike[str] | None = None,
        runner: str = "in_process",
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        image: str | None = None,
        container_options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(project, DbtProject):
            if profiles_dir is not None or target is not None:
                project = DbtProject(
                    project.project_dir,
                    profiles_dir=profiles_dir if profiles_dir is not None else project.profiles_dir,
                    target=target if target is not None else project.target,
                    manifest_path=project.manifest_path,
                    cache_dir=project.cache_dir,
                    log_path=project.log_path,
                )
        else:
            project = DbtProject(project, profiles_dir=profiles_dir, target=target)
        self.project = project
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise DbtProjectError(
                f"DbtCliResource threads must be a positive integer, got {threads!r}",
                project_dir=str(project.project_dir),
            )
        if runner not in _RUNNERS:
            raise DbtProjectError(
                f"DbtCliResource runner must be 'in_process', 'subprocess' or 'docker', got "
                f"{runner!r}",
                project_dir=str(project.project_dir),
            )
        if runner == "docker" and not (isinstance(image, str) and image):
            raise DbtProjectError(
                "DbtCliResource(runner='docker') needs image=: a Docker image with Python 3.9+, "
                "dbt-core and your adapter installed (e.g. image='my-dbt:1.11')",
                project_dir=str(project.project_dir),
            )
        if runner != "docker" and (image is not None or container_options):
            raise DbtProjectError(
                f"DbtCliResource image= and container_options= are for runner='docker', but the "
                f"runner is {runner!r}: pass runner='docker' or drop them",
                project_dir=str(project.project_dir),
            )
        self.runner = runner
        self.image = image
        self.container_options = dict(container_options or {})
        self.python = python or sys.executable
        self.env = dict(env or {})
        self.threads = threads
        self.vars = dict(vars or {})
        self.state_path = Path(state_path).absolute() if state_path is not None else None
        if self.state_path is not None and not (self.state_path / "manifest.json").is_file():
            raise DbtProjectError(
                f"state_path {self.state_path} holds no manifest.json: point it at the target "
                "directory of a previous dbt run (for --defer --state).",
                project_dir=str(project.project_dir),
            )

    def __repr__(self) -> str:
        return f"DbtCliResource({str(self.project.project_dir)!r})"

    def cli(
        self,
        args: Sequence[str],
        *,
        context: Any = None,
        manifest: DbtManifest | None = None,
        vars: Mapping[str, Any] | None = None,
    ) -> DbtCliInvocation:
        """Prepare a dbt command (``["build"]``, ``["run", "--select", "x"]``...).

        With ``context`` (the context of a ``@dbt_assets`` function) the command is limited to
        the run's selected assets and checks, gets the partition's time window as vars
        (``min_date``, ``max_date``), and its results map to the assets' keys.
        """
        from .asset_decorator import invocation_plan

        plan = invocation_plan(context, manifest) if context is not None else None
        return DbtCliInvocation(self, list(args), plan, dict(vars or {}))


class DbtCliInvocation:
    """One dbt command. Iterate with :meth:`stream` (asset results) or :meth:`stream_raw`
    (dbt's node results); :meth:`wait` runs it to the end and raises on failure."""

    def __init__(
        self, resource: DbtCliResource, args: list[str], plan: Any, extra_vars: dict[str, Any]
    ) -> None:
        self.resource = resource
        self.plan = plan
        self.node_results: list[DbtNodeResult] = []
        self.success: bool | None = None
        self.error_message: str | None = None
        self.unmatched: list[str] = []  # dbt's "selection matches nothing" warnings
        self._started = False
        self._queue: queue.Queue[Any] | None = None
        self.args = self._full_args(args, extra_vars)

    # -- the command line ---------------------------------------------------------------------
    def _full_args(self, args: list[str], extra_vars: dict[str, Any]) -> list[str]:
        res = self.resource
        if not args:
            raise DbtProjectError(
                "dbt.cli() needs a command, e.g. dbt.cli(['build'])",
                project_dir=str(res.project.project_dir),
            )
        out = list(args)
        out += res.project.dbt_args()
        if res.threads is not None and "--threads" not in out:
            out += ["--threads", str(res.threads)]
        all_vars = {**res.vars, **(self.plan.vars if self.plan is not None else {}), **extra_vars}
        if all_vars and "--vars" not in out:
            out += ["--vars", json.dumps(all_vars, sort_keys=True, default=str)]
        if res.state_path is not None and "--state" not in out:
            out += ["--defer", "--state", str(res.state_path)]
        if self.plan is not None:
            out += self.plan.selection_args(self)
        return out

    # -- running ------------------------------------------------------------------------------
    def stream_raw(self) -> Iterator[DbtNodeResult]:
        """Run dbt and yield each node's result as dbt finishes it."""
        if self._started:
            raise DbtProjectError(
                "this dbt invocation was already run: call dbt.cli(...) again for a new one",
                project_dir=str(self.resource.project.project_dir),
            )
        if self.resource.runner != "in_process":
            raise DbtProjectError(
                f"stream_raw() runs dbt in this process; with runner={self.resource.runner!r} "
                "use stream() from a @dbt_assets function",
                project_dir=str(self.resource.project.project_dir),
            )
        self._started = True
        yield from self._run_in_process()

    def _run_in_process(self) -> Iterator[DbtNodeResult]:
        try:
            from dbt.cli.main import dbtRunner
            from google.protobuf.json_format import MessageToDict
        except ImportError as exc:
            raise DbtProjectError(
                f"dbt is not installed ({exc}): pip install 'orchestrator[dbt]'",
                project_dir=str(self.resource.project.project_dir),
            ) from exc

        events: queue.Queue[Any] = queue.Queue()
        self._queue = events
        errors: list[str] = []

        unmatched: list[str] = []

        def callback(event: Any) -> None:
            name = event.info.name
            if name == "NodeFinished":
                events.put(MessageToDict(event.data, preserving_proto_field_name=True))
            elif name == "NoNodesForSelectionCriteria":
                unmatched.append(str(event.info.msg))
            elif event.info.level == "error" and event.info.msg:
                errors.append(str(event.info.msg))

        outcome: dict[str, Any] = {}
        args = [*self.args, "--log-level", "none"] if "--log-level" not in self.args else self.args

        def run() -> None:
            try:
                with DBT_IN_PROCESS_LOCK:
                    try:
                        outcome["result"] = dbtRunner(callbacks=[callback]).invoke(args)
                    finally:
                        _release_adapters()
            except BaseException as exc:  # noqa: BLE001 - reported in the step's thread
                outcome["exception"] = exc
            finally:
                events.put(_DONE)

        thread = threading.Thread(target=run, name="orchestrator-dbt", daemon=True)
        thread.start()
        while True:
            item = events.get()
            if item is _DONE:
                break
            result = _node_result(item)
            self.node_results.append(result)
            yield result
        thread.join()
        if "exception" in outcome:
            raise DbtProjectError(
                f"dbt {' '.join(self.args[:1])} crashed for project "
                f"{self.resource.project.project_dir}: {outcome['exception']}",
                project_dir=str(self.resource.project.project_dir),
            ) from outcome["exception"]
        res = outcome["result"]
        self.success = bool(res.success)
        if res.exception is not None:
            text = str(res.exception).strip()
            if text and not any(text in e for e in errors):
                errors.append(text)
        self.unmatched = unmatched
        if self.success and unmatched and (not self.node_results or self.plan is not None):
            from ._events import unmatched_message

            self.success = False
            self.error_message = unmatched_message(
                self.args[0], str(self.resource.project.project_dir), unmatched,
                generated=self.plan is not None)
        elif not self.success:
            from ._events import failure_message

            self.error_message = failure_message(
                self.args[0], str(self.resource.project.project_dir), self.node_results, errors)

    def stream(self) -> Iterator[Any]:
        """Run dbt and yield ``MaterializeResult``/``AssetCheckResult`` objects as results come.

        Only for invocations made with ``context=`` from a ``@dbt_assets`` function. After the
        last result, raises :class:`DbtRunError` if dbt failed (a model or an error-severity
        test), which fails the step while keeping what was materialized.
        """
        if self.plan is None:
            raise DbtProjectError(
                "stream() maps dbt results to assets and needs the asset context: call "
                "dbt.cli([...], context=context) inside a @dbt_assets function (or use "
                "stream_raw() for dbt's own results)",
                project_dir=str(self.resource.project.project_dir),
            )
        if self.resource.runner != "in_process":
            yield from self._stream_external()
            return
        for result in self.stream_raw():
            # the step stores each result a generator yields as it comes (live)
            yield from self.plan.to_events(result)
        if self.success is False:
            raise DbtRunError(self.error_message or "dbt failed")
        self._check_all_ran()

    def _check_all_ran(self) -> None:
        """dbt succeeded: every selected asset must have a result, else the manifest is stale."""
        if self.plan is None or self.args[0] not in ("build", "run", "seed", "snapshot"):
            return
        wanted = {"build": ("model", "seed", "snapshot"), "run": ("model",),
                  "seed": ("seed",), "snapshot": ("snapshot",)}[self.args[0]]
        seen = {r.unique_id for r in self.node_results}
        nodes = self.plan.info.manifest.nodes
        missing = sorted(uid for uid in self.plan.asset_by_uid
                         if uid not in seen and nodes[uid].resource_type in wanted)
        if missing:
            from ._events import unmatched_message

            raise DbtRunError(unmatched_message(
                self.args[0], str(self.resource.project.project_dir),
                [f"no result for {', '.join(missing[:5])}"
                 + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")],
                generated=True))

    def _stream_external(self) -> Iterator[Any]:
        """Run the reporter in a subprocess or a container; yield results as they arrive."""
        from orchestrator.pipes.session import open_pipes_session

        if self._started:
            raise DbtProjectError(
                "this dbt invocation was already run: call dbt.cli(...) again for a new one",
                project_dir=str(self.resource.project.project_dir),
            )
        self._started = True
        res = self.resource
        args = [*self.args, "--log-level", "none"] if "--log-level" not in self.args else self.args
        extras = {"dbt_args": args, "project_dir": str(res.project.project_dir),
                  **self.plan.runner_extras()}
        with open_pipes_session(self.plan.context, extras=extras) as session:
            if res.runner == "docker":
                work: _Work = _DockerWork(session, res, self.plan)
            else:
                work = _ProcessWork(session, res)
            try:
                while work.running():
                    # each yielded result is stored by the step as it comes (live)
                    yield from session.take_new_results()
                    work.pause()
            finally:
                work.stop_if_running()  # the step was interrupted or the consumer stopped
        yield from session.take_new_results()  # what the final drain read
        exit_code = work.exit_code
        outcome = next((m["dbt"] for m in session.get_custom_messages()
                        if isinstance(m, dict) and isinstance(m.get("dbt"), dict)), None)
        if exit_code != 0 or outcome is None:
            remote = session.closed_exception
            if remote:  # the runner said why, through the protocol
                name, text = remote.get("name") or "Exception", remote.get("message") or ""
                detail = text if text.startswith(name) else f"{name}: {text}"
            else:
                detail = "\n".join(work.stderr_tail(session))
            raise DbtRunError(
                f"the dbt runner {work.what} for project {res.project.project_dir} failed "
                f"(exit code {exit_code}){': ' + detail.strip() if detail.strip() else ''}")
        self.node_results = [DbtNodeResult(r) for r in outcome.get("results", [])]
        self.success = bool(outcome.get("success"))
        self.error_message = outcome.get("error_message")
        self.unmatched = list(outcome.get("unmatched") or [])
        if self.success and self.unmatched:
            from ._events import unmatched_message

            self.success = False
            self.error_message = unmatched_message(
                self.args[0], str(res.project.project_dir), self.unmatched, generated=True)
        if self.success:
            self._check_all_ran()
            session.check_outcome(exit_code=exit_code)  # every selected result came
        if not self.success:
            raise DbtRunError(self.error_message or "dbt failed")

    def wait(self) -> DbtCliInvocation:
        """Run to the end (discarding streamed results); raise :class:`DbtRunError` on failure."""
        for _ in self.stream_raw():
            pass
        if self.success is False:
            raise DbtRunError(self.error_message or "dbt failed")
        return self

    def get_artifact(self, name: str) -> dict[str, Any]:
        """A JSON artifact dbt wrote in the target directory (``run_results.json``...)."""
        path = self.resource.project.manifest_path.parent / name
        return json.loads(path.read_text())


class _Work:
    what = "process"
    exit_code: int | None = None

    def running(self) -> bool:
        raise NotImplementedError

    def pause(self) -> None:
        time.sleep(_POLL_SECONDS)

    def stop_if_running(self) -> None:
        raise NotImplementedError

    def stderr_tail(self, session: Any) -> list[str]:
        raise NotImplementedError


class _ProcessWork(_Work):
    """``python -m orchestrator_dbt._pipes_runner`` as a child process of this one."""

    def __init__(self, session: Any, res: DbtCliResource) -> None:
        env = {**os.environ, **res.env, **session.get_bootstrap_env_vars()}
        env["PYTHONPATH"] = os.pathsep.join(
            [*_import_roots(), *filter(None, [env.get("PYTHONPATH")])])
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [res.python, "-m", "orchestrator_dbt._pipes_runner"], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr)

    def running(self) -> bool:
        self.exit_code = self.proc.poll()
        return self.exit_code is None

    def pause(self) -> None:
        try:
            self.exit_code = self.proc.wait(_POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass

    def stop_if_running(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode

    def stderr_tail(self, session: Any) -> list[str]:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        self._stderr.close()
        return text.strip().splitlines()[-15:]


class _DockerWork(_Work):
    """The runner script in a container, launched through the Docker backend."""

    what = "container"

    def __init__(self, session: Any, res: DbtCliResource, plan: Any) -> None:
        from orchestrator.launchers.base import LaunchSpec
        from orchestrator.plugins import get_launcher

        try:
            launcher = get_launcher("docker")()
        except Exception as exc:  # noqa: BLE001 - the plugin or the docker SDK is missing
            raise DbtProjectError(
                f"DbtCliResource(runner='docker') needs the Docker backend ({exc}): "
                "pip install 'orchestrator[docker]'",
                project_dir=str(res.project.project_dir),
            ) from exc
        self.session, self.launcher = session, launcher
        options = {**_container_options(res, plan), **res.container_options}
        spec = LaunchSpec(
            command=["python3", f"{_CONTAINER_LIB}/_pipes_runner.py"],
            env={"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **res.env}, options=options)
        self.handle = session.launch(launcher, spec).handle

    def running(self) -> bool:
        status = self.launcher.poll(self.handle)
        if status.finished:
            self.session.status = status
            self.exit_code = status.exit_code
            return False
        return True

    def stop_if_running(self) -> None:
        if self.session.status is None:
            self.session.cancel(10.0, reason="the step stopped")
            self.exit_code = self.session.status.exit_code

    def stderr_tail(self, session: Any) -> list[str]:
        return session.stderr_tail(15)  # kept by the session when it closed


def _container_options(res: DbtCliResource, plan: Any) -> dict[str, Any]:
    """Mounts and working directory that make the host's paths valid in the container."""
    project = res.project
    dirs = [project.project_dir]
    for extra in (project.profiles_dir, res.state_path, plan.target_dir):
        if extra is not None:
            dirs.append(Path(extra))
    volumes: dict[str, dict[str, str]] = {}
    for d in sorted({d.resolve() for d in dirs}, key=lambda p: len(p.parts)):
        if not any(d.is_relative_to(m) for m in map(Path, volumes)):
            volumes[str(d)] = {"bind": str(d), "mode": "rw"}
    # only the runner and its shared module, as plain scripts: the package's other modules
    # would shadow standard ones (resource, ...) on the script's sys.path
    here = Path(__file__).resolve().parent
    for name in ("_pipes_runner.py", "_events.py"):
        volumes[str(here / name)] = {"bind": f"{_CONTAINER_LIB}/{name}", "mode": "ro"}
    cwd = Path.cwd().resolve()
    workdir = cwd if cwd.is_relative_to(project.project_dir.resolve()) else project.project_dir
    return {"image": res.image, "volumes": volumes, "working_dir": str(workdir),
            "pull_policy": "if_missing"}


def _import_roots() -> list[str]:
    """Directories that make this orchestrator_dbt and pipes_client importable in a child."""
    import pipes_client

    here = Path(__file__).resolve().parent.parent
    client_root = Path(pipes_client.__file__).resolve().parent.parent
    return list(dict.fromkeys([str(here), str(client_root)]))


def _release_adapters() -> None:
    """Close what dbt keeps open in this process after an invocation.

    Adapters cache connections between invocations; dbt-duckdb even keeps its database open,
    keyed by the profile's path as written, so a relative path would keep pointing at the file
    of the first invocation. Closing them makes each invocation start like a new dbt process.
    """
    import sys

    try:
        from dbt.adapters.factory import reset_adapters

        reset_adapters()
    except Exception:  # noqa: BLE001, S110 - best effort
        pass
    duck = sys.modules.get("dbt.adapters.duckdb.connections")
    manager = getattr(duck, "DuckDBConnectionManager", None)
    if manager is not None:
        try:
            with manager._LOCK:
                env = manager._ENV
                manager._ENV = None
            if env is not None:
                env.close()
        except Exception:  # noqa: BLE001, S110 - best effort
            pass
