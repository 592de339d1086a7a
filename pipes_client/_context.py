"""``PipesContext`` and ``open_pipes``: the external-process side of the protocol."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, ClassVar

from pipes_protocol import (
    FEATURES_KEY,
    ProtocolError,
    escape_asset_key,
    infer_metadata_entry,
    make_message,
    normalize_metadata,
)

from ._errors import PipesClientError, PipesClientWarning

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["PipesContext", "PipesLogger", "open_dagster_pipes", "open_pipes"]

CLIENT_VERSION = "0.1.0"
CLIENT_FEATURES = ("outputs", "progress", "heartbeat", "context_ref", "check_targets")
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def exception_to_dict(exc: BaseException) -> dict[str, Any]:
    """A ``closed`` exception object with its cause/context chain (Dagster's shape)."""
    import traceback

    def convert(te: Any, depth: int) -> dict[str, Any] | None:
        if te is None or depth > 32:
            return None
        cause = convert(te.__cause__, depth + 1) if te.__cause__ else None
        context = None if te.__suppress_context__ or cause else convert(te.__context__, depth + 1)
        return {
            "name": te.exc_type.__name__ if te.exc_type is not None else None,
            "message": "".join(te.format_exception_only()),
            "stack": list(te.stack.format()),
            "cause": cause,
            "context": context,
        }

    result = convert(traceback.TracebackException.from_exception(exc), 0)
    assert result is not None
    return result


class PipesLogger:
    """A ``logging.Logger``-like object whose records become ``log`` messages.

        pipes.log.info("loaded %d rows", 10)
        pipes.log.warning("slow source")
    """

    def __init__(self, context: PipesContext) -> None:
        self._context = context
        self.level = 10
        self.name = "pipes"

    def setLevel(self, level: int | str) -> None:
        self.level = _LEVELS.get(str(level).upper(), level) if isinstance(level, str) else level

    def isEnabledFor(self, level: int) -> bool:
        return level >= self.level

    def log(self, level: int | str, msg: object, *args: object) -> None:
        if isinstance(level, int):
            num = level
            name = next((n for n, v in reversed(list(_LEVELS.items())) if level >= v), "DEBUG")
        else:
            name = str(level).upper()
            name = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(name, name)
            if name not in _LEVELS:
                raise PipesClientError(
                    f"log level {level!r} is not one of {', '.join(_LEVELS)}"
                )
            num = _LEVELS[name]
        if num < self.level:
            return
        text = str(msg) % args if args else str(msg)
        self._context._send("log", {"message": text, "level": name})

    def debug(self, msg: object, *args: object) -> None:
        self.log(10, msg, *args)

    def info(self, msg: object, *args: object) -> None:
        self.log(20, msg, *args)

    def warning(self, msg: object, *args: object) -> None:
        self.log(30, msg, *args)

    warn = warning

    def error(self, msg: object, *args: object) -> None:
        self.log(40, msg, *args)

    def exception(self, msg: object, *args: object) -> None:
        import traceback

        self.log(40, f"{str(msg) % args if args else msg}\n{traceback.format_exc()}".rstrip())

    def critical(self, msg: object, *args: object) -> None:
        self.log(50, msg, *args)


class _NoopChannel:
    def write_line(self, line: str) -> None:
        pass

    def close(self) -> None:
        pass


class PipesContext:
    """The external process's view of a run: what to compute, and how to report back.

    Get it from :func:`open_pipes` (as a context manager, so ``closed`` carries any exception)::

        from pipes_client import open_pipes

        with open_pipes() as pipes:
            pipes.log.info(f"computing {pipes.asset_key}")
            pipes.report_asset_materialization(metadata={"rows": 10}, data_version="v1")
            pipes.report_asset_check("not_empty", passed=True)

    Method names and shapes follow ``dagster_pipes.PipesContext``.
    """

    _instance: ClassVar[PipesContext | None] = None

    # ------------------------------------------------------------ singleton
    @classmethod
    def is_initialized(cls) -> bool:
        """Whether :func:`open_pipes` has made a context in this process."""
        return cls._instance is not None

    @classmethod
    def set(cls, context: PipesContext | None) -> None:
        """Set (or clear, with ``None``) the process-wide context."""
        cls._instance = context

    @classmethod
    def get(cls) -> PipesContext:
        """The context made by :func:`open_pipes`; raises if there is none yet."""
        if cls._instance is None:
            raise PipesClientError(
                "PipesContext has not been initialized; call open_pipes() (or "
                "open_dagster_pipes()) first"
            )
        return cls._instance

    # ------------------------------------------------------------ lifecycle
    def __init__(self, params_loader: Any, context_loader: Any, message_writer: Any,
                 *, noop: bool = False) -> None:
        import threading

        self._lock = threading.RLock()
        self._closed = False
        self._noop = noop
        self._materialized: set[str] = set()
        self._outputs_written: set[str] = set()
        self._logger = PipesLogger(self)
        self._heartbeat_stop: Any = None
        self._prev_excepthook: Any = None
        self._uncaught: BaseException | None = None
        if noop:
            from ._io import PipesDefaultContextLoader

            self._data = PipesDefaultContextLoader._complete({"run_id": ""})
            self._channel: Any = _NoopChannel()
            self._features: dict[str, Any] = {}
            return
        self._data = context_loader.load_context(params_loader.load_context_params())
        self._features = self._data.get(FEATURES_KEY) or {}
        if not isinstance(self._features, dict):
            self._features = {}
        self._channel = message_writer.open(params_loader.load_messages_params())
        extras = dict(message_writer.get_opened_extras() or {})
        extras["pipes_client"] = {"language": "python", "version": CLIENT_VERSION,
                                  "features": list(CLIENT_FEATURES)}
        self._send("opened", {"extras": extras})
        self._install_process_hooks()
        if self.has_feature("heartbeat"):
            self._start_heartbeat(float(self._features.get("heartbeat_interval") or 30.0))

    def __enter__(self) -> PipesContext:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is not None and isinstance(exc, SystemExit) and exc.code in (None, 0):
            exc = None
        self.close(exc)

    def close(self, exc: BaseException | dict[str, Any] | None = None) -> None:
        """Send ``closed`` (with *exc* and its cause chain, if given), flush and close the
        channel. Idempotent; any later report raises :class:`PipesClientError`."""
        with self._lock:
            if self._closed:
                return
            if self._heartbeat_stop is not None:
                self._heartbeat_stop.set()
            params: dict[str, Any] = {}
            if exc is not None:
                params["exception"] = exc if isinstance(exc, dict) else exception_to_dict(exc)
            try:
                self._send("closed", params)
            finally:
                self._closed = True
                try:
                    self._channel.close()
                finally:
                    self._remove_process_hooks()

    @property
    def is_closed(self) -> bool:
        """Whether ``closed`` has been sent."""
        return self._closed

    def _send(self, method: str, params: dict[str, Any]) -> None:
        import json

        message = make_message(method, params)
        line = json.dumps(message)
        with self._lock:
            if self._closed:
                raise PipesClientError(
                    f"cannot send {method!r}: the pipes context is already closed; report "
                    "everything before leaving the `with open_pipes()` block / calling close()"
                )
            self._channel.write_line(line)

    # ------------------------------------------------------------ process hooks
    def _install_process_hooks(self) -> None:
        import atexit

        atexit.register(self._atexit)
        self._prev_excepthook = sys.excepthook
        sys.excepthook = self._excepthook
        try:
            import signal
            import threading

            if (threading.current_thread() is threading.main_thread()
                    and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)):
                signal.signal(signal.SIGTERM, self._on_sigterm)
                self._sigterm_installed = True
        except (ImportError, ValueError, OSError, AttributeError):
            pass

    def _remove_process_hooks(self) -> None:
        if self._prev_excepthook is not None and sys.excepthook == self._excepthook:
            sys.excepthook = self._prev_excepthook
        if getattr(self, "_sigterm_installed", False):
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                try:
                    if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                        signal.signal(signal.SIGTERM, signal.SIG_DFL)
                except (ValueError, OSError):
                    pass
            self._sigterm_installed = False

    def _excepthook(self, exc_type: Any, exc: BaseException, tb: Any) -> None:
        self._uncaught = exc
        try:
            self.close(exc)
        except Exception:
            pass
        (self._prev_excepthook or sys.__excepthook__)(exc_type, exc, tb)

    def _atexit(self) -> None:
        try:
            self.close(self._uncaught)
        except Exception:
            pass

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        import signal
        import traceback

        try:
            self.close({
                "name": "SIGTERM",
                "message": "process terminated by signal SIGTERM (15)\n",
                "stack": traceback.format_stack(frame) if frame is not None else [],
                "cause": None,
                "context": None,
            })
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    def _start_heartbeat(self, interval: float) -> None:
        import threading

        stop = threading.Event()
        self._heartbeat_stop = stop

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    self._send("heartbeat", {})
                except Exception:
                    return

        threading.Thread(target=beat, name="pipes-heartbeat", daemon=True).start()

    # ------------------------------------------------------------ context data
    def _require_assets(self, what: str) -> list[str]:
        keys = self._data.get("asset_keys")
        if keys is None:
            raise PipesClientError(
                f"{what} is not available: no assets are in scope for this step (it is an op); "
                "check pipes.is_asset_step first"
            )
        return list(keys)

    def _require_single(self, what: str) -> str:
        keys = self._require_assets(what)
        if len(keys) != 1:
            raise PipesClientError(
                f"{what} needs exactly one asset in scope, but there are {len(keys)}: {keys}; "
                f"use the *_by_asset_key mapping or asset_keys instead"
            )
        return keys[0]

    @property
    def is_asset_step(self) -> bool:
        """Whether the step targets assets (``asset_keys`` is not null)."""
        return self._data.get("asset_keys") is not None

    @property
    def asset_key(self) -> str:
        """The escaped key of the one asset in scope; raises when 0 or several are."""
        return self._require_single("asset_key")

    @property
    def asset_keys(self) -> list[str]:
        """Escaped keys of the assets in scope; raises for op steps."""
        return self._require_assets("asset_keys")

    @property
    def code_version(self) -> str | None:
        """Code version of the one asset in scope."""
        key = self._require_single("code_version")
        return (self._data.get("code_version_by_asset_key") or {}).get(key)

    @property
    def code_version_by_asset_key(self) -> dict[str, str | None]:
        """Code version per asset key in scope."""
        self._require_assets("code_version_by_asset_key")
        return dict(self._data.get("code_version_by_asset_key") or {})

    @property
    def provenance(self) -> dict[str, Any] | None:
        """Provenance of the latest stored materialization of the one asset in scope."""
        key = self._require_single("provenance")
        return (self._data.get("provenance_by_asset_key") or {}).get(key)

    @property
    def provenance_by_asset_key(self) -> dict[str, Any]:
        """Provenance per asset key in scope."""
        self._require_assets("provenance_by_asset_key")
        return dict(self._data.get("provenance_by_asset_key") or {})

    @property
    def is_partition_step(self) -> bool:
        """Whether one or more partitions are in scope."""
        return self._data.get("partition_key_range") is not None

    @property
    def partition_key(self) -> str:
        """The single partition key in scope; raises when there is none."""
        key = self._data.get("partition_key")
        if key is None:
            raise PipesClientError(
                "partition_key is not available: no single partition is in scope (not a "
                "partitioned step, or a partition range); check pipes.is_partition_step"
            )
        return key

    @property
    def partition_key_range(self) -> dict[str, str]:
        """``{"start", "end"}`` of the partitions in scope; raises when there is none."""
        rng = self._data.get("partition_key_range")
        if rng is None:
            raise PipesClientError("partition_key_range is not available: not a partitioned step")
        return rng

    @property
    def partition_time_window(self) -> dict[str, str] | None:
        """``{"start", "end"}`` ISO timestamps, or ``None`` when partitions are not temporal."""
        if self._data.get("partition_key_range") is None:
            raise PipesClientError("partition_time_window is not available: not a partitioned step")
        return self._data.get("partition_time_window")

    @property
    def run_id(self) -> str:
        """The run id."""
        return self._data.get("run_id")

    @property
    def job_name(self) -> str | None:
        """The job name, or ``None``."""
        return self._data.get("job_name")

    @property
    def retry_number(self) -> int:
        """0 on the first attempt."""
        return self._data.get("retry_number") or 0

    @property
    def extras(self) -> dict[str, Any]:
        """User-supplied JSON extras."""
        return self._data.get("extras") or {}

    def get_extra(self, key: str) -> Any:
        """One extra; raises :class:`PipesClientError` naming the known extras when missing."""
        extras = self.extras
        if key not in extras:
            raise PipesClientError(
                f"extra {key!r} is not defined; the host passed: {sorted(extras) or 'no extras'}"
            )
        return extras[key]

    @property
    def log(self) -> PipesLogger:
        """Logger whose records are sent to the host as ``log`` messages."""
        return self._logger

    # ------------------------------------------------------------ features
    @property
    def features(self) -> list[str]:
        """Extension features the host advertised (``[]`` for a Dagster host)."""
        feats = self._features.get("features") or []
        return [f for f in feats if isinstance(f, str)]

    def has_feature(self, name: str) -> bool:
        """Whether the host advertised extension *name* (e.g. ``"outputs"``)."""
        return name in self.features

    # ------------------------------------------------------------ reports
    def _resolve_asset_key(self, asset_key: Any, method: str) -> str | None:
        if asset_key is not None and not isinstance(asset_key, str):
            try:
                asset_key = escape_asset_key(asset_key)
            except ProtocolError as exc:
                raise PipesClientError(f"{method}: {exc}") from None
        if self._noop:
            return asset_key
        keys = self._data.get("asset_keys")
        if asset_key is None:
            if keys is None:
                raise PipesClientError(f"{method}: no assets are in scope for this step (an op)")
            if len(keys) != 1:
                raise PipesClientError(
                    f"{method}: pass asset_key=..., there are {len(keys)} assets in scope: {keys}"
                )
            return keys[0]
        if keys is not None and asset_key not in keys:
            extra = ""
            if method == "report_asset_check" and self.has_feature("check_targets"):
                extra = (f", and checks on other assets "
                         f"{self._features.get('check_targets') or {}}")
            raise PipesClientError(
                f"{method}: asset key {asset_key!r} is not in scope for this step; the host "
                f"selected {keys}{extra}"
            )
        return asset_key

    @staticmethod
    def _metadata(metadata: Mapping[str, Any] | None, method: str) -> dict[str, Any] | None:
        if not metadata:
            return None
        if not hasattr(metadata, "items"):
            raise PipesClientError(
                f"{method}: metadata must be a dict, got {type(metadata).__name__}")
        out: dict[str, Any] = {}
        for name, value in metadata.items():
            if not isinstance(name, str):
                raise PipesClientError(f"{method}: metadata name {name!r} must be a string")
            try:
                entry = infer_metadata_entry(value)
                normalize_metadata({name: entry})  # same checks as the host, raised here
            except ProtocolError as exc:
                raise PipesClientError(f"{method}: {exc}") from None
            raw = entry["raw_value"]
            if entry["type"] == "float" and isinstance(raw, int) and not isinstance(raw, bool):
                entry = {"type": "float", "raw_value": float(raw)}  # Dagster rejects int floats
            elif entry["type"] == "int" and isinstance(raw, float):
                entry = {"type": "int", "raw_value": int(raw)}
            out[name] = entry
        return out

    def report_asset_materialization(self, metadata: Mapping[str, Any] | None = None,
                                     data_version: str | None = None,
                                     asset_key: str | None = None) -> None:
        """Report that an asset was materialized (once per asset).

        ``metadata`` values may be bare (``{"rows": 10}``) or entries
        (``{"url": {"type": "url", "raw_value": "https://..."}}``)."""
        method = "report_asset_materialization"
        key = self._resolve_asset_key(asset_key, method)
        if data_version is not None and not isinstance(data_version, str):
            raise PipesClientError(f"{method}: data_version must be a str, got {data_version!r}")
        md = self._metadata(metadata, method)
        with self._lock:
            if key in self._materialized and not self._noop:
                raise PipesClientError(
                    f"{method}: asset {key!r} was already reported as materialized; report each "
                    "asset once, with all its metadata"
                )
            self._send(method, {"asset_key": key, "data_version": data_version, "metadata": md})
            self._materialized.add(key)  # type: ignore[arg-type]

    def _check_target(self, asset_key: Any, check_name: str) -> str | None:
        """*asset_key* (escaped) when the host advertised ``check_name`` on it as an extra
        check target (``check_targets`` extension), else ``None``."""
        if asset_key is None or self._noop or not self.has_feature("check_targets"):
            return None
        if not isinstance(asset_key, str):
            try:
                asset_key = escape_asset_key(asset_key)
            except ProtocolError as exc:
                raise PipesClientError(f"report_asset_check: {exc}") from None
        names = (self._features.get("check_targets") or {}).get(asset_key)
        return asset_key if isinstance(names, list) and check_name in names else None

    def report_asset_check(self, check_name: str, passed: bool, severity: str = "ERROR",
                           metadata: Mapping[str, Any] | None = None,
                           asset_key: str | None = None) -> None:
        """Report the result of an asset check (``severity`` is ``"ERROR"`` or ``"WARN"``).

        *asset_key* is one of ``asset_keys``, or an asset the step does not materialize when
        the host advertised the check on it (``check_targets`` extension, e.g. a dbt source
        test on an upstream asset)::

            pipes.report_asset_check("not_null_id", passed=True, asset_key="raw/orders")
        """
        method = "report_asset_check"
        if not isinstance(check_name, str) or not check_name:
            raise PipesClientError(
                f"{method}: check_name must be a non-empty str, got {check_name!r}")
        key = self._check_target(asset_key, check_name) or \
            self._resolve_asset_key(asset_key, method)
        if not isinstance(passed, bool):
            raise PipesClientError(f"{method}: passed must be True or False, got {passed!r}")
        sev = getattr(severity, "value", severity)
        if not isinstance(sev, str) or sev.upper() not in ("WARN", "ERROR"):
            raise PipesClientError(
                f"{method}: severity must be 'ERROR' or 'WARN', got {severity!r}")
        self._send(method, {"asset_key": key, "check_name": check_name, "passed": passed,
                            "severity": sev.upper(), "metadata": self._metadata(metadata, method)})

    def report_custom_message(self, payload: Any) -> None:
        """Send any JSON-serializable payload to the host."""
        try:
            self._send("report_custom_message", {"payload": payload})
        except (TypeError, ValueError) as exc:
            raise PipesClientError(
                f"report_custom_message: payload is not JSON-serializable: {exc}") from None

    def log_external_stream(self, stream: str, text: str,
                            extras: dict[str, Any] | None = None) -> None:
        """Forward captured stdout/stderr text (Dagster's ``log_external_stream``)."""
        self._send("log_external_stream", {"stream": stream, "text": text, "extras": extras or {}})

    # ------------------------------------------------------------ extensions
    def progress(self, current: float, total: float | None = None, message: str | None = None,
                 asset_key: str | None = None) -> None:
        """Report progress (``progress`` extension). A no-op when the host did not advertise
        it, so scripts run unchanged under Dagster."""
        if self._noop or not self.has_feature("progress"):
            return
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise PipesClientError(f"progress: current must be a number, got {current!r}")
        if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float))):
            raise PipesClientError(f"progress: total must be a number or None, got {total!r}")
        key = None
        if asset_key is not None:
            key = self._resolve_asset_key(asset_key, "progress")
        self._send("progress", {"asset_key": key, "current": current, "total": total,
                                "message": None if message is None else str(message)})

    def report_output(self, value: Any, asset_key: str | None = None, *,
                      format: str | None = None, metadata: Mapping[str, Any] | None = None) -> str:
        """Write *value* where the host asked and send ``report_output`` (``outputs`` extension).

        ``format`` defaults to ``"parquet"`` for tables (pyarrow Table, pandas DataFrame) and
        ``"json"`` otherwise; ``"pickle"`` only when the host lists it. Returns the URL written.
        Raises :class:`PipesClientError` when the host did not advertise ``outputs`` (a Dagster
        host never does), since the value would be lost."""
        method = "report_output"
        if self._noop:
            return ""
        if not self.has_feature("outputs"):
            raise PipesClientError(
                f"{method}: the host did not advertise the 'outputs' feature, so it cannot "
                "receive values (a Dagster host never does); write the data yourself and report "
                "its location as 'path' metadata instead"
            )
        key = self._resolve_asset_key(asset_key, method)
        targets = self._features.get("outputs") or {}
        base = targets.get(key)
        if not base:
            raise PipesClientError(
                f"{method}: the host gave no output location for asset {key!r}; it has "
                f"locations for {sorted(targets)}"
            )
        if key in self._outputs_written:
            raise PipesClientError(f"{method}: an output for asset {key!r} was already reported")
        fmt = format or ("parquet" if _is_table(value) else "json")
        allowed = self._features.get("output_formats") or ["json", "parquet"]
        if fmt not in allowed:
            raise PipesClientError(
                f"{method}: format {fmt!r} is not accepted by the host (accepts {allowed})"
            )
        ext = {"json": "json", "parquet": "parquet", "pickle": "pkl"}.get(fmt)
        if ext is None:
            raise PipesClientError(f"{method}: unknown format {fmt!r}; use json, parquet or pickle")
        url = f"{base}.{ext}"
        data = _serialize(value, fmt, method)
        _write_bytes(url, data, method)
        md = self._metadata(metadata, method)
        self._send(method, {"asset_key": key, "url": url, "format": fmt, "metadata": md})
        self._outputs_written.add(key)  # type: ignore[arg-type]
        return url

    def forward_logging(self, logger: Any = None, level: int | str = "INFO") -> Any:
        """Send records of a Python ``logging`` logger (root by default) to the host as ``log``
        messages until the context closes. Returns the installed handler."""
        import logging

        from ._logging import PipesLoggingHandler

        handler = PipesLoggingHandler(self, level=level)
        target = logger if logger is not None else logging.getLogger()
        if isinstance(target, str):
            target = logging.getLogger(target)
        target.addHandler(handler)
        if target.level == logging.NOTSET or target.level > handler.level:
            target.setLevel(handler.level)
        handler._attached_to = target
        return handler


