"""Reading growing text files by byte offset (log files, the pipes message file)."""

from __future__ import annotations

import os

__all__ = ["FileTail", "read_tail_lines"]

_CHUNK = 4 * 1024 * 1024


class FileTail:
    """Reads complete lines appended to one file since a byte offset; keeps the file open.

    ``read(final=False)`` returns ``(lines, offset)``: the complete lines (decoded as UTF-8,
    bad bytes replaced, ``\\r\\n`` and ``\\n`` removed) and the offset just after the last one.
    With ``final=True`` a trailing line without a newline is returned too. A line longer than
    the read chunk with no newline in sight is returned as it is, so reading never stalls.
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
        """Complete-line bytes since the offset (advancing it)."""
        if not self._open():
            return b""
        fh = self._fh
        assert fh is not None
        out = []
        while True:
            fh.seek(self.offset)
            data = fh.read(_CHUNK)
            if not data:
                break
            if final or len(data) == _CHUNK and b"\n" not in data:
                take = len(data)
            else:
                cut = data.rfind(b"\n")
                if cut < 0:
                    break
                take = cut + 1
            out.append(data[:take] if take != len(data) else data)
            self.offset += take
            if len(data) < _CHUNK:
                break
        return b"".join(out)

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
