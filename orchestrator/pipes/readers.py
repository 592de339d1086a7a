"""Host-side message readers (file, stdio, chunked blob store) and stdout/stderr line parsers.

A message reader says where the external process must write its messages (the *message
params*, sent in ``DAGSTER_PIPES_MESSAGES``) and hands the session the raw lines written
there. Readers are pulled by the session's reader thread (``read()`` returns what is
available without blocking), so one thread serves the messages and the process's logs,
batches what it finds and stores it with a cursor::

    from orchestrator.pipes import PipesFileMessageReader, open_pipes_session

    with open_pipes_session(context, message_reader=PipesFileMessageReader()) as session:
        ...

Channels (registered through the ``register_message_channels`` hook under these names):

- ``"file"``: :class:`PipesFileMessageReader`, the default; the process appends JSON lines to
  a file (Dagster's ``{"path": ...}``); cursor = byte offset.
- ``"stdio"``: :class:`PipesStdioMessageReader`; messages are the lines of the process's
  stdout (or stderr) that carry the version key; other lines stay log lines.
- ``"chunked"``: :class:`PipesChunkedMessageReader`; numbered chunks ``{prefix}/{n}.json`` on
  any fsspec filesystem (the S3/GCS/Azure layout); cursor = next chunk number.

Line parsers turn a stdout/stderr line into ``(level, message)``; :func:`default_line_parser`
recognises ``ERROR:``/``WARNING:``/``[error]``-style prefixes and JSON log lines.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

from ..errors import PipesError
from ..launchers._files import FileTail

__all__ = [
    "LineParser",
    "PipesChunkedMessageReader",
    "PipesFileMessageReader",
    "PipesMessageReader",
    "PipesStdioMessageReader",
    "PipesTempFileMessageReader",
    "default_line_parser",
    "plain_line_parser",
]

#: ``(stream, line) -> (level, message)``; return ``None`` to drop the line.
LineParser = Callable[[str, str], "tuple[int, str] | None"]

_LEVELS = {"DEBUG": 10, "TRACE": 10, "INFO": 20, "NOTICE": 20, "WARNING": 30, "WARN": 30,
           "ERROR": 40, "ERR": 40, "CRITICAL": 50, "FATAL": 50, "PANIC": 50}
_PREFIX = re.compile(
    r"^\s*(?:\[(?P<b>[A-Za-z]+)\]|(?P<c>[A-Za-z]+):|(?P<d>[A-Z]+)\b\s+-|"
    r"level=(?P<e>[A-Za-z]+))")


def default_line_parser(stream: str, line: str) -> tuple[int, str] | None:
    """Level from common prefixes, else INFO. Blank lines are dropped.

    Recognised: ``ERROR: x``, ``[warning] x``, ``WARN - x``, ``level=error x`` (logfmt) and
    JSON objects with a ``level``/``levelname``/``severity`` field (the message is their
    ``message``/``msg`` field)::

        >>> default_line_parser("stderr", "ERROR: disk full")
        (40, 'ERROR: disk full')
        >>> default_line_parser("stdout", '{"level": "warning", "msg": "slow"}')
        (30, 'slow')
        >>> default_line_parser("stdout", "rows: 10")
        (20, 'rows: 10')
    """
    if not line.strip():
        return None
    head = line.lstrip()[:1]
    if head == "{":
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            lvl = obj.get("level", obj.get("levelname", obj.get("severity")))
            msg = obj.get("message", obj.get("msg", obj.get("event")))
            if isinstance(lvl, str) and lvl.upper() in _LEVELS:
                return _LEVELS[lvl.upper()], msg if isinstance(msg, str) else line
            if isinstance(lvl, int) and not isinstance(lvl, bool):
                return max(10, min(50, lvl)), msg if isinstance(msg, str) else line
        return logging.INFO, line
    if line.startswith("Traceback (most recent call last)"):
        return logging.ERROR, line
    m = _PREFIX.match(line)
    if m is not None:
        word = (m.group("b") or m.group("c") or m.group("d") or m.group("e") or "").upper()
        lvl = _LEVELS.get(word)
        if lvl is not None:
            return lvl, line
    return logging.INFO, line


def plain_line_parser(stream: str, line: str) -> tuple[int, str] | None:
    """Every line at INFO, as it is (no level recognition)."""
    return logging.INFO, line


class PipesMessageReader:
    """Base of host-side message readers (subclass for a new channel).

    - :meth:`setup` (called once, before launch, with the session's private directory)
      returns the message params for ``DAGSTER_PIPES_MESSAGES``;
    - :meth:`read` returns the raw message lines available now, without blocking; with
      ``final=True`` (the process ended) it also returns what is left, waiting a little where
      the transport is eventually consistent;
    - :attr:`cursor` is a JSON value saying how far it read; :meth:`restore` sets it back
      (reattaching after a restart);
    - :attr:`stdio_stream` is ``"stdout"``/``"stderr"`` when messages travel in the process's
      log stream (the session then picks them out of the log lines);
    - :meth:`cleanup` removes what :meth:`setup` created.
    """

    name: str = ""
    stdio_stream: str | None = None

    def setup(self, session_dir: str) -> dict[str, Any]:
        raise NotImplementedError

    def read(self, final: bool = False) -> list[str]:
        return []

    @property
    def cursor(self) -> Any:
        return None

    def restore(self, cursor: Any) -> None:
        """Continue reading from *cursor* (a value of :attr:`cursor`)."""

    def cleanup(self) -> None:
        """Remove what :meth:`setup` created."""

    def spec(self) -> dict[str, Any]:
        """What a reattaching session needs to build this reader again (JSON)."""
        return {"channel": self.name}

    def describe(self) -> str:
        return self.name


class PipesFileMessageReader(PipesMessageReader):
    """Messages appended as JSON lines to a local file (Dagster's file channel).

    ``PipesFileMessageReader()`` uses ``messages.jsonl`` in the session's private directory
    (deleted afterwards); ``PipesFileMessageReader(path)`` uses *path* (kept unless
    ``cleanup_file=True``). The file is created empty before launch.
    """

    name = "file"

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 include_stdio_in_messages: bool = False, cleanup_file: bool | None = None
                 ) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.include_stdio_in_messages = include_stdio_in_messages
        self._cleanup = cleanup_file if cleanup_file is not None else path is None
        self._tail: FileTail | None = None

    def setup(self, session_dir: str) -> dict[str, Any]:
        if self.path is None:
            self.path = os.path.join(session_dir, "messages.jsonl")
        try:
            parent = os.path.dirname(self.path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(self.path, "wb"):
                pass
        except OSError as exc:
            raise PipesError(f"file message reader: cannot create the message file "
                             f"{self.path!r}: {exc}; pass a writable path") from exc
        self._tail = FileTail(self.path)
        return {"path": self.path, "include_stdio_in_messages": self.include_stdio_in_messages}

    def attach(self, path: str) -> None:
        """Read an existing message file (reattaching: do not truncate it)."""
        self.path = path
        self._tail = FileTail(path)

    def read(self, final: bool = False) -> list[str]:
        if self._tail is None:
            return []
        return self._tail.read(final)[0]

    @property
    def cursor(self) -> Any:
        return self._tail.offset if self._tail is not None else 0

    def restore(self, cursor: Any) -> None:
        if self._tail is not None and cursor is not None:
            self._tail.offset = int(cursor)

    def cleanup(self) -> None:
        if self._tail is not None:
            self._tail.close()
        if self._cleanup and self.path:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def spec(self) -> dict[str, Any]:
        return {"channel": self.name, "path": self.path}

    def describe(self) -> str:
        return f"file {self.path}"


class PipesTempFileMessageReader(PipesFileMessageReader):
    """:class:`PipesFileMessageReader` on a temporary file (Dagster's name for the default)."""

    def __init__(self, *, include_stdio_in_messages: bool = False) -> None:
        super().__init__(None, include_stdio_in_messages=include_stdio_in_messages)


class PipesStdioMessageReader(PipesMessageReader):
    """Messages written as JSON lines to the process's ``stdout`` (default) or ``stderr``,
    mixed with its ordinary output: a line that is a JSON object with the
    ``__dagster_pipes_version`` key is a message, every other line a log line. The launcher's
    log stream carries them, so this reader reads nothing itself. ``buffered=True`` sends
    ``{"buffered_stdio": ...}`` (the client writes everything at close)."""

    name = "stdio"

    def __init__(self, stream: str = "stdout", *, buffered: bool = False) -> None:
        if stream not in ("stdout", "stderr"):
            raise PipesError(f"stdio message reader: stream must be 'stdout' or 'stderr', got "
                             f"{stream!r}")
        self.stdio_stream = stream
        self.buffered = buffered

    def setup(self, session_dir: str) -> dict[str, Any]:
        return {"buffered_stdio" if self.buffered else "stdio": self.stdio_stream}

    def spec(self) -> dict[str, Any]:
        return {"channel": self.name, "stream": self.stdio_stream, "buffered": self.buffered}

    def describe(self) -> str:
        return f"stdio ({self.stdio_stream})"


class PipesChunkedMessageReader(PipesMessageReader):
    """Messages as numbered chunks ``{bucket}/{key_prefix}/{n}.json`` (``n`` from 1) on an
    fsspec filesystem: the blob-store layout of Dagster's S3/GCS/Azure channels.

    ``PipesChunkedMessageReader("s3://bucket/prefix")`` or, for tests and shared disks,
    ``PipesChunkedMessageReader("/shared/dir")``; ``fs=`` passes a configured filesystem.
    Unlike Dagster's reader it reads every available chunk per tick, and after the process
    ended keeps looking for up to ``final_wait`` seconds until ``closed`` was seen.
    The session's chunks are deleted afterwards (``cleanup=False`` keeps them).
    """

    name = "chunked"

    def __init__(self, base_url: str, *, fs: Any = None, final_wait: float = 5.0,
                 cleanup: bool = True, key_prefix: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._fs = fs
        self.final_wait = final_wait
        self._cleanup = cleanup
        self.key_prefix = key_prefix
        self._next = 1
        self._final_since: float | None = None
        self._closed = False

    def _filesystem(self) -> tuple[Any, str]:
        if self._fs is not None:
            return self._fs, self.base_url
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - fsspec is a core dependency
            raise PipesError("chunked message reader needs fsspec: pip install fsspec") from exc
        fs, path = fsspec.core.url_to_fs(self.base_url)
        self._fs = fs
        self.base_url = path.rstrip("/")
        return fs, self.base_url

    def setup(self, session_dir: str) -> dict[str, Any]:
        import secrets
        import string

        fs, base = self._filesystem()
        if self.key_prefix is None:
            alphabet = string.ascii_letters
            self.key_prefix = "".join(secrets.choice(alphabet) for _ in range(30))
        try:
            fs.makedirs(f"{base}/{self.key_prefix}", exist_ok=True)
        except Exception:
            logging.getLogger("orchestrator.pipes").debug("makedirs failed", exc_info=True)
        return {"bucket": base, "key_prefix": self.key_prefix,
                "include_stdio_in_messages": False}

    def _chunk(self, n: int) -> str:
        return f"{self.base_url}/{self.key_prefix}/{n}.json"

    def read(self, final: bool = False) -> list[str]:
        fs = self._fs
        if fs is None or self.key_prefix is None:
            return []
        out: list[str] = []
        while True:
            try:
                with fs.open(self._chunk(self._next), "rb") as fh:
                    data = fh.read()
            except (FileNotFoundError, OSError):
                if final and not self._closed:
                    now = time.monotonic()
                    if self._final_since is None:
                        self._final_since = now
                    if now - self._final_since < self.final_wait:
                        time.sleep(0.05)
                        continue
                break
            self._next += 1
            lines = [ln for ln in data.decode("utf-8", "replace").split("\n") if ln.strip()]
            if any('"closed"' in ln for ln in lines):
                self._closed = True
            out.extend(lines)
        return out

    @property
    def cursor(self) -> Any:
        return self._next

    def restore(self, cursor: Any) -> None:
        if cursor is not None:
            self._next = int(cursor)

    def cleanup(self) -> None:
        if self._cleanup and self._fs is not None and self.key_prefix:
            try:
                self._fs.rm(f"{self.base_url}/{self.key_prefix}", recursive=True)
            except Exception:
                logging.getLogger("orchestrator.pipes").debug("chunk cleanup failed",
                                                              exc_info=True)

    def spec(self) -> dict[str, Any]:
        return {"channel": self.name, "base_url": self.base_url, "key_prefix": self.key_prefix}

    def describe(self) -> str:
        return f"chunked {self.base_url}/{self.key_prefix}"


def reader_from_spec(spec: dict[str, Any]) -> PipesMessageReader:
    """Build a reader again from :meth:`PipesMessageReader.spec` (reattach)."""
    channel = spec.get("channel")
    if channel == "file":
        r = PipesFileMessageReader(spec["path"], cleanup_file=True)
        r.attach(spec["path"])
        return r
    if channel == "stdio":
        return PipesStdioMessageReader(spec.get("stream", "stdout"),
                                       buffered=bool(spec.get("buffered")))
    if channel == "chunked":
        r2 = PipesChunkedMessageReader(spec["base_url"], key_prefix=spec["key_prefix"])
        r2._filesystem()
        return r2
    raise PipesError(f"cannot rebuild message reader from {spec!r:.200}: unknown channel "
                     f"{channel!r}; known: file, stdio, chunked")
