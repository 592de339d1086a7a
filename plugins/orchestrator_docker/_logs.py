"""Following a container's stdout or stderr into a local file, losing and repeating nothing.

Docker keeps a container's output in its log driver from the moment it starts, so a reader
that connects late loses nothing *at the start*. At the *end*, a follow stream may close
before the last entries reach it (a last line without a newline is typically dropped), and a
connection may break in the middle. So each stream is followed by one thread that:

1. requests ``logs(follow=True, timestamps=True, since=<last second seen>)``;
2. drops entries it has already consumed: every entry carries a nanosecond timestamp, and
   the follower remembers the last timestamp and how many entries carried exactly that one
   (a long line split by Docker into 16 KiB pieces shares one timestamp);
3. joins those pieces back into one line and appends it to the file as
   ``<ts_ns> <count> <text>\\n``: the prefix is the consumed-position after that line (a
   last line the container wrote without a newline is written without one too, so readers
   return it only in their final read, as the launcher contract says);
4. when the stream ends: if the container still runs, reconnects (1.); if it stopped, makes
   one last non-following request (the final look-back) and finishes.

A follower started in a new process (reattach after an orchestrator restart) reads the
position from the file's last line and continues from there, so the file never holds a line
twice. Readers read the file by byte offset (:class:`orchestrator.launchers._files.FileTail`)
and strip the prefix.
"""

from __future__ import annotations

import calendar
import logging
import os
import threading
import time
from collections import deque
from typing import Any

__all__ = ["StreamFollower", "last_position", "strip_prefix"]

_log = logging.getLogger("orchestrator.docker")


def strip_prefix(line: str) -> str:
    """The text of a follower file line (without ``<ts_ns> <count> ``)."""
    first = line.find(" ")
    second = line.find(" ", first + 1) if first >= 0 else -1
    return line[second + 1:] if second >= 0 else line


