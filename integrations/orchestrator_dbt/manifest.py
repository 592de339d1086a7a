"""Fast loading of dbt's ``manifest.json`` into a compact index, without importing dbt.

The manifest is read with a JSON parser (``orjson`` when it is installed, else the standard
``json`` module; ``ORCHESTRATOR_DBT_JSON=json`` forces the latter) and boiled down once to
what the orchestrator needs: the models, seeds and
snapshots that become assets, the sources that become external assets, the tests that become
checks, and the groups. The index is cached on disk, keyed by the manifest's content hash, so the
next load of an unchanged manifest only unpickles it::

    from orchestrator_dbt import load_manifest

    manifest = load_manifest("my_project/target/manifest.json")
    customers = manifest.get("customers")              # by name or by unique id
    customers.materialized, customers.relation_name    # ('table', '"db"."main"."customers"')
    [t.test_name for t in manifest.tests_for(customers)]  # ['unique', 'not_null']
    manifest.loaded_from                               # 'json' the first time, then 'cache'

Everything in the index is a plain, immutable value (named tuples of strings, tuples and dicts),
cheap to pickle and to hand to a translator.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import pickle
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .errors import DbtManifestError

__all__ = [
    "ASSET_RESOURCE_TYPES",
    "SUPPORTED_SCHEMA_VERSIONS",
    "DbtColumn",
    "DbtGroup",
    "DbtManifest",
    "DbtNode",
    "DbtTest",
    "default_cache_dir",
    "load_manifest",
]

#: Manifest schema versions this loader reads: v7 (dbt 1.3) to v12 (dbt 1.8 to 1.11).
SUPPORTED_SCHEMA_VERSIONS = range(7, 13)
#: dbt resource types that become assets.
ASSET_RESOURCE_TYPES = ("model", "seed", "snapshot")

# Bump when the layout of the cached index changes: old cache files are then ignored.
_CACHE_FORMAT = "orchestrator-dbt-index-3"
_SCHEMA_RE = re.compile(r"/manifest/v(\d+)\.json$")
_SOURCE_CALL_RE = re.compile(r"""source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)""")
_REF_CALL_RE = re.compile(r"""\bref\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)""")


class DbtColumn(NamedTuple):
    """A documented column of a model, seed, snapshot or source."""

    name: str
    description: str
    data_type: str | None
    meta: Mapping[str, Any]


class DbtNode(NamedTuple):
    """A model, seed or snapshot (an asset), or a source (an external asset).

    ``depends_on`` holds the unique ids of the nodes and sources it reads from. ``owners`` is
    ``config.meta.owner`` (a string or a list) followed by the owner of the node's dbt group.
    ``checksum`` is dbt's hash of the node's file (``None`` for sources): the code version.
    For sources, ``name`` is the table name and ``source_name`` the source's name.
    """

    unique_id: str
    name: str
    resource_type: str
    package_name: str
    fqn: tuple[str, ...]
    path: str
    original_file_path: str
    database: str | None
    schema: str | None
    alias: str | None
    relation_name: str | None
    materialized: str | None
    description: str
    columns: tuple[DbtColumn, ...]
    tags: tuple[str, ...]
    meta: Mapping[str, Any]
    group: str | None
    owners: tuple[str, ...]
    checksum: str | None
    depends_on: tuple[str, ...]
    source_name: str | None
    version: str | None
    configured_schema: str | None

    @property
    def is_source(self) -> bool:
        """True for a dbt source (an external asset)."""
        return self.resource_type == "source"


class DbtTest(NamedTuple):
    """A dbt data test (generic or singular) or unit test.

    ``kind`` is ``"generic"`` (not_null, unique, accepted_values, relationships, ...),
    ``"singular"`` (a SQL file under ``tests/``) or ``"unit"``. ``attached_node`` is the unique id
    of the model, seed, snapshot or source the test checks (for a singular test: its only
    upstream node when it has exactly one, else ``None``); ``depends_on`` lists every node it
    reads. ``test_name`` is the generic test's name (``"not_null"``), else the test's own name.
    ``kwargs`` are the generic test's arguments without dbt's internal ``model`` argument.
    ``severity`` is ``"error"`` or ``"warn"``.
    """

    unique_id: str
    name: str
    kind: str
    test_name: str
    namespace: str | None
    attached_node: str | None
    column_name: str | None
    kwargs: Mapping[str, Any]
    depends_on: tuple[str, ...]
    severity: str
    description: str
    tags: tuple[str, ...]
    meta: Mapping[str, Any]
    original_file_path: str
    package_name: str
    fqn: tuple[str, ...]


class DbtGroup(NamedTuple):
    """A dbt group and its owner."""

    name: str
    unique_id: str
    owner_name: str | None
    owner_email: str | None
    description: str | None


class DbtManifest:
    """The compact index of a dbt manifest. Build it with :func:`load_manifest`.

    ``nodes`` maps unique ids to the models, seeds and snapshots; ``sources`` to the sources;
    ``tests`` to data tests and unit tests; ``groups`` maps group names to groups.
    ``loaded_from`` says whether this object came from the on-disk cache (``"cache"``) or from
    parsing the JSON (``"json"``); ``sha`` is the manifest's content hash.
    """

    __slots__ = (
        "_by_name",
        "_children",
        "_tests_by_node",
        "groups",
        "loaded_from",
        "metadata",
        "nodes",
        "path",
        "sha",
        "sources",
        "tests",
    )

    def __init__(
        self,
        path: Path,
        sha: str,
        metadata: dict[str, Any],
        nodes: dict[str, DbtNode],
        sources: dict[str, DbtNode],
        tests: dict[str, DbtTest],
        groups: dict[str, DbtGroup],
        loaded_from: str,
    ) -> None:
        self.path = path
        self.sha = sha
        self.metadata = metadata
        self.nodes = nodes
        self.sources = sources
        self.tests = tests
        self.groups = groups
        self.loaded_from = loaded_from
        self._by_name: dict[str, list[DbtNode]] | None = None
        self._tests_by_node: dict[str, list[DbtTest]] | None = None
        self._children: dict[str, list[str]] | None = None

    # -- facts about the manifest -------------------------------------------------------------
    @property
    def dbt_version(self) -> str | None:
        """The dbt version that wrote the manifest."""
        return self.metadata.get("dbt_version")

    @property
    def schema_version(self) -> int:
        """The manifest schema version (12 for dbt 1.8 to 1.11)."""
        return int(self.metadata["schema_version"])

    @property
    def project_name(self) -> str | None:
        """The name of the root dbt project."""
        return self.metadata.get("project_name")

    @property
    def adapter_type(self) -> str | None:
        """The adapter the project was parsed with (``"duckdb"``, ``"snowflake"``, ...)."""
        return self.metadata.get("adapter_type")

    # -- lookups ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[DbtNode]:
        """Iterate over the asset nodes (models, seeds, snapshots), in manifest order."""
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return (
            f"DbtManifest({str(self.path)!r}, nodes={len(self.nodes)}, "
            f"sources={len(self.sources)}, tests={len(self.tests)})"
        )

    def by_resource_type(self, resource_type: str) -> list[DbtNode]:
        """The nodes of one resource type: ``"model"``, ``"seed"``, ``"snapshot"``, ``"source"``."""
        pool = self.sources if resource_type == "source" else self.nodes
        return [n for n in pool.values() if n.resource_type == resource_type]

    def get(self, name_or_id: str) -> DbtNode:
        """A node or source by unique id, or a node by name (``"customers"``).

        Sources can also be named ``"source_name.table"``. Raises :class:`KeyError` with the
        closest names when nothing matches, and when a name is ambiguous (same name in two
        packages), listing the unique ids to use instead.
        """
        node = self.nodes.get(name_or_id) or self.sources.get(name_or_id)
        if node is not None:
            return node
        if self._by_name is None:
            by_name: dict[str, list[DbtNode]] = {}
            for n in self.nodes.values():
                by_name.setdefault(n.name, []).append(n)
            for s in self.sources.values():
                by_name.setdefault(f"{s.source_name}.{s.name}", []).append(s)
            self._by_name = by_name
        found = self._by_name.get(name_or_id)
        if not found:
            import difflib

            close = difflib.get_close_matches(name_or_id, list(self._by_name), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(
                f"no dbt model, seed, snapshot or source named {name_or_id!r} in manifest "
                f"{self.path}.{hint}"
            )
        if len(found) > 1:
            ids = ", ".join(n.unique_id for n in found)
            raise KeyError(f"dbt name {name_or_id!r} is ambiguous in {self.path}: use one of {ids}")
        return found[0]

    def tests_for(self, node: DbtNode | str) -> list[DbtTest]:
        """The tests attached to a node or source (by object, unique id or name)."""
        uid = node.unique_id if isinstance(node, DbtNode) else self.get(node).unique_id
        if self._tests_by_node is None:
            index: dict[str, list[DbtTest]] = {}
            for t in self.tests.values():
                if t.attached_node is not None:
                    index.setdefault(t.attached_node, []).append(t)
            self._tests_by_node = index
        return list(self._tests_by_node.get(uid, ()))

    def children(self, node: DbtNode | str) -> list[str]:
        """Unique ids of the models, seeds and snapshots that read from a node or source."""
        uid = node.unique_id if isinstance(node, DbtNode) else self.get(node).unique_id
        if self._children is None:
            kids: dict[str, list[str]] = {}
            for n in self.nodes.values():
                for parent in n.depends_on:
                    kids.setdefault(parent, []).append(n.unique_id)
            self._children = kids
        return list(self._children.get(uid, ()))

    def group_of(self, node: DbtNode) -> DbtGroup | None:
        """The dbt group a node belongs to, if any."""
        return self.groups.get(node.group) if node.group else None

    def raw(self) -> dict[str, Any]:
        """The whole manifest as parsed JSON (read again from disk: slow, for rare needs)."""
        return _parse_json(self.path.read_bytes(), self.path)


# -- loading ----------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """Where indexes are cached: ``$ORCHESTRATOR_CACHE_DIR/dbt``, else
    ``$XDG_CACHE_HOME/orchestrator/dbt``, else ``~/.cache/orchestrator/dbt``."""
    base = os.environ.get("ORCHESTRATOR_CACHE_DIR")
    if base:
        return Path(base) / "dbt"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "orchestrator" / "dbt"


def load_manifest(
    path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> DbtManifest:
    """Load a dbt ``manifest.json`` into a :class:`DbtManifest` index, using the cache.

    The cache holds one file per manifest path in ``cache_dir`` (default
    :func:`default_cache_dir`). An unchanged file (same size and modification time) is loaded
    from the cache without reading the manifest; a touched file is hashed (BLAKE2b) and reused
    when its content did not change; anything else is parsed again and the cache rewritten.
    ``use_cache=False`` neither reads nor writes the cache.

    Raises :class:`~orchestrator_dbt.DbtManifestError` when the file is missing, is not JSON, or
    is not a manifest of a supported schema version.
    """
    mpath = Path(path).absolute()
    try:
        st = os.stat(mpath)
    except FileNotFoundError:
        raise DbtManifestError(
            f"dbt manifest not found: {mpath}. Create it by running `dbt parse` in the dbt "
            "project directory (it writes target/manifest.json), or pass the path of an "
            "existing manifest.json.",
            path=str(mpath),
        ) from None
    except OSError as exc:
        raise DbtManifestError(f"cannot read dbt manifest {mpath}: {exc}", path=str(mpath)) from exc
    if not os.path.isfile(mpath):
        raise DbtManifestError(
            f"dbt manifest path {mpath} is a directory, not a file: pass the path of "
            "manifest.json (usually <project>/target/manifest.json).",
            path=str(mpath),
        )

    cache_file: Path | None = None
    header: tuple[Any, ...] | None = None
    if use_cache:
        cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        key = hashlib.blake2b(str(mpath).encode(), digest_size=10).hexdigest()
        cache_file = cdir / f"manifest-{key}.pickle"
        try:
            with open(cache_file, "rb") as f:
                header = pickle.load(f)
                if not (
                    type(header) is tuple
                    and len(header) == 5
                    and header[0] == _CACHE_FORMAT
                    and header[1] == str(mpath)
                ):
                    header = None  # a foreign or outdated cache file
                elif header[2] == (st.st_size, st.st_mtime_ns):
                    with _gc_paused():
                        payload = _from_rows(pickle.load(f))
                    return _from_payload(mpath, header[3], payload, "cache")
        except FileNotFoundError:
            header = None
        except Exception:  # noqa: BLE001 - a corrupt or foreign cache file: rewritten below
            header = None

    try:
        data = mpath.read_bytes()
    except OSError as exc:
        raise DbtManifestError(f"cannot read dbt manifest {mpath}: {exc}", path=str(mpath)) from exc
    hashed: dict[str, str] = {}

    def hash_data() -> None:
        hashed["sha"] = hashlib.blake2b(data, digest_size=20).hexdigest()

    hasher = None
    if header is None:
        # Nothing to compare with: hash while the JSON is parsed (hashlib lets go of the GIL
        # for big buffers, so on two cores the hash costs nothing).
        hasher = threading.Thread(target=hash_data, name="manifest-hash", daemon=True)
        hasher.start()
    else:
        hash_data()

    if cache_file is not None and header is not None and header[3] == hashed["sha"]:
        sha = hashed["sha"]
        # Same content, new mtime (a `dbt parse` that changed nothing, a copy, a checkout).
        try:
            with open(cache_file, "rb") as f, _gc_paused():
                pickle.load(f)
                rows = pickle.load(f)
                payload = _from_rows(rows)
        except Exception:  # noqa: BLE001 - a damaged cache: parse the manifest instead
            payload = None
        if payload is not None:
            _write_cache(cache_file, mpath, (st.st_size, st.st_mtime_ns), sha, rows)
            return _from_payload(mpath, sha, payload, "cache")

    try:
        with _gc_paused():
            doc = _parse_json(data, mpath)
            payload = _build_payload(doc, mpath)
            del doc  # freed by reference counting, before the collector runs again
    finally:
        if hasher is not None:
            hasher.join()
    sha = hashed["sha"]
    if cache_file is not None:
        _write_cache(cache_file, mpath, (st.st_size, st.st_mtime_ns), sha, _to_rows(payload))
    return _from_payload(mpath, sha, payload, "json")


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects.

    Parsing a big manifest allocates containers by the million; each allocation burst triggers
    a collection that walks everything allocated so far. None of it is cyclic garbage, so
    pausing the collector roughly halves the parse and build time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _from_payload(path: Path, sha: str, payload: tuple[Any, ...], origin: str) -> DbtManifest:
    metadata, nodes, sources, tests, groups = payload
    return DbtManifest(path, sha, metadata, nodes, sources, tests, groups, origin)


_COLUMNS_AT = DbtNode._fields.index("columns")


def _to_rows(payload: tuple[Any, ...]) -> tuple[Any, ...]:
    """The index as plain tuples: pickle writes and reads those in C, named tuples in Python."""
    metadata, nodes, sources, tests, groups = payload
    c = _COLUMNS_AT

    def flat(table: dict[str, DbtNode]) -> list[tuple[Any, ...]]:
        return [(*n[:c], tuple(map(tuple, n[c])), *n[c + 1 :]) for n in table.values()]

    return (metadata, flat(nodes), flat(sources), list(map(tuple, tests.values())),
            list(map(tuple, groups.values())))


def _from_rows(rows: tuple[Any, ...]) -> tuple[Any, ...]:
    metadata, node_rows, source_rows, test_rows, group_rows = rows
    new = tuple.__new__
    c = _COLUMNS_AT

    def table(flat: list[tuple[Any, ...]]) -> dict[str, DbtNode]:
        return {
            r[0]: new(DbtNode, (*r[:c], tuple([new(DbtColumn, col) for col in r[c]]), *r[c + 1 :]))
            for r in flat
        }

    tests = {r[0]: new(DbtTest, r) for r in test_rows}
    groups = {r[0]: new(DbtGroup, r) for r in group_rows}
    return metadata, table(node_rows), table(source_rows), tests, groups


def _write_cache(
    cache_file: Path, mpath: Path, stat_key: tuple[int, int], sha: str, payload: Any
) -> None:
    """Write the cache atomically; a cache that cannot be written is not an error."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as f:
                header = (_CACHE_FORMAT, str(mpath), stat_key, sha, None)
                pickle.dump(header, f, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cache_file)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass


