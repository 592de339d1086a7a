"""The public launcher conformance suite: subclass it in a test module and your backend is
checked against every rule of the launcher contract (:mod:`orchestrator.launchers.base`),
through the raw :class:`~orchestrator.launchers.base.Launcher` API *and* end to end through
a pipes session with a real external process::

    # tests/test_my_launcher.py
    import pytest
    from orchestrator.launchers import LaunchSpec
    from orchestrator.testing.launchers import LauncherConformance
    from my_backend import MyLauncher

    class TestMyLauncher(LauncherConformance):
        @pytest.fixture
        def launcher(self):
            return MyLauncher()

        def make_spec(self, script, tmp_path):
            # run the POSIX shell snippet `script`; tmp_path must be visible to the work
            # at the same path (mount it, sync it...)
            return LaunchSpec(command=["sh", "-c", script], cwd=str(tmp_path))

Run it with ``pytest tests/test_my_launcher.py``. What a subclass provides:

- the ``launcher`` fixture: a launcher instance (built the same way each time);
- :meth:`make_spec`: a :class:`~orchestrator.launchers.base.LaunchSpec` running a shell
  snippet, with *tmp_path* readable and writable by the work at the same path;
- :attr:`python`: the Python interpreter *inside the work's environment* (default
  ``"python3"``); ``pipes_client`` must be importable there (the Docker launcher mounts it;
  for local backends it is installed with the orchestrator);
- optionally :meth:`leftovers` (what of a launch still exists after cleanup: override it to
  look for containers, cloud jobs, uploaded objects), :attr:`channels` (message channels the
  backend supports, default ``("file", "stdio")``) and :attr:`timeout`.

The cases: success (a materialization and log lines, on every channel), failure by exit code
(stop reason and stderr tail), remote exception (``closed`` with an exception), never opened,
cancel (nothing left running, a child process included), cleanup (nothing left behind), live
log streaming (a line is in the event log while the work still runs), large messages (a 1 MB
metadata value and 10,000 log lines, on every channel), reattach (an orchestrator process that
dies mid-run; a fresh process finds the work by its recorded handle and resumes reading
without loss or duplicates), the handle recorded before the work starts, plus the raw-API
rules of :class:`orchestrator.launchers.conformance.LauncherConformance`, which this class
extends. The suite needs pytest and is imported only by tests.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from ..errors import PipesError
from ..launchers.base import Launcher, LaunchSpec
from ..launchers.conformance import LauncherConformance as _RawConformance
from .pipes import PipesTestContext

__all__ = ["LauncherConformance", "run_in_session"]


def _reader(channel: str) -> Any:
    from ..pipes import PipesFileMessageReader, PipesStdioMessageReader

    if channel == "file":
        return PipesFileMessageReader()
    if channel == "stdio":
        return PipesStdioMessageReader()
    raise ValueError(f"the conformance suite knows channels 'file' and 'stdio', not {channel!r}")


def run_in_session(launcher: Launcher, spec: LaunchSpec, *, channel: str = "file",
                   context: PipesTestContext | None = None, grace_period: float = 5.0
                   ) -> tuple[PipesTestContext, Any, PipesError | None]:
    """Launch *spec* with *launcher* through a pipes session, wait, collect; returns
    ``(context, session, error)`` where *error* is the :class:`PipesError` of
    ``check_outcome`` (``None`` on success)."""
    from ..pipes import open_pipes_session

    context = context or PipesTestContext("conformance")
    with open_pipes_session(context, message_reader=_reader(channel)) as session:
        session.launch(launcher, spec)
        session.wait(grace_period)
    try:
        session.check_outcome()
    except PipesError as exc:
        return context, session, exc
    return context, session, None


def _until(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class LauncherConformance(_RawConformance):
    """Subclass with a ``launcher`` fixture and :meth:`make_spec` (see the module docstring)."""

    #: The Python interpreter inside the work's environment.
    python: str = "python3"
    #: Message channels the backend supports.
    channels: tuple[str, ...] = ("file", "stdio")

    # -- hooks for subclasses ----------------------------------------------------------------
    def python_spec(self, code: str, tmp_path: Path) -> LaunchSpec:
        """A spec running Python *code* (dedented) in the work's environment."""
        return self.make_spec(f"exec {shlex.quote(self.python)} -u -c "
                              f"{shlex.quote(textwrap.dedent(code))}", tmp_path)

    def leftovers(self, launcher: Launcher, handle: dict[str, Any]) -> list[str]:
        """What of the launch behind *handle* still exists (after cleanup this must be
        empty). The default lists the absolute paths named in the handle that exist;
        backends that create remote things (containers, jobs, objects) should add those."""
        found = []
        for value in handle.values():
            if isinstance(value, str) and os.path.isabs(value) and os.path.exists(value):
                found.append(value)
        return found

    def launcher_factory_source(self, launcher: Launcher) -> str:
        """Python source of an expression building a fresh launcher like the fixture's, for
        the reattach test's first orchestrator process (default: the class with no
        arguments)."""
        cls = type(launcher)
        return f"__import__('importlib').import_module({cls.__module__!r}).{cls.__qualname__}()"

    # -- end to end through a pipes session ---------------------------------------------------
    @pytest.mark.parametrize("channel", ["file", "stdio"])
    def test_pipes_success(self, launcher: Launcher, tmp_path: Path, channel: str) -> None:
        if channel not in self.channels:
            pytest.skip(f"{type(launcher).__name__} does not support the {channel} channel")
        code = """
            from pipes_client import open_pipes
            print("plain stdout line", flush=True)
            with open_pipes() as pipes:
                pipes.log.info("hello from the work")
                pipes.report_asset_materialization(metadata={"rows": 3})
            print("after close", flush=True)
        """
        ctx, session, err = run_in_session(launcher, self.python_spec(code, tmp_path),
                                           channel=channel)
        assert err is None, f"expected success, got: {err}"
        assert ctx.events[0].event_type.value == "EXTERNAL_LAUNCHED"  # handle first
        assert ctx.events[0].data["handle"]["launcher"] == launcher.name
        logs = ctx.logs()
        assert "hello from the work" in logs
        assert ctx.logs("stdout").count("plain stdout line") == 1
        assert ctx.logs("stdout").count("after close") == 1
        assert not any("__dagster_pipes_version" in m for m in logs)  # messages are not logs
        [result] = session.get_results()
        assert result.asset_key.path == ["conformance"]
        assert result.metadata["rows"].value == 3
        assert self.leftovers(launcher, session.handle) == []

    def test_pipes_failure_by_exit_code(self, launcher: Launcher, tmp_path: Path) -> None:
        code = """
            import sys
            print("going down", file=sys.stderr, flush=True)
            sys.exit(3)
        """
        ctx, session, err = run_in_session(launcher, self.python_spec(code, tmp_path))
        assert err is not None, "a non-zero exit must fail the step"
        assert err.exit_code == 3
        assert err.stop_reason and "3" in err.stop_reason
        assert "going down" in str(err)  # the stderr tail is in the error
        assert "going down" in ctx.logs("stderr")
        assert self.leftovers(launcher, session.handle) == []

    def test_pipes_remote_exception(self, launcher: Launcher, tmp_path: Path) -> None:
        code = """
            from pipes_client import open_pipes
            with open_pipes() as pipes:
                pipes.log.info("working")
                raise ValueError("bad row 42")
        """
        _ctx, _session, err = run_in_session(launcher, self.python_spec(code, tmp_path))
        assert err is not None, "closed-with-exception must fail the step"
        assert "ValueError" in str(err) and "bad row 42" in str(err)
        assert err.remote_exception and err.remote_exception.get("name") == "ValueError"

    def test_pipes_never_opened(self, launcher: Launcher, tmp_path: Path) -> None:
        code = """
            print("I do not speak the protocol")
        """
        ctx, _session, err = run_in_session(launcher, self.python_spec(code, tmp_path))
        assert err is not None, "exit 0 without 'opened' must not be a success"
        assert "without opening" in str(err)
        assert "I do not speak the protocol" in ctx.logs("stdout")

    def test_pipes_live_log_streaming(self, launcher: Launcher, tmp_path: Path) -> None:
        from ..pipes import open_pipes_session

        gate = tmp_path / "live-gate"
        code = f"""
            import os, time
            from pipes_client import open_pipes
            with open_pipes() as pipes:
                print("first line", flush=True)
                deadline = time.time() + {self.timeout}
                while not os.path.exists({str(gate)!r}) and time.time() < deadline:
                    time.sleep(0.02)
                print("second line", flush=True)
                pipes.report_asset_materialization()
        """
        ctx = PipesTestContext("conformance")
        with open_pipes_session(ctx) as session:
            session.launch(launcher, self.python_spec(code, tmp_path))
            try:
                _until("'first line' in the event log", lambda: "first line" in ctx.logs(),
                       self.timeout)
                assert launcher.poll(session.handle).state == "running"
                assert "second line" not in ctx.logs()
            finally:
                gate.write_text("go")
            session.wait(5.0)
        session.check_outcome()
        assert ctx.logs("stdout") == ["first line", "second line"]

    @pytest.mark.parametrize("channel", ["file", "stdio"])
    def test_pipes_large_messages(self, launcher: Launcher, tmp_path: Path,
                                  channel: str) -> None:
        if channel not in self.channels:
            pytest.skip(f"{type(launcher).__name__} does not support the {channel} channel")
        code = """
            import sys
            from pipes_client import open_pipes
            with open_pipes() as pipes:
                out = sys.stdout
                for i in range(10000):
                    out.write(f"line {i}\\n")
                out.flush()
                for i in range(200):
                    pipes.log.info(f"message {i}")
                pipes.report_asset_materialization(
                    metadata={"big": "".join(chr(97 + i % 26) for i in range(1_000_000))})
        """
        ctx, session, err = run_in_session(launcher, self.python_spec(code, tmp_path),
                                           channel=channel)
        assert err is None, f"expected success, got: {err}"
        assert ctx.logs("stdout") == [f"line {i}" for i in range(10000)]
        messages = [m for m in ctx.logs() if m.startswith("message ")]
        assert messages == [f"message {i}" for i in range(200)]
        [result] = session.get_results()
        big = result.metadata["big"].value
        assert len(big) == 1_000_000 and big[:3] == "abc" and big[-1] == chr(97 + 999_999 % 26)

    def test_cancel_leaves_nothing_running(self, launcher: Launcher, tmp_path: Path) -> None:
        code = """
            import signal, subprocess, sys, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)   # only the forced stop works
            child = subprocess.Popen([sys.executable, "-u", "-c",
                "import time\\nfor i in range(100000):\\n print('child', i, flush=True); "
                "time.sleep(0.02)"])
            for i in range(100000):
                print("parent", i, flush=True)
                time.sleep(0.02)
        """
        launched = launcher.launch(self.python_spec(code, tmp_path), on_handle=lambda _l: None)
        handle = launched.handle
        cursor: Any = None
        seen: list[str] = []

        def both_ticking() -> bool:
            nonlocal cursor
            batch = launcher.read_logs(handle, cursor)
            cursor = batch.cursor
            seen.extend(t for _s, t in batch.lines)
            return any(t.startswith("child") for t in seen) and \
                any(t.startswith("parent") for t in seen)

        try:
            _until("both processes to print", both_ticking, self.timeout)
            status = launcher.cancel(handle, grace_period=0.5)
            assert status.finished, status
            assert launcher.poll(handle).finished
            cursor = launcher.read_logs(handle, cursor, final=True).cursor
            time.sleep(0.5)
            late = launcher.read_logs(handle, cursor, final=True).lines
            assert late == [], f"work still printing after cancel: {late[:3]}"
            assert launcher.cancel(handle, 0.5).finished  # a no-op now
        finally:
            launcher.cancel(handle, 0.5)
            launcher.cleanup(handle)
        assert self.leftovers(launcher, handle) == []

    def test_cleanup_leaves_nothing_behind(self, launcher: Launcher, tmp_path: Path) -> None:
        launched = launcher.launch(self.make_spec("echo some output; echo more >&2", tmp_path),
                                   on_handle=lambda _l: None)
        launcher.wait(launched.handle, self.timeout)
        launcher.cleanup(launched.handle)
        assert self.leftovers(launcher, launched.handle) == []
        launcher.cleanup(launched.handle)  # idempotent
        # and after a failure
        failed = launcher.launch(self.make_spec("echo no >&2; exit 7", tmp_path),
                                 on_handle=lambda _l: None)
        assert launcher.wait(failed.handle, self.timeout).exit_code == 7
        launcher.cleanup(failed.handle)
        assert self.leftovers(launcher, failed.handle) == []

    def test_handle_is_json_and_reattachable(self, launcher: Launcher, tmp_path: Path) -> None:
        recorded: list[Any] = []
        launched = launcher.launch(self.make_spec("echo hi", tmp_path),
                                   on_handle=lambda launch: recorded.append(
                                       json.loads(json.dumps(launch.handle))))
        try:
            assert recorded == [launched.handle]
            assert recorded[0]["launcher"] == launcher.name
            launcher.wait(launched.handle, self.timeout)
            assert type(launcher)().reattach(recorded[0]).finished
        finally:
            launcher.cleanup(launched.handle)

    @pytest.mark.parametrize("channel", ["file", "stdio"])
    def test_reattach_after_orchestrator_restart(self, launcher: Launcher, tmp_path: Path,
                                                 channel: str) -> None:
        """A first orchestrator process launches the work through a pipes session storing
        events in a run store, reads part of the output and dies (``os._exit``); this
        process reattaches with :func:`~orchestrator.pipes.reattach_pipes_session` and
        collects the rest: every message and log line is stored exactly once."""
        if channel not in self.channels:
            pytest.skip(f"{type(launcher).__name__} does not support the {channel} channel")
        from ..instance import Instance
        from ..pipes import reattach_pipes_session

        home = tmp_path / "home"
        home.mkdir()
        gate = tmp_path / "reattach-gate"
        work = f"""
            import os, time
            from pipes_client import open_pipes
            with open_pipes() as pipes:
                for i in range(5):
                    pipes.log.info(f"before {{i}}")
                    print(f"out-before {{i}}", flush=True)
                deadline = time.time() + {self.timeout}
                while not os.path.exists({str(gate)!r}) and time.time() < deadline:
                    time.sleep(0.02)
                for i in range(5):
                    pipes.log.info(f"after {{i}}")
                    print(f"out-after {{i}}", flush=True)
                pipes.report_asset_materialization(metadata={{"done": True}})
        """
        spec = self.python_spec(work, tmp_path)
        run_id = "reattach" + os.urandom(4).hex()
        first = f"""
            import os, sys, time, pickle
            os.environ["ORCHESTRATOR_HOME"] = {str(home)!r}
            from orchestrator.events import RunRecord
            from orchestrator.instance import Instance
            from orchestrator.pipes import open_pipes_session
            from orchestrator.testing.launchers import _reader
            from orchestrator.testing.pipes import PipesTestContext
            instance = Instance.get()
            instance.run_storage.add_run(RunRecord({run_id!r}, "__test_job"))
            launcher = {self.launcher_factory_source(launcher)}
            spec = pickle.loads({pickle_dumps(spec)!r})
            ctx = PipesTestContext("conformance", run_id={run_id!r},
                                   storage=instance.run_storage)
            session_cm = open_pipes_session(ctx, message_reader=_reader({channel!r}))
            session = session_cm.__enter__()
            session.launch(launcher, spec)
            deadline = time.time() + {self.timeout}
            while time.time() < deadline:
                logs = ctx.logs()
                if "before 4" in logs and "out-before 4" in logs:
                    break
                time.sleep(0.02)
            else:
                sys.exit("the work never printed its first part")
            os._exit(0)  # the orchestrator dies: no close, no cleanup
        """
        # the child imports what this process can (the launcher's module too); the directory
        # holding the orchestrator comes first, so that a test folder named like a package
        # (tests/pipes_client) on sys.path cannot shadow the real one
        import orchestrator

        root = os.path.dirname(os.path.dirname(os.path.abspath(orchestrator.__file__)))
        env = dict(os.environ, ORCHESTRATOR_HOME=str(home),
                   PYTHONPATH=os.pathsep.join([root, *(p for p in sys.path if p)]))
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(first)], env=env,
                              capture_output=True, text=True, timeout=self.timeout * 2,
                              check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        old = os.environ.get("ORCHESTRATOR_HOME")
        os.environ["ORCHESTRATOR_HOME"] = str(home)
        try:
            instance = Instance.get()
            stored = instance.run_storage.get_events(run_id)
            assert [e for e in stored if e.event_type.value == "EXTERNAL_LAUNCHED"]
            gate.write_text("go")
            session = reattach_pipes_session(instance, run_id)
            session.check_outcome()
            events = instance.run_storage.get_events(run_id)
        finally:
            if old is None:
                os.environ.pop("ORCHESTRATOR_HOME", None)
            else:
                os.environ["ORCHESTRATOR_HOME"] = old
        logs = [e.message for e in events if e.event_type.value == "LOG"]
        for i in range(5):
            for text in (f"before {i}", f"out-before {i}", f"after {i}", f"out-after {i}"):
                assert logs.count(text) == 1, (text, logs)
        assert [m for m in logs if m.startswith("out-")] == \
            [f"out-before {i}" for i in range(5)] + [f"out-after {i}" for i in range(5)]
        [result] = session.get_results()
        assert result.metadata["done"].value is True
        assert self.leftovers(launcher, session.handle) == []


def pickle_dumps(obj: Any) -> bytes:
    import pickle

    return pickle.dumps(obj)
