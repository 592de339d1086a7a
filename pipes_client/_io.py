"""Injection points: params loaders, context loaders, message writers and their channels.

Each mirrors ``dagster_pipes``: a params loader finds the two bootstrap values, a context loader
turns context params into the context dict, a message writer turns message params into a
channel with a single ``write_message(message)`` method. Cloud libraries (fsspec) are imported
only when a blob channel or remote context is used, and filesystems can be injected.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from pipes_protocol import (
    CLI_BOOTSTRAP_FILE_ARG,
    CLI_CONTEXT_ARG,
    CLI_MESSAGES_ARG,
    CONTEXT_KEYS,
    ENV_BOOTSTRAP_FILE,
    ENV_CONTEXT,
    ENV_MESSAGES,
    ProtocolError,
    decode_bootstrap,
)

from ._errors import PipesClientError

__all__ = [
    "PipesBlobStoreMessageWriter",
    "PipesBlobStoreMessageWriterChannel",
    "PipesBufferedStreamMessageWriterChannel",
    "PipesCliArgsParamsLoader",
    "PipesDefaultContextLoader",
    "PipesDefaultMessageWriter",
    "PipesDefaultParamsLoader",
    "PipesEnvVarParamsLoader",
    "PipesFileMessageWriterChannel",
    "PipesFileParamsLoader",
    "PipesMappingParamsLoader",
    "PipesStreamMessageWriterChannel",
]


def _decode(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        return decode_bootstrap(value)
    except ProtocolError as exc:
        raise PipesClientError(f"cannot decode {where}: {exc}") from None


# ---------------------------------------------------------------- params loaders


class PipesMappingParamsLoader:
    """Bootstrap values from any mapping holding ``DAGSTER_PIPES_CONTEXT`` and
    ``DAGSTER_PIPES_MESSAGES`` (a Lambda event, Databricks widgets, ``os.environ``). Values may
    be encoded strings or already-decoded dicts."""

    def __init__(self, mapping: Mapping[str, Any], source: str = "mapping") -> None:
        self._mapping = mapping
        self._source = source

    def is_dagster_pipes_process(self) -> bool:
        return ENV_CONTEXT in self._mapping

    def load_context_params(self) -> dict[str, Any]:
        if ENV_CONTEXT not in self._mapping:
            raise PipesClientError(f"{ENV_CONTEXT} is missing from the {self._source}")
        return _decode(self._mapping[ENV_CONTEXT], f"{ENV_CONTEXT} from the {self._source}")

    def load_messages_params(self) -> dict[str, Any]:
        if ENV_MESSAGES not in self._mapping:
            raise PipesClientError(
                f"{ENV_MESSAGES} is missing from the {self._source}; the host must pass both "
                f"{ENV_CONTEXT} and {ENV_MESSAGES}"
            )
        return _decode(self._mapping[ENV_MESSAGES], f"{ENV_MESSAGES} from the {self._source}")


class PipesEnvVarParamsLoader(PipesMappingParamsLoader):
    """Bootstrap values from environment variables (the default carrier)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(os.environ if environ is None else environ, "environment")


