"""Numbered-chunk channel on fsspec filesystems (memory fs for the S3 layout, the local
filesystem for the DBFS/Volumes path layout in a real subprocess)."""

from __future__ import annotations

import json
import time

import fsspec
import pytest
from pc_host import MiniHost

from pipes_client import PipesBlobStoreMessageWriter, PipesClientError, PipesDefaultMessageWriter


def _wait_for(pred, what):
    deadline = time.monotonic() + 30
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _chunks(fs, prefix):
    out = {}
    for path in fs.find(prefix):
        name = path.rsplit("/", 1)[-1]
        out[int(name.split(".")[0])] = fs.cat(path).decode()
    return dict(sorted(out.items()))


def test_s3_layout_numbers_chunks_from_one_without_gaps_or_empties():
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    chan = PipesDefaultMessageWriter(fs, interval=0.05).open(
        {"bucket": "bkt", "key_prefix": "AbCd", "include_stdio_in_messages": False})
    assert chan.chunk_path(1) == "bkt/AbCd/1.json"
    for i in range(3):
        chan.write_line(json.dumps({"n": i}))
    _wait_for(lambda: fs.exists("bkt/AbCd/1.json"), "first chunk")
    time.sleep(0.2)  # idle ticks must not upload empty chunks
    assert list(_chunks(fs, "bkt/AbCd")) == [1]
    chan.write_line(json.dumps({"n": 3}))
    chan.write_line(json.dumps({"n": 4}))
    chan.close()  # final flush
    chunks = _chunks(fs, "bkt/AbCd")
    assert list(chunks) == list(range(1, len(chunks) + 1))
    assert all(text and not text.endswith("\n") for text in chunks.values())
    lines = [json.loads(ln)["n"] for text in chunks.values() for ln in text.split("\n")]
    assert lines == [0, 1, 2, 3, 4]


def test_no_prefix_and_bad_params():
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    chan = PipesBlobStoreMessageWriter(fs, interval=60).open({"bucket": "b2"})
    chan.write_line("{}")
    chan.close()
    assert fs.cat("b2/1.json") == b"{}"
    with pytest.raises(PipesClientError, match="need 'bucket'"):
        PipesBlobStoreMessageWriter(fs).open({"stdio": "stdout"})
    with pytest.raises(PipesClientError, match="name no channel"):
        PipesDefaultMessageWriter().open({"prefect_logs": True})


def test_upload_failure_keeps_messages_for_the_final_flush():
    class Flaky:
        def __init__(self):
            self.fail = True
            self.files = {}

        def open(self, path, mode):
            if self.fail:
                raise OSError("store unavailable")
            import io

            files = self.files

            class W(io.BytesIO):
                def close(self):
                    files[path] = self.getvalue()
                    super().close()

            return W()

    fs = Flaky()
    chan = PipesBlobStoreMessageWriter(fs, interval=0.02).open({"bucket": "b", "key_prefix": "p"})
    chan.write_line('{"a": 1}')
    time.sleep(0.1)
    fs.fail = False
    chan.write_line('{"b": 2}')
    chan.close()
    assert b"".join(fs.files.values()) .count(b"\n") == 1
    assert sorted(fs.files) == ["b/p/1.json"]


def test_path_layout_in_a_real_subprocess(tmp_path):
    host = MiniHost(tmp_path)
    chunk_dir = tmp_path / "volume" / "tmp" / "xyz"
    host.message_params = {"path": str(chunk_dir), "include_stdio_in_messages": False}
    proc = host.python("""
from pipes_client import open_pipes, PipesBlobStoreMessageWriter
with open_pipes(message_writer=PipesBlobStoreMessageWriter(interval=0.05)) as pipes:
    for i in range(5):
        pipes.log.info(f"m{i}")
    pipes.report_asset_materialization(metadata={"rows": 1})
""")
    assert proc.returncode == 0, proc.stderr
    files = sorted(chunk_dir.iterdir(), key=lambda p: int(p.stem))
    assert [p.name for p in files] == [f"{i}.json" for i in range(1, len(files) + 1)]
    from pipes_protocol import parse_message

    msgs = [parse_message(ln) for p in files for ln in p.read_text().split("\n")]
    assert [m["method"] for m in msgs] == ["opened"] + ["log"] * 5 + [
        "report_asset_materialization", "closed"]


def test_context_from_object_store_and_remote_url():
    from pipes_client import PipesDefaultContextLoader

    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pipe("bkt/run1/context.json", json.dumps({"run_id": "from-store"}).encode())
    loader = PipesDefaultContextLoader(fs=fs)
    ctx = loader.load_context({"bucket": "bkt", "key": "run1/context.json"})
    assert ctx["run_id"] == "from-store" and ctx["asset_keys"] is None and ctx["extras"] == {}
    ctx = PipesDefaultContextLoader().load_context({"url": "memory://bkt/run1/context.json"})
    assert ctx["run_id"] == "from-store"
    with pytest.raises(PipesClientError, match="cannot read context url"):
        PipesDefaultContextLoader().load_context({"url": "memory://bkt/missing.json"})
    with pytest.raises(PipesClientError, match="none of 'path', 'data', 'url'"):
        PipesDefaultContextLoader().load_context({"weird": 1})
