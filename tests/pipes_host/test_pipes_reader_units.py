"""Reader internals that are hard to provoke with a process: a failing store, partial lines,
line parsers."""

from __future__ import annotations

import json

import pytest

from orchestrator.asset_key import AssetKey
from orchestrator.launchers._files import FileTail
from orchestrator.pipes import PipesFileMessageReader, default_line_parser
from orchestrator.pipes.session import PipesSession, _Target


def _log_line(i: int) -> str:
    return json.dumps({"__dagster_pipes_version": "0.1", "method": "log",
                       "params": {"message": f"m{i}", "level": "INFO"}})


def test_a_failing_store_loses_nothing(tmp_path):
    """The store fails once (e.g. the database is locked too long): the batch is kept and
    stored with the next one, in order, with the newest cursor."""
    reader = PipesFileMessageReader()
    reader.setup(str(tmp_path))
    stored: list = []
    fail = [True]

    def sink(events):
        if fail[0]:
            fail[0] = False
            raise RuntimeError("database is locked")
        stored.extend(events)

    session = PipesSession(_Target("run", "step", [AssetKey("a")], [], None), sink=sink,
                           message_reader=reader, session_dir=str(tmp_path))
    with open(reader.path, "a") as fh:
        fh.write(_log_line(0) + "\n" + _log_line(1) + "\n")
    with pytest.raises(RuntimeError):
        session._tick(False)
    with open(reader.path, "a") as fh:
        fh.write(_log_line(2) + "\n")
    session._tick(False)
    assert [e.message for e in stored] == ["m0", "m1", "m2"]
    assert stored[-1].data["pipes_cursor"]["messages"] == reader.cursor


def test_file_tail_waits_for_the_end_of_a_line(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"one\ntw")
    tail = FileTail(str(path))
    assert tail.read() == (["one"], 4)
    assert tail.read() == ([], 4)
    with open(path, "ab") as fh:
        fh.write(b"o\r\nthree")
    assert tail.read() == (["two"], 9)
    assert tail.read(final=True) == (["three"], 14)


def test_file_tail_replaces_bad_utf8(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"caf\xe9\n")
    assert FileTail(str(path)).read()[0] == ["caf\ufffd"]


@pytest.mark.parametrize(("line", "level", "message"), [
    ("ERROR: boom", 40, "ERROR: boom"),
    ("error: lower case", 40, "error: lower case"),
    ("[warning] careful", 30, "[warning] careful"),
    ("WARN - careful", 30, "WARN - careful"),
    ("level=debug msg=x", 10, "level=debug msg=x"),
    ("CRITICAL: down", 50, "CRITICAL: down"),
    ("Traceback (most recent call last):", 40, "Traceback (most recent call last):"),
    ('{"levelname": "ERROR", "message": "json err"}', 40, "json err"),
    ('{"severity": "WARNING", "msg": "gcp style"}', 30, "gcp style"),
    ('{"level": 40, "msg": "numeric"}', 40, "numeric"),
    ('{"not": "a log"}', 20, '{"not": "a log"}'),
    ("Note: info is default", 20, "Note: info is default"),
    ("plain", 20, "plain"),
])
def test_default_line_parser(line, level, message):
    assert default_line_parser("stdout", line) == (level, message)


def test_blank_lines_are_dropped():
    assert default_line_parser("stderr", "   ") is None