def _argv_value(argv: Sequence[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag:
            if i + 1 >= len(argv):
                raise PipesClientError(f"command-line flag {flag} has no value after it")
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1:]
    return None


class PipesCliArgsParamsLoader:
    """Bootstrap values from ``--dagster-pipes-context V --dagster-pipes-messages V`` (also the
    ``--flag=V`` form) in ``argv`` (default ``sys.argv``)."""

    def __init__(self, argv: Sequence[str] | None = None) -> None:
        self._argv = list(sys.argv if argv is None else argv)

    def is_dagster_pipes_process(self) -> bool:
        return _argv_value(self._argv, CLI_CONTEXT_ARG) is not None

    def load_context_params(self) -> dict[str, Any]:
        value = _argv_value(self._argv, CLI_CONTEXT_ARG)
        if value is None:
            raise PipesClientError(f"{CLI_CONTEXT_ARG} is missing from the command line")
        return _decode(value, f"{CLI_CONTEXT_ARG}")

    def load_messages_params(self) -> dict[str, Any]:
        value = _argv_value(self._argv, CLI_MESSAGES_ARG)
        if value is None:
            raise PipesClientError(
                f"{CLI_MESSAGES_ARG} is missing from the command line (next to {CLI_CONTEXT_ARG})"
            )
        return _decode(value, f"{CLI_MESSAGES_ARG}")


class PipesFileParamsLoader:
    """Bootstrap values from a JSON file named by env ``PIPES_BOOTSTRAP_FILE`` or the argument
    ``--pipes-bootstrap-file PATH``. The file holds ``{"DAGSTER_PIPES_CONTEXT": ...,
    "DAGSTER_PIPES_MESSAGES": ...}`` with encoded strings or plain objects as values."""

    def __init__(self, path: str | None = None, *, argv: Sequence[str] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._path = (path or _argv_value(list(sys.argv if argv is None else argv),
                                          CLI_BOOTSTRAP_FILE_ARG) or env.get(ENV_BOOTSTRAP_FILE))
        self._inner: PipesMappingParamsLoader | None = None

    def is_dagster_pipes_process(self) -> bool:
        return bool(self._path)

    def _load(self) -> PipesMappingParamsLoader:
        if self._inner is None:
            import json

            if not self._path:
                raise PipesClientError(
                    f"no bootstrap file: set {ENV_BOOTSTRAP_FILE} or pass {CLI_BOOTSTRAP_FILE_ARG}"
                )
            try:
                with open(self._path, encoding="utf-8") as fh:
                    data = json.load(fh)
            except (OSError, ValueError) as exc:
                raise PipesClientError(
                    f"cannot read bootstrap file {self._path!r}: {exc}; it must be a JSON object "
                    f"with {ENV_CONTEXT} and {ENV_MESSAGES}"
                ) from None
            if not isinstance(data, dict):
                raise PipesClientError(f"bootstrap file {self._path!r} must hold a JSON object")
            self._inner = PipesMappingParamsLoader(data, f"bootstrap file {self._path!r}")
        return self._inner

    def load_context_params(self) -> dict[str, Any]:
        return self._load().load_context_params()

    def load_messages_params(self) -> dict[str, Any]:
        return self._load().load_messages_params()


class PipesDefaultParamsLoader:
    """Tries, in order: environment variables, command-line arguments, bootstrap file."""

    def __init__(self) -> None:
        self._loaders = [PipesEnvVarParamsLoader(), PipesCliArgsParamsLoader(),
                         PipesFileParamsLoader()]

    def _active(self) -> Any:
        for loader in self._loaders:
            if loader.is_dagster_pipes_process():
                return loader
        return None

    def is_dagster_pipes_process(self) -> bool:
        return self._active() is not None

    def load_context_params(self) -> dict[str, Any]:
        loader = self._active()
        if loader is None:
            raise PipesClientError(
                f"no bootstrap found: set {ENV_CONTEXT}/{ENV_MESSAGES}, pass "
                f"{CLI_CONTEXT_ARG}/{CLI_MESSAGES_ARG}, or point {ENV_BOOTSTRAP_FILE} at a file"
            )
        return loader.load_context_params()

    def load_messages_params(self) -> dict[str, Any]:
        loader = self._active()
        if loader is None:
            return self.load_context_params()  # raises with the explanation
        return loader.load_messages_params()


# ---------------------------------------------------------------- context loader


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def _local_path(url: str) -> str:
    return url.removeprefix("file://")


class PipesDefaultContextLoader:
    """Loads the context from ``{"path"}`` (local JSON file), ``{"data"}`` (inline),
    ``{"url"}`` (local path or any fsspec URL, the ``context_ref`` extension) or
    ``{"bucket", "key"}`` (an object store; pass ``fs``, an fsspec filesystem, or s3 is used).
    Missing context keys are filled with ``None`` so property access never ``KeyError``s."""

    def __init__(self, fs: Any = None) -> None:
        self._fs = fs

    def load_context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        import json

        if "path" in params:
            where = f"context file {params['path']!r}"
            text = self._read_local(str(params["path"]), where)
        elif "data" in params:
            data = params["data"]
            if not isinstance(data, dict):
                raise PipesClientError(f"inline context 'data' must be an object, got {data!r:.80}")
            return self._complete(data)
        elif "url" in params:
            url = str(params["url"])
            where = f"context url {url!r}"
            if _is_local(url):
                text = self._read_local(_local_path(url), where)
            else:
                text = self._read_remote(url, self._fs, where)
        elif "bucket" in params and "key" in params:
            path = f"{params['bucket']}/{params['key']}"
            where = f"context object {path!r}"
            text = self._read_remote(path, self._fs, where, default_protocol="s3")
        else:
            raise PipesClientError(
                f"context params {dict(params)!r:.200} have none of 'path', 'data', 'url' or "
                "'bucket'+'key'; the host sent a context carrier this client does not know"
            )
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise PipesClientError(f"{where} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise PipesClientError(f"{where} must hold a JSON object, got {type(data).__name__}")
        return self._complete(data)

    @staticmethod
    def _complete(data: dict[str, Any]) -> dict[str, Any]:
        out = {key: None for key in CONTEXT_KEYS}
        out["extras"] = {}
        out["retry_number"] = 0
        out.update(data)
        if out["extras"] is None:
            out["extras"] = {}
        return out

    @staticmethod
    def _read_local(path: str, where: str) -> str:
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read()
        except OSError as exc:
            raise PipesClientError(f"cannot read {where}: {exc}") from None

    @staticmethod
    def _read_remote(url: str, fs: Any, where: str, default_protocol: str | None = None) -> str:
        try:
            if fs is None:
                import fsspec

                if default_protocol and "://" not in url:
                    fs = fsspec.filesystem(default_protocol)
                else:
                    with fsspec.open(url, "rb") as fh:
                        return fh.read().decode("utf-8")
            with fs.open(url, "rb") as fh:
                return fh.read().decode("utf-8")
        except ImportError:
            raise PipesClientError(
                f"reading {where} needs fsspec (pip install fsspec, plus s3fs/gcsfs/... for the "
                "store), or pass fs= to PipesDefaultContextLoader"
            ) from None
        except OSError as exc:
            raise PipesClientError(f"cannot read {where}: {exc}") from None


# ---------------------------------------------------------------- channels


class PipesFileMessageWriterChannel:
    """Appends one JSON line per message with a single ``write`` on an ``O_APPEND`` file."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise PipesClientError(
                f"cannot open the messages file {path!r} for appending: {exc}; the host must "
                "create a writable path (message params {'path': ...})"
            ) from None

    def write_line(self, line: str) -> None:
        if self._fd is None:
            raise PipesClientError(f"messages file {self.path!r} is closed")
        data = (line + "\n").encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # regular files write everything; be safe anyway
            written += os.write(self._fd, data[written:])

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class PipesStreamMessageWriterChannel:
    """Writes one JSON line per message to a text stream (stdout/stderr) and flushes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write_line(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass


class PipesBufferedStreamMessageWriterChannel:
    """Keeps messages in memory and writes them all to the stream on ``close`` (after
    ``closed``), as one write."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lines: list[str] = []

    def write_line(self, line: str) -> None:
        self._lines.append(line)

    def close(self) -> None:
        if self._lines:
            self._stream.write("".join(line + "\n" for line in self._lines))
            self._lines = []
        self._stream.flush()


class PipesBlobStoreMessageWriterChannel:
    """Uploads buffered messages as numbered chunks ``{prefix}/{n}.json`` on an fsspec filesystem.

    A daemon thread uploads every ``interval`` seconds when there is something to send; ``n``
    starts at 1 and grows only after a non-empty upload (no gaps, no empty chunks); a chunk is
    the messages' JSON lines joined by ``\\n`` (no trailing newline); ``close`` uploads the rest.
    """

    def __init__(self, fs: Any, prefix: str, interval: float = 10.0) -> None:
        import threading

        self._fs = fs
        self._prefix = prefix.rstrip("/")
        self._interval = float(interval)
        self._buffer: list[str] = []
        self._lock = threading.Lock()
        self._upload_lock = threading.Lock()
        self._counter = 1
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pipes-blob-writer", daemon=True)
        self._thread.start()

    def chunk_path(self, n: int) -> str:
        return f"{self._prefix}/{n}.json" if self._prefix else f"{n}.json"

    def write_line(self, line: str) -> None:
        with self._lock:
            self._buffer.append(line)

    def _upload(self) -> None:
        with self._upload_lock:
            with self._lock:
                lines, self._buffer = self._buffer, []
            if not lines:
                return
            path = self.chunk_path(self._counter)
            data = "\n".join(lines).encode("utf-8")
            try:
                with self._fs.open(path, "wb") as fh:
                    fh.write(data)
            except Exception:
                with self._lock:  # keep the messages for the next attempt
                    self._buffer[:0] = lines
                raise
            self._counter += 1

    def _run(self) -> None:
        import time

        last = time.monotonic()
        while not self._stop.wait(min(1.0, self._interval)):
            if time.monotonic() - last >= self._interval:
                try:
                    self._upload()
                except Exception as exc:  # retried at the next tick and at close
                    self._error = exc
                last = time.monotonic()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self._upload()


# ---------------------------------------------------------------- writers


def _stream(name: Any, params: Mapping[str, Any]) -> TextIO:
    if name == "stdout":
        return sys.stdout
    if name == "stderr":
        return sys.stderr
    raise PipesClientError(
        f"message params {dict(params)!r:.200}: stdio must be 'stdout' or 'stderr', got {name!r}"
    )


class PipesBlobStoreMessageWriter:
    """Numbered-chunk channel on any fsspec filesystem.

    Layouts: ``{"bucket", "key_prefix"}`` (S3/GCS/Azure) writes ``{bucket}/{key_prefix}/{n}.json``;
    ``{"path"}`` (DBFS / Unity Catalog Volumes) writes ``{root}{path}/{n}.json`` (``root="/dbfs"``
    on a Databricks cluster). ``fs`` defaults to ``fsspec.filesystem("s3")`` for buckets and the
    local filesystem for paths::

        writer = PipesBlobStoreMessageWriter(fs=fsspec.filesystem("memory"), interval=2)
    """

    def __init__(self, fs: Any = None, *, interval: float = 10.0, root: str = "") -> None:
        self._fs = fs
        self._interval = interval
        self._root = root.rstrip("/")

    def open(self, params: Mapping[str, Any]) -> PipesBlobStoreMessageWriterChannel:
        fs = self._fs
        if "bucket" in params:
            parts = (str(params["bucket"]), params.get("key_prefix") or "")
            prefix = "/".join(p for p in parts if p)
            protocol = "s3"
        elif "path" in params:
            prefix = f"{self._root}{params['path']}"
            protocol = "file"
        else:
            raise PipesClientError(
                f"blob-store message params {dict(params)!r:.200} need 'bucket' (+'key_prefix') "
                "or 'path'"
            )
        if fs is None:
            try:
                import fsspec
            except ImportError:
                raise PipesClientError(
                    "the blob-store message channel needs fsspec (pip install fsspec s3fs), or "
                    "pass fs= to PipesBlobStoreMessageWriter"
                ) from None
            fs = fsspec.filesystem(protocol)
        if protocol == "file" and hasattr(fs, "makedirs"):
            fs.makedirs(prefix, exist_ok=True)
        return PipesBlobStoreMessageWriterChannel(fs, prefix, self._interval)

    def get_opened_extras(self) -> dict[str, Any]:
        return {}


class PipesDefaultMessageWriter:
    """Picks the channel from the first of ``path`` (file), ``stdio``, ``buffered_stdio`` in the
    message params, or ``bucket`` (blob chunks via fsspec; ``fs``/``interval`` are used then).
    ``include_stdio_in_messages`` is ignored (the host reads stdout/stderr itself)."""

    def __init__(self, fs: Any = None, *, interval: float = 10.0) -> None:
        self._fs = fs
        self._interval = interval

    def open(self, params: Mapping[str, Any]) -> Any:
        if "path" in params:
            return PipesFileMessageWriterChannel(str(params["path"]))
        if "stdio" in params:
            return PipesStreamMessageWriterChannel(_stream(params["stdio"], params))
        if "buffered_stdio" in params:
            stream = _stream(params["buffered_stdio"], params)
            return PipesBufferedStreamMessageWriterChannel(stream)
        if "bucket" in params:
            return PipesBlobStoreMessageWriter(self._fs, interval=self._interval).open(params)
        raise PipesClientError(
            f"message params {dict(params)!r:.200} name no channel this client knows; expected "
            "'path', 'stdio', 'buffered_stdio' or 'bucket'"
        )

    def get_opened_extras(self) -> dict[str, Any]:
        return {}
