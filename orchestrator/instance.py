"""The instance: where an orchestrator keeps its state on this machine.

An instance is a home directory holding the run store (``runs.db``), the default
filesystem IO manager's files (``storage/``) and an optional ``orchestrator.yaml``::

    from orchestrator.instance import Instance

    instance = Instance.get()                  # $ORCHESTRATOR_HOME or <project>/.orchestrator
    for run in instance.get_runs(limit=5):
        print(run.run_id, run.status)

    with Instance.ephemeral() as inst:         # temp dir + in-memory store, for tests
        ...

The home is, in order: the ``ORCHESTRATOR_HOME`` environment variable; else
``.orchestrator/`` in the current project (the nearest parent directory of the working
directory that has a ``pyproject.toml`` or ``.git``); else ``.orchestrator/`` in the
working directory.

``orchestrator.yaml`` may choose another run store class (e.g. a future PostgreSQL one)::

    run_storage:
      module: my_package.storage
      class: PostgresRunStorage
      config: {url: "postgresql://localhost/orchestrator"}
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, StorageError

if TYPE_CHECKING:
    from .asset_key import AssetKey
    from .events import Event, EventType, RunRecord, RunStatus
    from .storage.base import RunStorage

__all__ = ["HOME_ENV_VAR", "Instance", "find_project_root"]

#: The environment variable naming the instance home directory.
HOME_ENV_VAR = "ORCHESTRATOR_HOME"
CONFIG_FILE = "orchestrator.yaml"
RUN_DB_FILE = "runs.db"
_KNOWN_CONFIG_KEYS = ("run_storage",)
_RUN_STORAGE_KEYS = ("module", "class", "config")

# Instances by home. Weak, so that instances of homes no longer in use (a test suite's
# temporary homes) are closed when dropped; the last one handed out is kept alive.
_cache: weakref.WeakValueDictionary[Path, Instance] = weakref.WeakValueDictionary()
_last: Instance | None = None
_cache_lock = threading.Lock()


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: cwd) with pyproject.toml or .git."""
    here = Path(start if start is not None else os.getcwd()).absolute()
    for directory in (here, *here.parents):
        if (directory / "pyproject.toml").exists() or (directory / ".git").exists():
            return directory
    return None


def _default_home() -> Path:
    env = os.environ.get(HOME_ENV_VAR)
    if env:
        return Path(env).expanduser().absolute()
    root = find_project_root() or Path.cwd()
    return root / ".orchestrator"


