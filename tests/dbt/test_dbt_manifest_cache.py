"""The on-disk index cache: hits, invalidation, and robustness against bad cache files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from orchestrator_dbt import default_cache_dir, load_manifest


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("manifest-*.pickle"))


def test_second_load_hits_the_cache(tmp_path, tiny_doc, write_json) -> None:
    path = write_json(tiny_doc)
    cache = tmp_path / "cache"
    first = load_manifest(path, cache_dir=cache)
    assert first.loaded_from == "json"
    assert len(_cache_files(cache)) == 1
    second = load_manifest(path, cache_dir=cache)
    assert second.loaded_from == "cache"
    assert second.sha == first.sha
    assert second.nodes == first.nodes
    assert second.tests == first.tests
    assert second.get("clean").owners == ("me@example.com",)


def test_cache_hit_does_not_read_the_manifest(tmp_path, tiny_doc, write_json) -> None:
    """An unchanged file (same size and mtime) is not even read: the cache answers."""
    path = write_json(tiny_doc)
    cache = tmp_path / "cache"
    load_manifest(path, cache_dir=cache)
    st = path.stat()
    # Same size, same mtime, different bytes: only a stat-keyed cache can still say "clean".
    data = path.read_bytes().replace(b"Clean rows.", b"Dirty rows!")
    assert len(data) == st.st_size
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert load_manifest(path, cache_dir=cache).get("clean").description == "Clean rows."
    # ... and without the cache the real content shows
    assert load_manifest(path, use_cache=False).get("clean").description == "Dirty rows!"


def test_changed_manifest_invalidates_the_cache(tmp_path, tiny_doc, write_json) -> None:
    path = write_json(tiny_doc)
    cache = tmp_path / "cache"
    assert load_manifest(path, cache_dir=cache).get("clean").description == "Clean rows."
    tiny_doc["nodes"]["model.tiny.clean"]["description"] = "Rows, cleaned again and longer."
    write_json(tiny_doc)
    again = load_manifest(path, cache_dir=cache)
    assert again.loaded_from == "json"
    assert again.get("clean").description == "Rows, cleaned again and longer."
    assert load_manifest(path, cache_dir=cache).loaded_from == "cache"
    assert len(_cache_files(cache)) == 1  # rewritten in place, not piled up


def test_touched_but_identical_manifest_is_served_by_hash(tmp_path, tiny_doc, write_json) -> None:
    path = write_json(tiny_doc)
    cache = tmp_path / "cache"
    first = load_manifest(path, cache_dir=cache)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    again = load_manifest(path, cache_dir=cache)
    assert again.loaded_from == "cache" and again.sha == first.sha
    # the stat key was refreshed: still a hit
    assert load_manifest(path, cache_dir=cache).loaded_from == "cache"


def test_each_manifest_path_has_its_own_cache_entry(tmp_path, tiny_doc, write_json) -> None:
    cache = tmp_path / "cache"
    a = write_json(tiny_doc, "a/manifest.json")
    tiny_doc["metadata"]["project_name"] = "other"
    b = write_json(tiny_doc, "b/manifest.json")
    assert load_manifest(a, cache_dir=cache).project_name == "tiny"
    assert load_manifest(b, cache_dir=cache).project_name == "other"
    assert load_manifest(a, cache_dir=cache).project_name == "tiny"
    assert len(_cache_files(cache)) == 2


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05K\x01."])
def test_corrupt_cache_file_is_ignored_and_rewritten(tmp_path, tiny_doc, write_json,
                                                     garbage) -> None:
    path = write_json(tiny_doc)
    cache = tmp_path / "cache"
    load_manifest(path, cache_dir=cache)
    (cache_file,) = _cache_files(cache)
    cache_file.write_bytes(garbage)
    m = load_manifest(path, cache_dir=cache)
    assert m.loaded_from == "json" and m.get("clean").name == "clean"
    assert load_manifest(path, cache_dir=cache).loaded_from == "cache"


def test_unwritable_cache_dir_is_not_an_error(tmp_path, tiny_doc, write_json) -> None:
    path = write_json(tiny_doc)
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    m = load_manifest(path, cache_dir=blocker / "cache")
    assert m.loaded_from == "json"
    assert load_manifest(path, cache_dir=blocker / "cache").loaded_from == "json"


def test_use_cache_false_neither_reads_nor_writes(tmp_path, tiny_doc, write_json) -> None:
    path = write_json(tiny_doc)
    cache = default_cache_dir()
    assert load_manifest(path, use_cache=False).loaded_from == "json"
    assert not cache.exists() or not _cache_files(cache)
    load_manifest(path)
    assert len(_cache_files(cache)) == 1
    assert load_manifest(path, use_cache=False).loaded_from == "json"


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "dbt"
    monkeypatch.delenv("ORCHESTRATOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "orchestrator" / "dbt"


@pytest.mark.system
def test_real_manifest_round_trips_through_the_cache(tmp_path, passing_manifest_path) -> None:
    cache = tmp_path / "cache"
    cold = load_manifest(passing_manifest_path, cache_dir=cache)
    warm = load_manifest(passing_manifest_path, cache_dir=cache)
    assert (cold.loaded_from, warm.loaded_from) == ("json", "cache")
    assert warm.nodes == cold.nodes and warm.sources == cold.sources
    assert warm.tests == cold.tests and warm.groups == cold.groups
    assert warm.metadata == cold.metadata
    assert [t.name for t in warm.tests_for("customers")] == [
        t.name for t in cold.tests_for("customers")]
    # the raw JSON is still reachable from a cached index
    assert json.loads(passing_manifest_path.read_text())["metadata"] == warm.raw()["metadata"]