def last_position(path: str) -> tuple[int, int]:
    """``(ts_ns, count)`` of the last complete line of a follower file (``(0, 0)`` if none).

    A last line without its newline (the writer died mid-line) is cut off first, so a
    follower resuming after a crash appends to whole lines only."""
    try:
        with open(path, "r+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return 0, 0
            fh.seek(size - 1)
            if fh.read(1) != b"\n":
                size = _line_start(fh, size)
                fh.truncate(size)
                if size == 0:
                    return 0, 0
            fh.seek(_line_start(fh, size - 1))
            head = fh.read(64)
    except OSError:
        return 0, 0
    parts = head.split(b" ", 2)
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 0, 0


def _line_start(fh: Any, end: int) -> int:
    """Offset just after the last newline before *end* (0 when there is none)."""
    while end > 0:
        start = max(0, end - 65536)
        fh.seek(start)
        i = fh.read(end - start).rfind(b"\n")
        if i >= 0:
            return start + i + 1
        end = start
    return 0


_epoch_cache: dict[bytes, int] = {}


def parse_ts(raw: bytes) -> int:
    """Docker's RFC 3339 nano timestamp (``2026-11-21T11:08:36.66875262Z``) in ns."""
    base = raw[:19]
    secs = _epoch_cache.get(base)
    if secs is None:
        secs = calendar.timegm(time.strptime(base.decode("ascii"), "%Y-%m-%dT%H:%M:%S"))
        if len(_epoch_cache) > 4096:
            _epoch_cache.clear()
        _epoch_cache[base] = secs
    frac = b""
    if len(raw) > 19 and raw[19:20] == b".":
        end = 20
        while end < len(raw) and raw[end:end + 1].isdigit():
            end += 1
        frac = raw[20:end]
    return secs * 1_000_000_000 + int((frac + b"000000000")[:9] or b"0")


class StreamFollower(threading.Thread):
    """Follows one stream (``"stdout"``/``"stderr"``) of container *container_id* into *path*
    (see the module docstring). ``done`` is set when the container stopped and every entry
    was written; ``recent`` keeps the last lines for failure reports."""

    def __init__(self, api: Any, container_id: str, stream: str, path: str,
                 recent: int = 50) -> None:
        super().__init__(name=f"docker-logs-{container_id[:12]}-{stream}", daemon=True)
        self.api = api
        self.container_id = container_id
        self.stream = stream
        self.path = path
        self.done = threading.Event()
        self.gone = False  # the container disappeared under us
        self.recent: deque[str] = deque(maxlen=recent)
        self._halt = threading.Event()
        self._active: Any = None
        self._pending: list[bytes] = []
        self.last_ts, self.count = 0, 0
        self._fh: Any = None

    # -- consuming entries -----------------------------------------------------------------
    def _acquire(self) -> bool:
        """Open the file and take its lock: one follower per file at a time, across
        launcher instances and processes (the lock of a dead process is released by the
        kernel). Then read where the previous follower stopped."""
        import fcntl

        # unbuffered: each line is one write(), visible to readers at once
        self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - kept open
        while True:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self._halt.wait(0.05):
                    return False
        self.last_ts, self.count = last_position(self.path)
        return True

    def _write(self, text: bytes, end: bytes = b"\n") -> None:
        self._fh.write(b"%d %d " % (self.last_ts, self.count) + text + end)
        self.recent.append(text[:2000].decode("utf-8", "replace"))

    def _consume(self, frames: Any) -> None:
        """Apply the entries of one request (each frame is ``b"<ts> <payload>"``)."""
        skip_ts, skip_n = self.last_ts, self.count
        replayed = 0
        for frame in frames:
            if not frame:
                continue
            sp = frame.find(b" ")
            if sp < 0:
                continue
            try:
                ts = parse_ts(frame[:sp])
            except (ValueError, OverflowError):
                continue
            if ts < skip_ts:
                continue
            if ts == skip_ts and replayed < skip_n:
                replayed += 1
                continue
            if ts == self.last_ts:
                self.count += 1
            else:
                self.last_ts, self.count = ts, 1
            payload = frame[sp + 1:]
            if payload.endswith(b"\n"):
                line = payload[:-1]
                if self._pending:
                    self._pending.append(line)
                    line = b"".join(self._pending)
                    self._pending = []
                self._write(line)
            else:  # a piece of a long line, or a last line without newline
                self._pending.append(payload)
            if self._halt.is_set():
                break

    def _request(self, follow: bool) -> Any:
        kwargs: dict[str, Any] = {"stdout": self.stream == "stdout",
                                  "stderr": self.stream == "stderr",
                                  "stream": True, "follow": follow, "timestamps": True}
        if self.last_ts:
            kwargs["since"] = max(1, self.last_ts // 1_000_000_000)
        return self.api.logs(self.container_id, **kwargs)

    def _running(self) -> bool | None:
        """Whether the container runs; ``None`` when it is gone."""
        from docker.errors import NotFound

        try:
            state = self.api.inspect_container(self.container_id)["State"]
        except NotFound:
            return None
        return bool(state.get("Running") or state.get("Restarting") or state.get("Paused"))

    def run(self) -> None:
        from docker.errors import NotFound

        try:
            if not self._acquire():
                return
            failures = 0
            while not self._halt.is_set():
                try:
                    self._active = self._request(True)
                    self._consume(self._active)
                    failures = 0
                except NotFound:
                    self.gone = True
                    return
                except Exception as exc:  # noqa: BLE001 - reconnect below
                    if self._halt.is_set():
                        return
                    failures += 1
                    _log.debug("log stream of %s broke (%s); reconnecting",
                               self.container_id[:12], exc)
                    self._halt.wait(min(0.05 * failures, 1.0))
                finally:
                    active, self._active = self._active, None
                    if active is not None:
                        try:
                            active.close()
                        except Exception:  # noqa: BLE001, S110 - closing a dead stream
                            pass
                if self._halt.is_set():
                    return
                try:
                    running = self._running()
                except Exception:  # noqa: BLE001 - daemon hiccup: try again
                    self._halt.wait(0.2)
                    continue
                if running is None:
                    self.gone = True
                    return
                if not running:
                    # the final look-back: entries the follow stream closed before sending
                    try:
                        self._consume(self._request(False))
                    except NotFound:
                        self.gone = True
                    except Exception:  # noqa: BLE001
                        _log.debug("final log read of %s failed", self.container_id[:12],
                                   exc_info=True)
                    return
        finally:
            if self._pending and not self._halt.is_set() and self._fh is not None:
                line = b"".join(self._pending)
                self._pending = []
                self._write(line, b"")  # a last line without newline stays without one
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            self.done.set()

    def stop(self) -> None:
        """Stop following (cleanup); the thread ends soon after."""
        self._halt.set()
        active = self._active
        if active is not None:
            try:
                active.close()
            except Exception:  # noqa: BLE001, S110 - closing a dead stream
                pass