class Instance:
    """An orchestrator's home: run store, IO manager storage directory and settings.

    Make one with :meth:`get` (the usual one), :meth:`from_home` or :meth:`ephemeral`.
    The run store is opened on first use; ``close()`` (or ``with``) releases it, and an
    ephemeral instance also deletes its temporary directory.
    """

    def __init__(
        self,
        home: str | os.PathLike[str],
        *,
        run_storage: RunStorage | None = None,
        _temporary: bool = False,
    ) -> None:
        self._home = Path(home).expanduser().absolute()
        self._run_storage = run_storage
        self._temporary = _temporary
        self._lock = threading.Lock()
        self._closed = False
        self._config: dict[str, Any] | None = None

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def get(cls) -> Instance:
        """The instance of this environment (``$ORCHESTRATOR_HOME`` or the project default).

        Cached per home directory: calls with the same home return the same object while
        it is in use (the most recent one is always kept).
        """
        global _last
        home = _default_home()
        with _cache_lock:
            instance = _cache.get(home)
            if instance is None or instance._closed:
                instance = cls(home)
                _cache[home] = instance
            _last = instance
            return instance

    @classmethod
    def from_home(cls, path: str | os.PathLike[str]) -> Instance:
        """The instance whose home is ``path`` (created on first use if missing)."""
        home = Path(path).expanduser().absolute()
        if home.exists() and not home.is_dir():
            raise StorageError(
                f"instance home {home} is a file, not a directory; point "
                f"{HOME_ENV_VAR} (or from_home) at a directory"
            )
        return cls(home)

    @classmethod
    def ephemeral(cls) -> Instance:
        """A throw-away instance: a temp directory and an in-memory run store.

        ::

            with Instance.ephemeral() as instance:
                instance.run_storage.add_run(...)
            # the temporary directory is gone here
        """
        from .storage.sqlite import InMemoryRunStorage

        home = tempfile.mkdtemp(prefix="orchestrator-")
        return cls(home, run_storage=InMemoryRunStorage(), _temporary=True)

    # -- properties -------------------------------------------------------------------
    @property
    def home(self) -> Path:
        """The home directory."""
        return self._home

    @property
    def is_ephemeral(self) -> bool:
        """True for :meth:`ephemeral` instances (deleted on close)."""
        return self._temporary

    @property
    def storage_dir(self) -> Path:
        """Where the default filesystem IO manager writes values: ``<home>/storage``."""
        return self._home / "storage"

    @property
    def config(self) -> dict[str, Any]:
        """The parsed ``<home>/orchestrator.yaml`` ({} when there is none)."""
        if self._config is None:
            self._config = self._load_config()
        return self._config

    @property
    def run_storage(self) -> RunStorage:
        """The run store, opened on first use."""
        storage = self._run_storage
        if storage is not None:
            return storage
        with self._lock:
            if self._closed:
                raise StorageError(f"instance {self._home} is closed; get a new one")
            if self._run_storage is None:
                self._run_storage = self._open_run_storage()
            return self._run_storage

    # -- configuration ----------------------------------------------------------------
    def _load_config(self) -> dict[str, Any]:
        path = self._home / CONFIG_FILE
        if not path.is_file():
            return {}
        import yaml  # local: only paid when a config file exists

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read instance config {path}: {exc}") from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ConfigError(
                f"instance config {path} must be a mapping (e.g. 'run_storage: ...'), "
                f"got {type(data).__name__}"
            )
        unknown = sorted(set(data) - set(_KNOWN_CONFIG_KEYS))
        if unknown:
            import difflib

            hints = []
            for key in unknown:
                close = difflib.get_close_matches(str(key), _KNOWN_CONFIG_KEYS, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ConfigError(
                f"instance config {path} has unknown key(s) {', '.join(hints)}; "
                f"known keys: {', '.join(_KNOWN_CONFIG_KEYS)}",
                errors=[f"{k}: unknown key" for k in unknown],
            )
        return data

    def _open_run_storage(self) -> RunStorage:
        spec = self.config.get("run_storage")
        if spec is None:
            from .storage.sqlite import SqliteRunStorage

            self._ensure_home()
            return SqliteRunStorage(self._home / RUN_DB_FILE)
        return _load_storage_class(spec, self._home / CONFIG_FILE)

    def _ensure_home(self) -> None:
        created = not self._home.exists()
        try:
            self._home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create instance home {self._home}: {exc}; set {HOME_ENV_VAR} to a "
                "writable directory"
            ) from exc
        if created and not os.environ.get(HOME_ENV_VAR):
            # A default home lives inside a project: keep it out of version control.
            try:
                (self._home / ".gitignore").write_text("*\n", encoding="utf-8")
            except OSError:
                pass

    # -- pass-throughs used by the CLI and the executor ------------------------------------
    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        return self.run_storage.get_run(run_id)

    def get_runs(
        self,
        *,
        statuses: Iterable[RunStatus] | None = None,
        job_name: str | None = None,
        tags: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first (see :meth:`RunStorage.get_runs`)."""
        return self.run_storage.get_runs(
            statuses=statuses, job_name=job_name, tags=tags, limit=limit
        )

    def get_events(
        self,
        run_id: str,
        *,
        after: int | None = None,
        event_types: Iterable[EventType] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """A run's events in order (see :meth:`RunStorage.get_events`)."""
        return self.run_storage.get_events(
            run_id, after=after, event_types=event_types, limit=limit
        )

    def all_events(
        self,
        *,
        after: int | None = None,
        event_types: Iterable[EventType] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events of every run in storage order (see :meth:`RunStorage.get_all_events`)."""
        return self.run_storage.get_all_events(
            after=after, event_types=event_types, limit=limit
        )

    def get_latest_materialization(
        self, key: AssetKey | str | list[str], partition: str | None = None
    ) -> Event | None:
        """The newest materialization of an asset (``"a/b"``, a list of parts or AssetKey)."""
        from .asset_key import AssetKey

        return self.run_storage.get_latest_materialization(
            AssetKey.from_coercible(key), partition
        )

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the run store; an ephemeral instance also deletes its directory."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            storage, self._run_storage = self._run_storage, None
        if storage is not None:
            storage.close()
        if self._temporary:
            shutil.rmtree(self._home, ignore_errors=True)
        global _last
        with _cache_lock:
            if _cache.get(self._home) is self:
                del _cache[self._home]
            if _last is self:
                _last = None

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to another process (multiprocess executor with spawn): reopen by home.
        if self._temporary:
            raise StorageError(
                "an ephemeral instance lives in this process only and cannot be sent to "
                "another one; use Instance.from_home(<dir>) for multi-process runs"
            )
        return (Instance.from_home, (str(self._home),))

    def __repr__(self) -> str:
        kind = "ephemeral " if self._temporary else ""
        return f"<{kind}Instance home={str(self._home)!r}>"


def _load_storage_class(spec: Any, config_path: Path) -> RunStorage:
    """Instantiate ``run_storage: {module, class, config}`` from the instance config."""
    from .storage.base import RunStorage

    where = f"instance config {config_path}, key 'run_storage'"
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{where}: expected a mapping with 'module', 'class' and optional 'config', "
            f"got {spec!r}"
        )
    unknown = sorted(set(spec) - set(_RUN_STORAGE_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; allowed: {', '.join(_RUN_STORAGE_KEYS)}"
        )
    module_name, class_name = spec.get("module"), spec.get("class")
    if not isinstance(module_name, str) or not isinstance(class_name, str):
        raise ConfigError(
            f"{where}: 'module' and 'class' must both be strings, e.g. "
            "{module: orchestrator.storage.sqlite, class: SqliteRunStorage}"
        )
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: 'config' must be a mapping of keyword arguments")
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{where}: cannot import module {module_name!r} ({exc}); install the package "
            "that provides it or fix the module name"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ConfigError(f"{where}: module {module_name!r} has no attribute {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, RunStorage)):
        raise ConfigError(
            f"{where}: {module_name}.{class_name} is not a RunStorage subclass"
        )
    try:
        return cls(**config)
    except TypeError as exc:
        raise ConfigError(
            f"{where}: {module_name}.{class_name}(**config) failed: {exc}; check the keys "
            "under 'config'"
        ) from exc
