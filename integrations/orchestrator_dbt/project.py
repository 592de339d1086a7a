"""A dbt project on disk: where its manifest is, and how to make one when there is none."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from .errors import DbtProjectError
from .manifest import DbtManifest, load_manifest

__all__ = ["DbtProject"]

# dbt keeps process-wide state (flags, adapters, the event manager): one in-process dbt
# invocation at a time, parse and build alike.
DBT_IN_PROCESS_LOCK = threading.RLock()


class DbtProject:
    """A dbt project directory, its profile settings and its manifest.

    ::

        project = DbtProject("analytics", target="dev")
        project.manifest_path      # analytics/target/manifest.json
        manifest = project.load_manifest()   # runs `dbt parse` first if there is no manifest

    ``profiles_dir`` defaults to the project directory when it holds a ``profiles.yml`` (else
    dbt's own default: ``DBT_PROFILES_DIR`` or ``~/.dbt``). ``manifest_path`` defaults to
    ``<project_dir>/<target-path>/manifest.json``, with ``target-path`` read from
    ``dbt_project.yml`` (``target`` when unset). When ``manifest_path`` is given explicitly, a
    missing file is an error instead of a reason to parse.

    To keep dbt's output out of the project directory (a read-only checkout, an example), give
    ``manifest_path`` in another directory and ``log_path``: every dbt command for the project
    then gets ``--target-path`` (the manifest's directory) and ``--log-path``.
    """

    def __init__(
        self,
        project_dir: str | os.PathLike[str],
        profiles_dir: str | os.PathLike[str] | None = None,
        target: str | None = None,
        manifest_path: str | os.PathLike[str] | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        pdir = Path(project_dir).absolute()
        if not pdir.is_dir():
            raise DbtProjectError(
                f"dbt project directory {pdir} does not exist. Pass the directory that holds "
                "dbt_project.yml.",
                project_dir=str(pdir),
            )
        project_file = pdir / "dbt_project.yml"
        if not project_file.is_file():
            raise DbtProjectError(
                f"{pdir} is not a dbt project: it has no dbt_project.yml. Pass the directory "
                "that holds dbt_project.yml (create a project with `dbt init`).",
                project_dir=str(pdir),
            )
        self.project_dir = pdir
        if profiles_dir is not None:
            prof = Path(profiles_dir).absolute()
            if not (prof / "profiles.yml").is_file():
                raise DbtProjectError(
                    f"profiles directory {prof} has no profiles.yml (given as profiles_dir for "
                    f"dbt project {pdir}). Pass the directory that holds profiles.yml.",
                    project_dir=str(pdir),
                )
            self.profiles_dir: Path | None = prof
        elif (pdir / "profiles.yml").is_file():
            self.profiles_dir = pdir
        else:
            self.profiles_dir = None
        self.target = target
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.log_path = Path(log_path).absolute() if log_path is not None else None
        self._explicit_manifest = manifest_path is not None
        if manifest_path is not None:
            self.manifest_path = Path(manifest_path).absolute()
        else:
            self.manifest_path = pdir / self.target_path / "manifest.json"
        self._manifest: DbtManifest | None = None

    def __repr__(self) -> str:
        return f"DbtProject({str(self.project_dir)!r}, target={self.target!r})"

    @property
    def target_path(self) -> str:
        """The project's ``target-path`` (``target`` unless dbt_project.yml says otherwise)."""
        try:
            import yaml

            doc = yaml.safe_load((self.project_dir / "dbt_project.yml").read_text()) or {}
        except Exception:  # noqa: BLE001 - jinja or odd YAML: dbt's default is our answer
            return "target"
        value = doc.get("target-path") if isinstance(doc, dict) else None
        return value if isinstance(value, str) and "{" not in value else "target"

    def dbt_args(self) -> list[str]:
        """The flags that point dbt at this project: ``--project-dir``, profiles, target."""
        args = ["--project-dir", str(self.project_dir)]
        if self.profiles_dir is not None:
            args += ["--profiles-dir", str(self.profiles_dir)]
        if self.target is not None:
            args += ["--target", self.target]
        if self.manifest_path.parent != self.project_dir / self.target_path:
            args += ["--target-path", str(self.manifest_path.parent)]
        if self.log_path is not None:
            args += ["--log-path", str(self.log_path)]
        return args

    def load_manifest(self, *, use_cache: bool = True) -> DbtManifest:
        """The project's manifest index; runs :meth:`parse` first when there is no manifest.

        The result is kept on the object: call :meth:`parse` to refresh it after editing the
        project.
        """
        if self._manifest is not None:
            return self._manifest
        if not self.manifest_path.exists() and not self._explicit_manifest:
            self.parse()
        self._manifest = load_manifest(
            self.manifest_path, cache_dir=self.cache_dir, use_cache=use_cache
        )
        return self._manifest

    def parse(self) -> Path:
        """Run ``dbt parse`` on the project (in this process) and return the manifest's path.

        Raises :class:`~orchestrator_dbt.DbtProjectError` with dbt's own messages when the
        project does not parse (bad YAML, a ref to a missing model, an unknown profile...).
        """
        try:
            from dbt.cli.main import dbtRunner
        except ImportError as exc:
            raise DbtProjectError(
                f"dbt project {self.project_dir} has no manifest at {self.manifest_path} and "
                f"dbt is not installed to create one ({exc}). Install it with "
                "`pip install 'orchestrator[dbt]'` (or your adapter, e.g. dbt-duckdb), or run "
                "`dbt parse` where dbt is installed.",
                project_dir=str(self.project_dir),
            ) from exc

        errors: list[str] = []

        def collect(event: Any) -> None:
            info = getattr(event, "info", None)
            if info is not None and getattr(info, "level", "") == "error" and info.msg:
                errors.append(str(info.msg))

        # dbt's messages reach us through the callback; keep its console output quiet.
        args = ["parse", *self.dbt_args(), "--log-level", "none", "--no-use-colors"]
        try:
            with DBT_IN_PROCESS_LOCK:
                result = dbtRunner(callbacks=[collect]).invoke(args)
        except Exception as exc:  # noqa: BLE001 - dbt raises some problems instead of returning
            result = None
            errors.append(f"{type(exc).__name__}: {exc}")
        if result is None or not result.success:
            if result is not None and result.exception is not None:
                text = str(result.exception).strip()
                if text and not any(text in e for e in errors):
                    errors.append(text)
            detail = "\n".join(f"  {line}" for e in errors for line in e.splitlines()) or (
                "  (dbt gave no message; run `dbt parse` in the project to see its output)"
            )
            raise DbtProjectError(
                f"`dbt parse` failed for dbt project {self.project_dir}"
                f"{f' (target {self.target!r})' if self.target else ''}:\n{detail}\n"
                "Fix the project (or its profile) and try again.",
                project_dir=str(self.project_dir),
                dbt_messages=errors,
            )
        if not self.manifest_path.is_file():
            raise DbtProjectError(
                f"`dbt parse` succeeded for {self.project_dir} but wrote no manifest at "
                f"{self.manifest_path}. Check target-path in dbt_project.yml and DBT_TARGET_PATH.",
                project_dir=str(self.project_dir),
            )
        self._manifest = None
        return self.manifest_path