def _parse_json(data: bytes, path: Path) -> Any:
    orjson: Any = None
    if os.environ.get("ORCHESTRATOR_DBT_JSON") != "json":  # "json": force the stdlib parser
        try:
            import orjson
        except ImportError:  # pragma: no cover - depends on the environment
            orjson = None
    import json

    try:
        if orjson is not None:
            return orjson.loads(data)
        return json.loads(data)
    except json.JSONDecodeError as exc:  # orjson.JSONDecodeError is a subclass
        if not data.strip():
            what = "is empty"
        else:
            line, col = _line_col(data, exc.pos)
            what = f"is not valid JSON: {exc.msg} at line {line}, column {col} (byte {exc.pos})"
        raise DbtManifestError(
            f"dbt manifest {path} {what}. The file is probably truncated or was edited by "
            "hand: delete it and run `dbt parse` to write it again.",
            path=str(path),
        ) from None
    except UnicodeDecodeError as exc:
        raise DbtManifestError(
            f"dbt manifest {path} is not UTF-8 text (byte {exc.start}): it is not a manifest. "
            "Run `dbt parse` to write target/manifest.json.",
            path=str(path),
        ) from None


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    # orjson reports a character offset; for the ASCII manifests dbt writes it equals the byte
    # offset, and for others it is close enough to find the spot.
    pos = max(0, min(pos, len(data)))
    line = data.count(b"\n", 0, pos) + 1
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def _schema_version(doc: Any, path: Path) -> tuple[int, dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        raise DbtManifestError(
            f"{path} is JSON but not a dbt manifest (no 'metadata' object at the top level). "
            "Pass the manifest.json that `dbt parse` writes to the target directory.",
            path=str(path),
        )
    meta = doc["metadata"]
    url = meta.get("dbt_schema_version")
    match = _SCHEMA_RE.search(url) if isinstance(url, str) else None
    if match is None:
        raise DbtManifestError(
            f"{path} is not a dbt manifest: metadata.dbt_schema_version is {url!r}, expected "
            "'https://schemas.getdbt.com/dbt/manifest/vN.json'. Pass the manifest.json that "
            "`dbt parse` writes (not run_results.json, catalog.json or sources.json).",
            path=str(path),
        )
    version = int(match.group(1))
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        lo, hi = SUPPORTED_SCHEMA_VERSIONS[0], SUPPORTED_SCHEMA_VERSIONS[-1]
        raise DbtManifestError(
            f"dbt manifest {path} has schema version v{version} (written by dbt "
            f"{meta.get('dbt_version', '?')}); this loader reads v{lo} to v{hi} (dbt 1.3 to "
            "1.11). Re-run `dbt parse` with a dbt-core version in that range "
            "(pip install 'dbt-core>=1.8,<1.12').",
            path=str(path),
        )
    return version, meta


def _owners(meta: Mapping[str, Any], group: DbtGroup | None) -> tuple[str, ...]:
    out: list[str] = []
    own = meta.get("owner") if meta else None
    if isinstance(own, str) and own:
        out.append(own)
    elif isinstance(own, (list, tuple)):
        out.extend(o for o in own if isinstance(o, str) and o)
    if group is not None:
        g = group.owner_email or group.owner_name
        if g and g not in out:
            out.append(g)
    return tuple(out)


# Named tuples built with tuple.__new__: their generated __new__ is Python code, and a big
# manifest has tens of thousands of columns and tests.
_tuple_new = tuple.__new__


def _columns(raw: Any) -> tuple[DbtColumn, ...]:
    if not raw:
        return ()
    return tuple([
        _tuple_new(DbtColumn, (
            c.get("name") or key, c.get("description") or "", c.get("data_type"),
            c.get("meta") or {},
        ))
        for key, c in raw.items()
    ])


_EMPTY: dict[str, Any] = {}


def _build_payload(doc: Any, path: Path) -> tuple[Any, ...]:
    version, meta = _schema_version(doc, path)
    metadata = {
        "schema_version": version,
        "dbt_version": meta.get("dbt_version"),
        "project_name": meta.get("project_name"),
        "adapter_type": meta.get("adapter_type"),
        "generated_at": meta.get("generated_at"),
        "invocation_id": meta.get("invocation_id"),
    }

    groups: dict[str, DbtGroup] = {}
    for uid, g in (doc.get("groups") or _EMPTY).items():
        owner = g.get("owner") or _EMPTY
        groups[g["name"]] = DbtGroup(
            g["name"], uid, owner.get("name"), owner.get("email"), g.get("description")
        )

    nodes: dict[str, DbtNode] = {}
    raw_tests: list[dict[str, Any]] = []
    asset_types = ASSET_RESOURCE_TYPES
    for uid, n in (doc.get("nodes") or _EMPTY).items():
        rtype = n.get("resource_type")
        if rtype in asset_types:
            config = n.get("config") or _EMPTY
            nmeta = n.get("meta") or config.get("meta") or {}
            group = n.get("group") or config.get("group")
            relation = n.get("relation_name")
            if relation is None and config.get("materialized") != "ephemeral":
                relation = ".".join(
                    p for p in (n.get("database"), n.get("schema"), n.get("alias")) if p
                ) or None
            checksum = n.get("checksum")
            version_ = n.get("version")
            nodes[uid] = _tuple_new(DbtNode, (
                uid,
                n["name"],
                rtype,
                n.get("package_name", ""),
                tuple(n.get("fqn") or ()),
                n.get("path", ""),
                n.get("original_file_path", ""),
                n.get("database"),
                n.get("schema"),
                n.get("alias"),
                relation,
                config.get("materialized"),
                n.get("description") or "",
                _columns(n.get("columns")),
                tuple(n.get("tags") or ()),
                nmeta,
                group,
                _owners(nmeta, groups.get(group) if group else None),
                checksum.get("checksum") if isinstance(checksum, dict) else None,
                tuple((n.get("depends_on") or _EMPTY).get("nodes") or ()),
                None,
                None if version_ is None else str(version_),
                config.get("schema"),
            ))
        elif rtype == "test":
            raw_tests.append(n)

    sources: dict[str, DbtNode] = {}
    source_ids: dict[tuple[str, str], str] = {}
    for uid, s in (doc.get("sources") or _EMPTY).items():
        config = s.get("config") or _EMPTY
        smeta = s.get("meta") or config.get("meta") or {}
        if not smeta and s.get("source_meta"):
            smeta = s["source_meta"]
        relation = s.get("relation_name") or ".".join(
            p for p in (s.get("database"), s.get("schema"), s.get("identifier")) if p
        )
        sources[uid] = _tuple_new(DbtNode, (
            uid,
            s["name"],
            "source",
            s.get("package_name", ""),
            tuple(s.get("fqn") or ()),
            s.get("path", ""),
            s.get("original_file_path", ""),
            s.get("database"),
            s.get("schema"),
            s.get("identifier"),
            relation or None,
            None,
            s.get("description") or s.get("source_description") or "",
            _columns(s.get("columns")),
            tuple(s.get("tags") or ()),
            smeta,
            None,
            _owners(smeta, None),
            None,
            (),
            s.get("source_name"),
            None,
            None,
        ))
        source_ids[(s.get("source_name", ""), s["name"])] = uid

    tests: dict[str, DbtTest] = {}
    for t in raw_tests:
        tests[t["unique_id"]] = _data_test(t, nodes, sources, source_ids)
    for uid, u in (doc.get("unit_tests") or _EMPTY).items():
        deps = tuple((u.get("depends_on") or _EMPTY).get("nodes") or ())
        attached = next((d for d in deps if d in nodes), None)
        config = u.get("config") or _EMPTY
        tests[uid] = _tuple_new(DbtTest, (
            uid,
            u["name"],
            "unit",
            u["name"],
            None,
            attached,
            None,
            _EMPTY,
            deps,
            "error",
            u.get("description") or "",
            tuple(config.get("tags") or u.get("tags") or ()),
            config.get("meta") or {},
            u.get("original_file_path", ""),
            u.get("package_name", ""),
            tuple(u.get("fqn") or ()),
        ))
    return metadata, nodes, sources, tests, groups


def _data_test(
    t: dict[str, Any],
    nodes: Mapping[str, DbtNode],
    sources: Mapping[str, DbtNode],
    source_ids: Mapping[tuple[str, str], str],
) -> DbtTest:
    config = t.get("config") or _EMPTY
    deps = tuple((t.get("depends_on") or _EMPTY).get("nodes") or ())
    tm = t.get("test_metadata")
    if tm:
        kind = "generic"
        test_name = tm.get("name") or t["name"]
        namespace = tm.get("namespace")
        raw_kwargs = tm.get("kwargs") or _EMPTY
        kwargs = {k: v for k, v in raw_kwargs.items() if k != "model"}
        attached = t.get("attached_node")
        if attached is None:
            # Tests on sources carry no attached_node: the tested source is named in the
            # `model` argument ("{{ get_where_subquery(source('raw', 'events')) }}").
            model_arg = raw_kwargs.get("model")
            match = _SOURCE_CALL_RE.search(model_arg) if isinstance(model_arg, str) else None
            if match is not None:
                attached = source_ids.get((match.group(1), match.group(2)))
            if attached is None and isinstance(model_arg, str):
                # manifests before dbt 1.5 have no attached_node: read ref('name') instead
                ref = _REF_CALL_RE.search(model_arg)
                if ref is not None:
                    name = ref.group(2) or ref.group(1)
                    named = [d for d in deps if d in nodes and nodes[d].name == name]
                    attached = named[0] if len(named) == 1 else None
            if attached is None:
                in_sources = [d for d in deps if d in sources]
                in_nodes = [d for d in deps if d in nodes]
                if len(in_sources) == 1 and not in_nodes:
                    attached = in_sources[0]
                elif len(in_nodes) == 1 and not in_sources:
                    attached = in_nodes[0]
    else:
        kind = "singular"
        test_name = t["name"]
        namespace = None
        kwargs = {}
        known = [d for d in deps if d in nodes or d in sources]
        attached = known[0] if len(known) == 1 else None
    severity = str(config.get("severity") or "error").lower()
    return _tuple_new(DbtTest, (
        t["unique_id"],
        t["name"],
        kind,
        test_name,
        namespace,
        attached,
        t.get("column_name") or (tm or _EMPTY).get("kwargs", _EMPTY).get("column_name"),
        kwargs,
        deps,
        severity,
        t.get("description") or "",
        tuple(t.get("tags") or ()),
        t.get("meta") or config.get("meta") or {},
        t.get("original_file_path", ""),
        t.get("package_name", ""),
        tuple(t.get("fqn") or ()),
    ))
