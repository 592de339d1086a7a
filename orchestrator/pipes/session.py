"""The pipes session: context injection, message reading, events, results, failure rules.

::

    from orchestrator.pipes import open_pipes_session

    @asset
    def orders(context):
        with open_pipes_session(context, extras={"limit": 10}) as session:
            subprocess.run(["python", "orders.py"], env={**os.environ,
                           **session.get_bootstrap_env_vars()}, check=True)
        return session.get_results()

While the session is open a reader thread pulls the message channel (and, when the work
was started through :meth:`PipesSession.launch`, the launcher's stdout/stderr), turns lines
into events and stores them in batches as they arrive: a log line of the external process
is in the run's event log while it still runs. Every message except ``log`` and
``heartbeat`` is also recorded as a DEBUG ``ENGINE_EVENT`` carrying the parsed message, and
the last event of each batch carries the read cursor, so a session reattached after a
restart (:func:`reattach_pipes_session`) rebuilds its state and resumes reading without
losing or duplicating messages.

Reading is lenient: a malformed line, an unknown method, a missing or extra param or a bad
metadata value becomes a WARNING log event quoting the line, and reading goes on. The
outcome is strict (:meth:`PipesSession.check_outcome`, "no false greens"): a non-zero exit
code, ``closed`` with an exception, a session never opened or never closed, a selected asset
or check that was not reported, or a report outside the selection raise
:class:`~orchestrator.errors.PipesError`.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..asset_key import AssetKey
from ..errors import PipesError
from ..events import Event, EventType
from .context import (
    PipesContextInjector,
    PipesTempFileContextInjector,
    build_context_data,
    selection_of,
)
from .readers import LineParser, PipesFileMessageReader, PipesMessageReader, default_line_parser

__all__ = ["PipesSession", "open_pipes_session", "reattach_pipes_session"]

_log = logging.getLogger("orchestrator.pipes")
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_MAX_QUOTE = 300
_KEPT_TAIL = 100  # lines of stdout/stderr kept when the session closes
#: Features this host implements (advertised in the context's ``pipes_features``).
HOST_FEATURES = ("outputs", "progress", "heartbeat", "context_ref", "check_targets")


def _quote(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= _MAX_QUOTE else text[:_MAX_QUOTE] + "...")


def _format_remote(exc: dict[str, Any] | None, depth: int = 0) -> str:
    """A remote exception (``closed`` params) as text: type, message, stack, cause chain."""
    if not exc or depth > 10:
        return ""
    name = exc.get("name")
    msg = (exc.get("message") or "").rstrip()
    first = msg.split(":", 1)[0]
    head = msg if name is None or first.endswith(name) else f"{name}: {msg}"
    stack = "".join(exc.get("stack") or []).rstrip()
    text = head + (f"\n{stack}" if stack else "")
    if exc.get("cause"):
        text += "\n\nThe above was caused by:\n" + _format_remote(exc["cause"], depth + 1)
    elif exc.get("context"):
        text += "\n\nWhile handling:\n" + _format_remote(exc["context"], depth + 1)
    return text


def _resolve_sink(context: Any) -> Callable[[list[Event]], None]:
    fn = getattr(context, "_emit_events", None)
    if fn is not None:
        return fn
    emit = getattr(getattr(context, "log", None), "_emit", None)
    if emit is not None:
        def one_by_one(events: list[Event]) -> None:
            for ev in events:
                emit(ev)
        return one_by_one

    def to_logging(events: list[Event]) -> None:
        for ev in events:
            _log.log(ev.level, "%s", ev.message)
    return to_logging


class _Target:
    """Who the session works for: run, step, selected assets and checks, partition."""

    def __init__(self, run_id: str, step_key: str | None, asset_keys: list[AssetKey],
                 check_keys: list[tuple[AssetKey, str]], partition: str | None) -> None:
        self.run_id = run_id
        self.step_key = step_key
        self.asset_keys = asset_keys
        self.check_keys = check_keys
        self.partition = partition
        self.log_key = asset_keys[0] if len(asset_keys) == 1 else None

    def check_asset_keys(self) -> set[str]:
        """Escaped keys of the assets the step's declared checks target (computed once)."""
        cached = self.__dict__.get("_check_asset_keys")
        if cached is None:
            from pipes_protocol import escape_asset_key

            cached = self._check_asset_keys = {escape_asset_key(k.path)
                                               for k, _ in self.check_keys}
        return cached

    def escaped(self) -> list[str]:
        from pipes_protocol import escape_asset_key

        return [escape_asset_key(k.path) for k in self.asset_keys]

    def check_targets(self) -> dict[str, list[str]]:
        """Declared checks on assets the step does not materialize (e.g. dbt source tests on
        the step's deps): escaped asset key -> check names, for ``pipes_features``."""
        from pipes_protocol import escape_asset_key

        own = set(self.escaped())
        out: dict[str, list[str]] = {}
        for key, name in self.check_keys:
            escaped = escape_asset_key(key.path)
            if escaped not in own and name not in out.setdefault(escaped, []):
                out[escaped].append(name)
        return out