def _is_table(value: Any) -> bool:
    mod = type(value).__module__ or ""
    return (mod.startswith("pyarrow") and type(value).__name__ in ("Table", "RecordBatch")) or (
        mod.startswith("pandas") and type(value).__name__ == "DataFrame")


def _serialize(value: Any, fmt: str, method: str) -> bytes:
    if fmt == "json":
        import json

        try:
            return json.dumps(value).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise PipesClientError(
                f"{method}: value is not JSON-serializable ({exc}); convert it, or use "
                "format='parquet' for tables"
            ) from None
    if fmt == "pickle":
        import pickle

        return pickle.dumps(value)
    try:
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise PipesClientError(
            f"{method}: writing Parquet needs pyarrow (pip install pyarrow)") from None
    if type(value).__name__ == "DataFrame":
        table = pa.Table.from_pandas(value)
    elif isinstance(value, list):
        table = pa.Table.from_pylist(value)
    elif isinstance(value, dict):
        table = pa.Table.from_pydict(value)
    elif isinstance(value, pa.RecordBatch):
        table = pa.Table.from_batches([value])
    else:
        table = value
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _write_bytes(url: str, data: bytes, method: str) -> None:
    if "://" not in url or url.startswith("file://"):
        path = url.removeprefix("file://")
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            tmp = f"{path}.tmp-{os.getpid()}"
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise PipesClientError(f"{method}: cannot write {path!r}: {exc}") from None
        return
    try:
        import fsspec

        with fsspec.open(url, "wb") as fh:
            fh.write(data)
    except ImportError:
        raise PipesClientError(f"{method}: writing {url!r} needs fsspec") from None
    except OSError as exc:
        raise PipesClientError(f"{method}: cannot write {url!r}: {exc}") from None


