"""Reading growing text files by byte offset (log files, the pipes message file)."""

from __future__ import annotations

import os

__all__ = ["FileTail", "read_tail_lines"]

_CHUNK = 4 * 1024 * 1024
_MAX_LINE = 64 * 1024 * 1024


class FileTail:
    """Reads complete lines appended to one file since a byte offset; keeps the file open.

    ``read(final=False)`` returns ``(lines, offset)``: the complete lines (decoded as UTF-8,
    bad bytes replaced, ``\\r\\n`` and ``\\n`` removed) and the offset just after the last one.
    With ``final=True`` a trailing line without a newline is returned too. A line is returned
    only once complete (whatever its size), except one longer than 64 MiB with no newline in
    sight, which is returned as it is so reading never stalls.
    """

    __slots__ = ("_fh", "offset", "path")

    def __init__(self, path: str, offset: int = 0) -> None:
        self.path = path
        self.offset = int(offset)
        self._fh = None

    def _open(self) -> bool:
        if self._fh is None:
            try:
                self._fh = open(self.path, "rb")  # noqa: SIM115 - kept open while tailing
            except FileNotFoundError:
                return False
        return True

    def read_bytes(self, final: bool = False) -> bytes:
        """Complete-line bytes since the offset (advancing it past them)."""
        if not self._open():
            return b""
        fh = self._fh
        assert fh is not None
        fh.seek(self.offset)
        buf = bytearray()
        while True:
            data = fh.read(_CHUNK)
            if not data:
                break
            buf += data
            if len(data) < _CHUNK:
                break  # end of what is written so far
            if len(buf) >= _CHUNK and b"\n" in data:
                break  # enough for one batch
        if not buf:
            return b""
        if final:
            take = len(buf)
        else:
            cut = buf.rfind(b"\n")
            if cut < 0:
                if len(buf) < _MAX_LINE:
                    return b""  # a line still being written: wait for its end
                take = len(buf)  # an absurdly long line: pass it on rather than stall
            else:
                take = cut + 1
        self.offset += take
        return bytes(buf[:take])

    def read(self, final: bool = False) -> tuple[list[str], int]:
        data = self.read_bytes(final)
        if not data:
            return [], self.offset
        text = data.decode("utf-8", "replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [ln.removesuffix("\r") for ln in lines], self.offset

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_tail_lines(path: str, lines: int = 20, max_bytes: int = 65536) -> list[str]:
    """The last *lines* lines of a file (reading at most *max_bytes* from its end)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").rstrip("\n")
    if not text:
        return []
    out = text.split("\n")
    if size > max_bytes and len(out) > 1:
        out = out[1:]  # first line is probably cut
    return [ln.rstrip("\r") for ln in out[-lines:]]