class PipesSession:
    """One external process's conversation with the orchestrator (made by
    :func:`open_pipes_session`; see the module docstring)."""

    def __init__(self, target: _Target, *, sink: Callable[[list[Event]], None],
                 message_reader: PipesMessageReader, line_parser: LineParser | None = None,
                 session_dir: str | None = None) -> None:
        self.target = target
        self.message_reader = message_reader
        self.line_parser = line_parser or default_line_parser
        self.session_dir = session_dir or tempfile.mkdtemp(prefix="orch-pipes-")
        self.launch_id = uuid.uuid4().hex
        self.context_data: dict[str, Any] = {}
        self.context_params: dict[str, Any] = {}
        self.message_params: dict[str, Any] = {}
        self._sink = sink
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._injector: PipesContextInjector | None = None
        self._output_bases: dict[str, str] = {}
        # launched work
        self.launcher: Any = None
        self.handle: dict[str, Any] | None = None
        self.launched: Any = None
        self.status: Any = None
        self._log_cursor: Any = None
        # what the external process said
        self.opened = False
        self.opened_extras: dict[str, Any] = {}
        self.closed = False
        self.closed_exception: dict[str, Any] | None = None
        self.materializations: dict[str, dict[str, Any]] = {}
        self.checks: dict[tuple[str, str], dict[str, Any]] = {}
        self.custom_messages: list[Any] = []
        self.outputs: dict[str, dict[str, Any]] = {}
        self.output_values: dict[str, Any] = {}
        self.errors: list[str] = []
        self.warning_count = 0
        self.message_count = 0
        self.last_heartbeat: float | None = None
        #: Seconds without a heartbeat (once one arrived) before a WARNING is logged.
        self.heartbeat_timeout: float | None = None
        self._heartbeat_warned = False
        self.last_progress: dict[str, Any] | None = None
        self._closed_session = False
        self._keep_dir = False
        self._context: Any = None
        self._tails: dict[str | None, list[str]] = {}
        self._unstored: list[Event] = []
        self._taken = (0, 0)  # materializations, checks handed out by take_new_results()

    # -- setup ---------------------------------------------------------------------------
    def _setup(self, context: Any, extras: dict[str, Any] | None,
               injector: PipesContextInjector, outputs_url: str | None,
               heartbeat_interval: float) -> None:
        from pipes_protocol import make_features

        self._context = context
        base = (outputs_url or self.session_dir).rstrip("/")
        for i, key in enumerate(self.target.escaped()):
            self._output_bases[key] = f"{base}/output-{self.launch_id[:8]}-{i}"
        features = make_features(list(HOST_FEATURES), heartbeat_interval=heartbeat_interval,
                                 outputs=self._output_bases,
                                 check_targets=self.target.check_targets())
        self.context_data = build_context_data(context, extras=extras, features=features)
        self._injector = injector
        self.heartbeat_timeout = 3 * heartbeat_interval
        self.context_params = injector.inject(self.context_data, self.session_dir)
        self.message_params = self.message_reader.setup(self.session_dir)

    # -- bootstrap -----------------------------------------------------------------------
    def get_bootstrap_env_vars(self) -> dict[str, str]:
        """``DAGSTER_PIPES_CONTEXT`` and ``DAGSTER_PIPES_MESSAGES`` (encoded), plus the plain
        ``PIPES_*`` variables for shells (asset key, partition, run id, messages path)."""
        from pipes_protocol import bootstrap_env_vars, plain_env_vars

        env = plain_env_vars(self.context_data, self.message_params)
        env.update(bootstrap_env_vars(self.context_params, self.message_params))
        return env

    def get_bootstrap_cli_arguments(self) -> list[str]:
        """``["--dagster-pipes-context", v, "--dagster-pipes-messages", v]``."""
        from pipes_protocol import bootstrap_cli_args

        return bootstrap_cli_args(self.context_params, self.message_params)

    def get_bootstrap_params(self) -> dict[str, str]:
        """The two encoded values by key (for platforms taking a mapping: Lambda events...)."""
        from pipes_protocol import ENV_CONTEXT, ENV_MESSAGES, encode_bootstrap

        return {ENV_CONTEXT: encode_bootstrap(self.context_params),
                ENV_MESSAGES: encode_bootstrap(self.message_params)}

    # -- events ------------------------------------------------------------------------------
    def _event(self, etype: EventType, message: str, level: int = 20,
               data: dict[str, Any] | None = None, asset_key: AssetKey | None = None) -> Event:
        t = self.target
        return Event(etype, t.run_id, message=message, step_key=t.step_key,
                     asset_key=asset_key if asset_key is not None else t.log_key,
                     partition=t.partition, level=level, data=data if data is not None else {})

    def emit(self, events: list[Event]) -> None:
        """Store events through the run's sink (thread-safe)."""
        if events:
            self._sink(events)

    # -- launching -----------------------------------------------------------------------
    def launch(self, launcher: Any, spec: Any) -> Any:
        """Launch work with a :class:`~orchestrator.launchers.base.Launcher`: adds the bootstrap
        variables to ``spec.env``, records the handle (``EXTERNAL_LAUNCHED``) before the work
        starts, and streams the work's stdout/stderr into the event log from then on."""
        spec.env = {**dict(spec.env), **self.get_bootstrap_env_vars()}
        if spec.workdir is None:
            spec.workdir = self.session_dir  # one private directory: one rmdir at the end
        t = self.target
        spec.labels = {"run_id": t.run_id, "step_key": t.step_key or "",
                          "asset": ",".join(k.to_user_string() for k in t.asset_keys),
                       **dict(spec.labels)}
        spec.bootstrap = {"context": self.context_params, "messages": self.message_params}

        def record(launched: Any) -> None:
            from ..launchers.subprocess import _proc_start_time

            data = {
                "launcher": launcher.name, "handle": launched.handle,
                "console_url": launched.console_url, "log_locator": launched.log_locator,
                "launch_id": self.launch_id, "orchestrator_pid": os.getpid(),
                "orchestrator_start_time": _proc_start_time(os.getpid()),
                "orchestrator_host": socket.gethostname(),
                "session": {"reader": self.message_reader.spec(),
                            "session_dir": self.session_dir,
                            "asset_keys": self.target.escaped(),
                            "check_keys": [[k.to_user_string(), n]
                                           for k, n in self.target.check_keys],
                            "outputs": self._output_bases},
            }
            self._tag_run_process()
            where = launched.log_locator or launched.console_url or ""
            self.emit([self._event(EventType.EXTERNAL_LAUNCHED,
                                   f"launched external process ({launcher.name}) "
                                   f"{_handle_text(launched.handle)}"
                                   + (f", logs: {where}" if where else ""), data=data)])
            self.launcher, self.handle, self.launched = launcher, launched.handle, launched

        return launcher.launch(spec, on_handle=record)

    def _tag_run_process(self) -> None:
        """Record this process in the run's tags (``orchestrator/pid``) when the run does not
        have it yet, so ``orchestrator runs cancel`` can signal it."""
        ctx = self._context
        run = getattr(ctx, "run", None) if ctx is not None else None
        instance = getattr(ctx, "instance", None) if ctx is not None else None
        if run is None or instance is None or "orchestrator/pid" in (run.tags or {}):
            return
        try:
            from ..execution.cancel import process_tags

            tags = process_tags()
            instance.run_storage.update_run(run.run_id, tags=tags)
            run.tags.update(tags)
        except Exception:  # noqa: BLE001 - cancel by pid is a convenience
            _log.debug("could not tag run %s with its pid", run.run_id, exc_info=True)

    # -- reading -----------------------------------------------------------------------------
    def start(self) -> None:
        """Hand the session to the reader thread (done by :func:`open_pipes_session`)."""
        _PUMP.add(self)

    def _check_heartbeat(self) -> None:
        """Warn once per silence when a client that sends heartbeats stopped sending them
        (it may be hung). Clients that never sent one (Dagster's) are not judged."""
        last = self.last_heartbeat
        if last is None or self.closed or self._heartbeat_warned:
            return
        silent = time.time() - last
        if silent > (self.heartbeat_timeout or 0.0):
            self._heartbeat_warned = True
            self.emit([self._event(
                EventType.LOG,
                f"[pipes] no heartbeat from the external process for {silent:.1f} s (it sends "
                f"one every {self.context_data.get('pipes_features', {}).get('heartbeat_interval')}"
                f" s): it may be hung", 30, {"pipes_warning": True, "heartbeat_missed": True})])

    def _tick(self, final: bool) -> int:
        with self._lock:
            if self._stop.is_set() and not final:
                return 0  # closed: the final drain belongs to close()
            lines = self.message_reader.read(final)
            logs: list[tuple[str, str]] = []
            if self.launcher is not None and self.handle is not None:
                batch = self.launcher.read_logs(self.handle, self._log_cursor, final=final)
                self._log_cursor = batch.cursor
                logs = batch.lines
            if not lines and not logs:
                if self._unstored:
                    self._store([])
                return 0
            events: list[Event] = []
            if lines:
                t = self.target
                run_id, step_key, key, part = t.run_id, t.step_key, t.log_key, t.partition
                log_type, fast_log, handle = EventType.LOG, _fast_log, self._handle_line
                fast_n = 0
                for line in lines:
                    fast = fast_log(line)
                    if fast is not None:  # the hot path: a canonical log message
                        fast_n += 1
                        events.append(Event(log_type, run_id, fast[0], step_key, key, part,
                                            fast[1]))
                    else:
                        handle(line, events)
                self.message_count += fast_n
            stdio = self.message_reader.stdio_stream
            parse = self.line_parser
            from pipes_protocol import VERSION_KEY

            for stream, text in logs:
                if stream == stdio and VERSION_KEY in text and \
                        self._handle_line(text, events, stream_line=True):
                    continue
                parsed = parse(stream, text)
                if parsed is not None:
                    events.append(self._event(EventType.LOG, parsed[1], parsed[0],
                                              {"stream": stream}))
            if events:
                events[-1].data["pipes_cursor"] = {
                    "launch_id": self.launch_id, "messages": self.message_reader.cursor,
                    "logs": self._log_cursor}
            self._store(events)
            return len(lines) + len(logs)

    def _store(self, events: list[Event]) -> None:
        """Emit *events* after any batch a failing store left over: the lines are consumed
        and the session's state updated, so the events are kept and retried, not lost."""
        batch = self._unstored + events if self._unstored else events
        if not batch:
            return
        try:
            self.emit(batch)
        except BaseException:
            self._unstored = batch
            raise
        self._unstored = []

    def _warn(self, events: list[Event] | None, text: str, line: str | None = None) -> None:
        self.warning_count += 1
        if events is not None:
            msg = f"[pipes] {text}" + (f"; line: {_quote(line)}" if line is not None else "")
            events.append(self._event(EventType.LOG, msg, 30, {"pipes_warning": True}))

    def _handle_line(self, line: str, events: list[Event], stream_line: bool = False) -> bool:
        """Parse one line and apply it; ``False`` when a stdio line is not a message."""
        from pipes_protocol import ProtocolError, parse_message, try_parse_message

        if not stream_line and not line.strip():
            return True
        try:
            msg = try_parse_message(line) if stream_line else parse_message(line)
        except ProtocolError as exc:
            self._warn(events, f"ignored a bad message: {exc}")
            return True
        if msg is None:
            return False
        for w in msg.get("warnings") or ():
            if "no '__dagster_pipes_version'" in w:
                continue
            self._warn(events, f"{w} (message read anyway)", line)
        self.apply(msg["method"], msg["params"], events, line)
        return True

    # -- messages -> state and events ----------------------------------------------------------
    def _key_of(self, escaped: str | None, method: str, events: list[Event] | None,
                line: str | None) -> str | None:
        keys = self.target.escaped()
        if escaped is None:
            if len(keys) == 1:
                return keys[0]
            self.errors.append(
                f"{method} without asset_key, but the step materializes "
                f"{keys or 'no assets'}; pass asset_key= in the external process")
            self._warn(events, self.errors[-1], line)
            return None
        if escaped not in keys:
            self.errors.append(
                f"{method} for asset {escaped!r}, which is not selected in this step "
                f"(selected: {keys}); report only the assets in context.asset_keys")
            self._warn(events, self.errors[-1], line)
            return None
        return escaped

    def apply(self, method: str, params: dict[str, Any], events: list[Event] | None,
              line: str | None = None) -> None:
        """Apply one parsed message (from the wire or replayed from stored events)."""
        self.message_count += 1
        if method == "log":
            if events is not None:
                events.append(self._event(EventType.LOG, params.get("message", ""),
                                          _LEVELS.get(params.get("level") or "INFO", 20)))
            return
        if method == "heartbeat":
            self.last_heartbeat = time.time()
            self._heartbeat_warned = False
            return
        if method == "log_external_stream":
            if events is not None:
                stream = params.get("stream", "stdout")
                for text in str(params.get("text", "")).splitlines():
                    parsed = self.line_parser(stream, text)
                    if parsed is not None:
                        events.append(self._event(EventType.LOG, parsed[1], parsed[0],
                                                  {"stream": stream}))
            return
        record = {"method": method, "params": params}
        if self.closed and events is not None:
            self._warn(events, f"'{method}' message received after 'closed'", line)
        level, text, asset = 10, f"[pipes] {method}", None
        if method == "opened":
            self.opened = True
            self.opened_extras = dict(params.get("extras") or {})
            text = "[pipes] external process opened the session"
        elif method == "closed":
            self.closed = True
            exc = params.get("exception")
            if exc:
                self.closed_exception = exc
                level = 40
                text = ("[pipes] external process closed the session with an exception: "
                        f"{(exc.get('name') or 'Exception')}: "
                        f"{(exc.get('message') or '').strip()}")
            else:
                text = "[pipes] external process closed the session"
        elif method == "report_asset_materialization":
            key = self._key_of(params.get("asset_key"), method, events, line)
            if key is None:
                return
            if key in self.materializations:
                self.errors.append(f"asset {key!r} was reported materialized twice")
                self._warn(events, self.errors[-1], line)
                return
            self.materializations[key] = params
            text = f"[pipes] reported materialization of {key!r}"
            asset = AssetKey(_unescape(key))
        elif method == "report_asset_check":
            key = params.get("asset_key")
            if key is None or key not in self.target.check_asset_keys():
                # (a check may target an asset the step depends on: dbt's source tests)
                key = self._key_of(key, method, events, line)
            if key is None:
                return
            name = params.get("check_name")
            declared = {(k.to_user_string(), n) for k, n in self.target.check_keys}
            user = AssetKey(_unescape(key)).to_user_string()
            if (user, name) not in declared:
                self.errors.append(
                    f"check {name!r} on asset {key!r} was reported, but the step declares "
                    f"{sorted(f'{a}:{n}' for a, n in declared) or 'no checks'}; declare it with "
                    f"check_specs=[AssetCheckSpec({name!r}, asset=...)]")
                self._warn(events, self.errors[-1], line)
                return
            if (key, name) in self.checks:
                self.errors.append(f"check {name!r} on {key!r} was reported twice")
                self._warn(events, self.errors[-1], line)
                return
            self.checks[(key, name)] = params
            text = (f"[pipes] reported check {name!r} on {key!r}: "
                    f"{'passed' if params.get('passed') else 'failed'}")
            asset = AssetKey(_unescape(key))
        elif method == "report_custom_message":
            self.custom_messages.append(params.get("payload"))
            text = "[pipes] custom message"
        elif method == "report_output":
            key = self._key_of(params.get("asset_key"), method, events, line)
            if key is None:
                return
            self.outputs[key] = params
            text = f"[pipes] output of {key!r} at {params.get('url')} ({params.get('format')})"
            asset = AssetKey(_unescape(key))
        elif method == "progress":
            self.last_progress = params
            if events is not None:
                cur, tot = params.get("current"), params.get("total")
                msg = params.get("message")
                events.append(self._event(
                    EventType.PROGRESS,
                    f"progress {cur}{f'/{tot}' if tot is not None else ''}"
                    + (f": {msg}" if msg else ""), 20,
                    {"current": cur, "total": tot, "message": msg,
                     "pipes_asset_key": params.get("asset_key")}))
            return
        if events is not None:
            events.append(self._event(EventType.ENGINE_EVENT, text, level,
                                      {"pipes_message": record}, asset_key=asset))

    # -- closing ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the reader thread, read what is left (after the process ended), load output
        values, clean up the injector, reader, launch and private directory. Idempotent."""
        if self._closed_session:
            return
        self._closed_session = True
        self._stop.set()
        _PUMP.remove(self)
        try:
            with self._lock:  # waits for a tick of the reader thread in progress
                for _ in range(10000):
                    if not self._tick(True):
                        break
        finally:
            try:
                self._load_outputs()
                if self.launcher is not None and self.handle is not None:
                    self._tails = {s: self.launcher.tail(self.handle, _KEPT_TAIL, s)
                                   for s in ("stderr", None)}
            finally:
                self._cleanup()

    def _load_outputs(self) -> None:
        for key, params in self.outputs.items():
            try:
                self.output_values[key] = _read_output(params["url"], params["format"])
            except Exception as exc:  # noqa: BLE001 - reported as a step error
                self.errors.append(f"could not read the output of asset {key!r} at "
                                   f"{params.get('url')!r} ({params.get('format')}): "
                                   f"{type(exc).__name__}: {exc}")

    def _cleanup(self) -> None:
        for fn in (self.message_reader.cleanup,
                   self._injector.cleanup if self._injector is not None else None):
            if fn is not None:
                try:
                    fn()
                except Exception:  # noqa: BLE001 - cleanup is best effort
                    _log.exception("pipes cleanup failed")
        if self.launcher is not None and self.handle is not None and \
                (self.status is None or self.status.finished):
            try:
                self.launcher.cleanup(self.handle)
            except Exception:  # noqa: BLE001
                _log.exception("launcher cleanup failed")
        if not self._keep_dir:
            shutil.rmtree(self.session_dir, ignore_errors=True)

    # -- waiting and canceling -------------------------------------------------------------
    def wait(self, grace_period: float = 10.0) -> Any:
        """Wait for the launched work to end; on interruption (Ctrl-C, SIGTERM, a cancel)
        cancel it (SIGTERM, then SIGKILL after *grace_period*), record that, and re-raise."""
        if self.launcher is None or self.handle is None:
            raise PipesError("PipesSession.wait(): nothing was launched through "
                             "session.launch(launcher, spec)")
        try:
            self.status = self.launcher.wait(self.handle)
        except BaseException as exc:
            self.cancel(grace_period, reason=f"{type(exc).__name__}: {exc}".rstrip(": "))
            raise
        return self.status

    def cancel(self, grace_period: float = 10.0, reason: str = "canceled") -> Any:
        """Stop the launched work now and record it (``ENGINE_EVENT``)."""
        status = self.launcher.cancel(self.handle, grace_period)
        self.status = status
        self.emit([self._event(
            EventType.ENGINE_EVENT,
            f"[pipes] terminated external process {_handle_text(self.handle)} ({reason}); "
            f"it ended with {status.stop_reason or status.state}", 30,
            {"pipes_exit": True, "launch_id": self.launch_id, "canceled": True,
             "exit_code": status.exit_code, "stop_reason": status.stop_reason})])
        return status

    # -- outcome -----------------------------------------------------------------------------
    def check_outcome(self, status: Any = None, *, exit_code: int | None = None,
                      protocol_aware: bool = True,
                      implicit_materializations: bool = False) -> None:
        """Raise :class:`PipesError` unless the work succeeded by every rule ("no false
        greens"); records an ``ENGINE_EVENT`` with the exit code, handle and, on failure,
        the stop reason and log tail as metadata on the step.

        *status* is the launcher's final :class:`~orchestrator.launchers.base.LaunchStatus`
        (default: the one :meth:`wait` got); for work you started yourself pass
        ``exit_code=`` instead."""
        if status is None and exit_code is not None:
            from ..launchers.base import LaunchStatus

            status = LaunchStatus("exited", exit_code,
                                  None if exit_code == 0 else f"exit code {exit_code}")
        status = status if status is not None else self.status
        problems: list[str] = []
        exit_code = getattr(status, "exit_code", None)
        stop_reason = getattr(status, "stop_reason", None)
        tail: list[str] = []
        what = _handle_text(self.handle) if self.handle else "external process"
        if self.closed_exception:
            problems.append("external process failed with an exception:\n"
                            + _format_remote(self.closed_exception))
        if exit_code not in (0, None):
            tail = (self._tail("stderr") or self._tail(None))[-20:]
            msg = f"{what} failed: {stop_reason or f'exit code {exit_code}'}"
            msg += ("; last lines of stderr:\n" + "\n".join(tail)) if tail else \
                " (stderr was empty)"
            problems.append(msg)
        opened_ok = self.opened or not protocol_aware
        if protocol_aware and not self.opened and exit_code in (0, None):
            problems.append(
                f"{what} exited without opening the protocol session (no 'opened' message "
                f"on {self.message_reader.describe()}); make it call open_pipes() / "
                f"open_dagster_pipes(), or launch it with protocol_aware=False if it does not "
                f"speak the protocol (then its exit code decides and its assets are "
                f"materialized implicitly)")
        elif self.opened and not self.closed and not problems:
            problems.append(
                f"{what} exited without closing the protocol session (it sent 'opened' but "
                f"never 'closed'; later messages may be lost); leave the `with open_pipes()` "
                f"block normally or call pipes.close() before exiting")
        problems.extend(self.errors)
        implicit = implicit_materializations or not protocol_aware
        if opened_ok and not problems:
            missing = [k for k in self.target.escaped()
                       if k not in self.materializations and k not in self.outputs]
            if missing and not implicit:
                problems.append(
                    f"{what} did not report materializations of {missing}; report each with "
                    f"report_asset_materialization(asset_key=...), or pass "
                    f"implicit_materializations=True to count a clean exit as materializing "
                    f"them")
            from pipes_protocol import escape_asset_key

            missing_checks = [f"{escape_asset_key(k.path)}:{n}" for k, n in self.target.check_keys
                              if (escape_asset_key(k.path), n) not in self.checks]
            if missing_checks:
                problems.append(
                    f"{what} did not report declared checks {missing_checks}; report each "
                    f"with report_asset_check(check_name=..., passed=...)")
        md: dict[str, Any] = {"exit_code": exit_code, "handle": self.handle or {},
                              "messages": self.message_count, "warnings": self.warning_count}
        if self.launched is not None and self.launched.log_locator:
            md["log_locator"] = self.launched.log_locator
        if problems:
            md["stop_reason"] = stop_reason or ("remote exception" if self.closed_exception
                                               else "protocol")
            if not tail:
                tail = self._tail(None)[-20:]
            md["log_tail"] = "\n".join(tail)
        from ..metadata import metadata_to_wire

        if self.launcher is not None or status is not None:
            self.emit([self._event(
                EventType.ENGINE_EVENT,
                f"[pipes] {what} " + ("failed" if problems else "succeeded")
                + (f" (exit code {exit_code})" if exit_code is not None else ""),
                40 if problems else 10,
                {"pipes_exit": True, "launch_id": self.launch_id,
                 "metadata": metadata_to_wire(md)})])
        if problems:
            err = PipesError("; ".join(problems[:1]) + "".join(f"\n- {p}" for p in problems[1:]))
            err.exit_code = exit_code  # type: ignore[attr-defined]
            err.stop_reason = stop_reason  # type: ignore[attr-defined]
            err.log_tail = tail  # type: ignore[attr-defined]
            err.remote_exception = self.closed_exception  # type: ignore[attr-defined]
            err.problems = problems  # type: ignore[attr-defined]
            raise err

    def _tail(self, stream: str | None, lines: int = _KEPT_TAIL) -> list[str]:
        if stream in self._tails:
            return self._tails[stream]
        if self.launcher is None or self.handle is None:
            return []
        try:
            return self.launcher.tail(self.handle, lines, stream)
        except Exception:  # noqa: BLE001 - logs may be gone
            return []

    def stderr_tail(self, lines: int = 20) -> list[str]:
        """The last *lines* lines of stderr of the work launched through :meth:`launch`
        (``[]`` when nothing was launched or its logs are gone). While the work runs they are
        read from the launcher; after the session closed, from the last
        ``100`` lines kept at closing (the container or job may be gone by then)::

            with open_pipes_session(context) as session:
                session.launch(launcher, spec)
                status = session.wait()
            if status.exit_code:
                for line in session.stderr_tail(15):
                    print(line)
        """
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 1:
            raise PipesError(f"PipesSession.stderr_tail(lines=...): lines must be a positive "
                             f"int, got {lines!r}")
        return self._tail("stderr", lines)[-lines:]

    # -- results -----------------------------------------------------------------------------
    def take_new_results(self) -> list[Any]:
        """The MaterializeResults and AssetCheckResults reported since the last call (each
        once, in the order reported: materializations first), for handing results over
        while the external process still runs; thread-safe. Output values
        (``report_output``) are read only when the session closes: take them from
        :meth:`get_results`. ::

            with open_pipes_session(context) as session:
                proc = subprocess.Popen(cmd, env={**os.environ,
                                                  **session.get_bootstrap_env_vars()})
                while proc.poll() is None:
                    yield from session.take_new_results()  # stored as they come
                    time.sleep(0.5)
            yield from session.take_new_results()  # what the final drain read
            session.check_outcome(exit_code=proc.returncode)
        """
        with self._lock:  # the reader thread adds to these dicts (insertion-ordered)
            n_mats, n_checks = self._taken
            mats = list(self.materializations.items())[n_mats:]
            checks = list(self.checks.items())[n_checks:]
            self._taken = (n_mats + len(mats), n_checks + len(checks))
        return [*(self._materialize_result(k, p) for k, p in mats),
                *(self._check_result(k, n, p) for (k, n), p in checks)]

    @staticmethod
    def _metadata_values(raw: dict[str, Any] | None) -> dict[str, Any]:
        from ..metadata import MetadataValue

        return {k: MetadataValue(v["type"], v["raw_value"]) for k, v in (raw or {}).items()}

    def _materialize_result(self, key: str, params: dict[str, Any] | None) -> Any:
        from ..results import MaterializeResult

        return MaterializeResult(metadata=self._metadata_values((params or {}).get("metadata")),
                                 asset_key=AssetKey(_unescape(key)),
                                 data_version=(params or {}).get("data_version"))

    def _check_result(self, key: str, name: str, params: dict[str, Any]) -> Any:
        from ..results import AssetCheckResult

        return AssetCheckResult(passed=bool(params.get("passed")),
                                severity=params.get("severity") or "ERROR",
                                metadata=self._metadata_values(params.get("metadata")),
                                asset_key=AssetKey(_unescape(key)), check_name=name)

    def get_results(self, *, implicit_materializations: bool = False) -> list[Any]:
        """MaterializeResults (one per reported or, with *implicit_materializations*, selected
        asset; carrying any output value) and AssetCheckResults, to return from the asset."""
        out: list[Any] = []
        for key in self.target.escaped():
            params = self.materializations.get(key)
            has_out = key in self.output_values
            if params is None and not has_out and not implicit_materializations:
                continue
            r = self._materialize_result(key, params)
            if has_out:
                r.metadata = {**r.metadata,
                              **self._metadata_values(self.outputs[key].get("metadata"))}
                r.value, r.has_value = self.output_values[key], True
            out.append(r)
        for (key, name), params in self.checks.items():
            out.append(self._check_result(key, name, params))
        return out

    def get_custom_messages(self) -> list[Any]:
        return list(self.custom_messages)


_FAST_LEVELS = {"INFO": 20, "DEBUG": 10, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_scan = __import__("json").JSONDecoder().scan_once  # no whitespace regexes: the hot path


def _fast_log(line: str) -> tuple[str, int] | None:
    """``(message, level)`` of a canonical ``log`` line, else ``None`` (then the full,
    lenient parser handles it). Exactly the envelope keys, exactly ``message`` and ``level``,
    a string message and a canonical level name: nothing to normalise or warn about."""
    if '"log"' not in line:
        return None
    try:
        raw, end = _scan(line, 0)
    except (StopIteration, ValueError):
        return None
    if end != len(line) or type(raw) is not dict or len(raw) != 3 or raw.get("method") != "log" or \
            raw.get("__dagster_pipes_version") != "0.1":
        return None
    params = raw.get("params")
    if type(params) is not dict or len(params) != 2:
        return None
    msg = params.get("message")
    level = _FAST_LEVELS.get(params.get("level"))  # type: ignore[arg-type]
    if type(msg) is not str or level is None:
        return None
    return msg, level


class _Pump:
    """The reader thread: one daemon thread that ticks every open session of the process
    (started once, so a session costs no thread start or join). Busy sessions are read again
    at once; when nothing arrived it sleeps 2 ms, doubling up to 50 ms."""

    def __init__(self) -> None:
        self._sessions: list[PipesSession] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, session: PipesSession) -> None:
        with self._lock:
            self._sessions.append(session)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pipes-reader",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def remove(self, session: PipesSession) -> None:
        with self._lock:
            if session in self._sessions:
                self._sessions.remove(session)

    def _run(self) -> None:
        idle = 0.002
        while True:
            with self._lock:
                sessions = list(self._sessions)
            n = 0
            for s in sessions:
                try:
                    n += s._tick(False)
                    if s.heartbeat_timeout is not None:
                        s._check_heartbeat()
                except Exception:  # noqa: BLE001 - the reader must survive anything
                    _log.exception("pipes reader failed on run %s; retrying", s.target.run_id)
            if n:
                idle = 0.002
                continue
            self._wake.wait(idle)
            self._wake.clear()
            idle = min(idle * 2, 0.05)

    def _after_fork(self) -> None:
        self.__init__()  # type: ignore[misc]  # the thread does not survive a fork


_PUMP = _Pump()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_PUMP._after_fork)


def _unescape(key: str) -> list[str]:
    from pipes_protocol import unescape_asset_key

    return unescape_asset_key(key)


def _handle_text(handle: dict[str, Any] | None) -> str:
    if not handle:
        return "external process"
    if "pid" in handle:
        cmd = handle.get("command") or []
        shown = " ".join(cmd)[:120]
        return f"pid {handle['pid']} ({shown})" if shown else f"pid {handle['pid']}"
    ident = next((f"{k} {v}" for k, v in handle.items() if k not in ("launcher",)), "")
    return f"{handle.get('launcher', 'external')} {ident}".strip()


def _read_output(url: str, fmt: str) -> Any:
    local = "://" not in url or url.startswith("file://")
    path = url.removeprefix("file://")
    if fmt == "json":
        import json

        if local:
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        import fsspec

        with fsspec.open(url, "rb") as fh:
            return json.loads(fh.read().decode("utf-8"))
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise PipesError("reading a parquet output needs pyarrow: pip install "
                             "'orchestrator[arrow]'") from exc
        return pq.read_table(path if local else url)
    if fmt == "pickle":
        import pickle

        if local:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        import fsspec

        with fsspec.open(url, "rb") as fh:
            return pickle.loads(fh.read())
    raise PipesError(f"unknown output format {fmt!r}")


def _target_of(context: Any) -> _Target:
    keys, checks = selection_of(context)
    run_id = getattr(context, "run_id", None)
    if not isinstance(run_id, str):
        raise PipesError(f"open_pipes_session(context=...) needs an execution context with a "
                         f"run_id (the `context` argument of an asset or op), got "
                         f"{type(context).__name__}")
    return _Target(run_id, getattr(context, "step_key", None), list(keys),
                   [(ck.asset_key, ck.name) for ck in checks],
                   getattr(context, "_partition_key", None))


def _check_parts(extras: Any, injector: Any, reader: Any, line_parser: Any) -> None:
    if extras is not None and not isinstance(extras, dict):
        raise PipesError(f"pipes session: extras= must be a dict of JSON values, got "
                         f"{type(extras).__name__} {extras!r:.100}")
    if injector is not None and not isinstance(injector, PipesContextInjector):
        raise PipesError(
            f"pipes session: context_injector= must be a PipesContextInjector (e.g. "
            f"PipesTempFileContextInjector() or PipesEnvContextInjector()), got "
            f"{type(injector).__name__}")
    if reader is not None and not isinstance(reader, PipesMessageReader):
        raise PipesError(
            f"pipes session: message_reader= must be a PipesMessageReader (e.g. "
            f"PipesFileMessageReader() or PipesStdioMessageReader()), got "
            f"{type(reader).__name__}")
    if line_parser is not None and not callable(line_parser):
        raise PipesError(f"pipes session: line_parser= must be a callable (stream, line) -> "
                         f"(level, message) or None, got {type(line_parser).__name__}")


@contextmanager
def open_pipes_session(context: Any, *, extras: dict[str, Any] | None = None,
                       context_injector: PipesContextInjector | None = None,
                       message_reader: PipesMessageReader | None = None,
                       line_parser: LineParser | None = None,
                       outputs_url: str | None = None,
                       heartbeat_interval: float = 30.0) -> Iterator[PipesSession]:
    """Open a session for the step behind *context* (Dagster's ``open_pipes_session``).

    Injects the context (a temp file by default), prepares the message channel (a temp file
    by default), starts the reader thread, and on exit drains what is left and cleans up.
    Launch the process with ``session.get_bootstrap_env_vars()`` in its environment, then
    return ``session.get_results()`` from the asset; ``session.check_outcome(...)`` raises
    :class:`PipesError` on any failure (see the module docstring)::

        with open_pipes_session(context) as session:
            proc = subprocess.run(cmd, env={**os.environ, **session.get_bootstrap_env_vars()})
        session.check_outcome(exit_code=proc.returncode)  # or pass a LaunchStatus
        return session.get_results()
    """
    _check_parts(extras, context_injector, message_reader, line_parser)
    session = PipesSession(_target_of(context), sink=_resolve_sink(context),
                           message_reader=message_reader or PipesFileMessageReader(),
                           line_parser=line_parser)
    try:
        session._setup(context, extras, context_injector or PipesTempFileContextInjector(),
                       outputs_url, heartbeat_interval)
        session.start()
        yield session
    finally:
        session.close()


def reattach_pipes_session(instance: Any, run_id: str, *, step_key: str | None = None,
                           sink: Callable[[list[Event]], None] | None = None,
                           line_parser: LineParser | None = None,
                           wait: bool = True) -> PipesSession:
    """Resume collecting from external work launched by an orchestrator process that is gone.

    Finds the run's last ``EXTERNAL_LAUNCHED`` event (of *step_key* if given), rebuilds the
    session's state from the stored pipes events, reattaches the launcher to the recorded
    handle and reads on from the stored cursor: messages and log lines already stored are not
    stored again, and none is lost. With *wait* (default) it follows the work to its end,
    drains and cleans up; then ``session.check_outcome()`` and ``session.get_results()`` give
    the verdict and results as for a session that never stopped. Events go to the run store
    (or *sink*)::

        session = reattach_pipes_session(instance, run_id)
        session.check_outcome()
    """
    from ..plugins import get_launcher

    storage = instance.run_storage
    events = storage.get_events(run_id)
    launches = [e for e in events if e.event_type is EventType.EXTERNAL_LAUNCHED
                and (step_key is None or e.step_key == step_key)]
    if not launches:
        raise PipesError(f"run {run_id} has no EXTERNAL_LAUNCHED event"
                         f"{f' for step {step_key!r}' if step_key else ''}; nothing to "
                         f"reattach to")
    launched_ev = launches[-1]
    data = launched_ev.data
    launch_id = data.get("launch_id")
    sess = data.get("session") or {}
    target = _Target(run_id, launched_ev.step_key,
                     [AssetKey(_unescape(k)) for k in sess.get("asset_keys") or []],
                     [(AssetKey.from_user_string(a), n) for a, n in sess.get("check_keys") or []],
                     launched_ev.partition)
    from .readers import reader_from_spec

    reader = reader_from_spec(sess.get("reader") or {"channel": "file"})
    session = PipesSession(target, sink=sink or storage.store_events, message_reader=reader,
                           line_parser=line_parser,
                           session_dir=sess.get("session_dir") or tempfile.mkdtemp())
    session.launch_id = launch_id or session.launch_id
    session._output_bases = dict(sess.get("outputs") or {})
    cursor: dict[str, Any] | None = None
    for ev in events:
        if ev.storage_id is None or launched_ev.storage_id is None or \
                ev.storage_id <= launched_ev.storage_id:
            continue
        pm = ev.data.get("pipes_message")
        if pm is not None and ev.step_key == launched_ev.step_key:
            session.apply(pm["method"], pm["params"], None)
        pc = ev.data.get("pipes_cursor")
        if pc is not None and pc.get("launch_id") == launch_id:
            cursor = pc
        if ev.data.get("pipes_exit") and ev.data.get("launch_id") == launch_id:
            raise PipesError(f"run {run_id}: the external process of launch {launch_id} "
                             f"already ended and was collected; nothing to reattach to")
    if cursor is not None:
        reader.restore(cursor.get("messages"))
        session._log_cursor = cursor.get("logs")
    launcher = get_launcher(data["launcher"])()
    launcher.reattach(data["handle"])
    session.launcher, session.handle = launcher, data["handle"]
    from ..launchers.base import Launched

    session.launched = Launched(data["handle"], data.get("console_url"), data.get("log_locator"))
    session.start()
    if wait:
        try:
            session.wait()
        finally:
            session.close()
    return session


_ = Sequence