def open_pipes(*, params_loader: Any = None, context_loader: Any = None,
               message_writer: Any = None) -> PipesContext:
    """Load the bootstrap, open the message channel, send ``opened`` and return the context.

    Without a bootstrap (not launched by a pipes host) it warns and returns a no-op context,
    so the script still runs. Defaults: bootstrap from env, argv or a bootstrap file; context
    from a file, inline data or URL; messages to the channel the host chose::

        with open_pipes() as pipes:
            pipes.report_asset_materialization(metadata={"rows": 3})
    """
    current = PipesContext._instance
    if current is not None and not current.is_closed:
        return current
    from ._io import PipesDefaultContextLoader, PipesDefaultMessageWriter, PipesDefaultParamsLoader

    params_loader = params_loader or PipesDefaultParamsLoader()
    if params_loader.is_dagster_pipes_process():
        context = PipesContext(params_loader, context_loader or PipesDefaultContextLoader(),
                               message_writer or PipesDefaultMessageWriter())
    else:
        import warnings

        warnings.warn(
            "this process was not launched by a pipes host (no DAGSTER_PIPES_CONTEXT in the "
            "environment, no --dagster-pipes-context argument, no PIPES_BOOTSTRAP_FILE); "
            "pipes calls are no-ops",
            PipesClientWarning,
            stacklevel=2,
        )
        context = PipesContext(None, None, None, noop=True)
    PipesContext.set(context)
    return context


#: Alias for code moved from ``dagster_pipes``.
open_dagster_pipes = open_pipes
