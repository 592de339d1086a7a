"""The context payload sent to the external process, and context injectors.

The payload carries Dagster's 10 keys (``asset_keys``, ``code_version_by_asset_key``,
``provenance_by_asset_key``, ``partition_key``, ``partition_key_range``,
``partition_time_window``, ``run_id``, ``job_name``, ``retry_number``, ``extras``) plus our
feature advertisement under ``pipes_features``. Unlike Dagster, a partition-range run sends
its range (and the time window spanning it) instead of nothing.

Injectors (registered through the ``register_context_injectors`` hook under these names):

- ``"temp_file"``: :class:`PipesTempFileContextInjector`, the default: a JSON file in the
  session's private directory, sent as ``{"path": ...}``;
- ``"env"``: :class:`PipesEnvContextInjector`: inline ``{"data": ...}`` in the environment
  variable; a context larger than ``max_inline_bytes`` goes by reference instead (``{"url"}``,
  the ``context_ref`` extension) when a ``ref_dir``/``ref_url`` is given, else is an error;
- ``"url"``: :class:`PipesUrlContextInjector`: a JSON object at a local path or fsspec URL,
  sent as ``{"url": ...}`` (``context_ref``).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from ..errors import PipesError

__all__ = [
    "PipesContextInjector",
    "PipesEnvContextInjector",
    "PipesTempFileContextInjector",
    "PipesUrlContextInjector",
    "build_context_data",
]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _window(obj: Any) -> dict[str, str | None] | None:
    if obj is None:
        return None
    start = getattr(obj, "start", None)
    end = getattr(obj, "end", None)
    if start is None and isinstance(obj, (tuple, list)) and len(obj) == 2:
        start, end = obj
    return {"start": _iso(start), "end": _iso(end)}


def _time_window_for(pdef: Any, key: str) -> Any:
    fn = getattr(pdef, "time_window_for", None) or getattr(pdef, "time_window_for_partition_key",
                                                          None)
    if fn is None:
        return None
    try:
        return fn(key)
    except Exception:  # noqa: BLE001 - not a time partition: no window
        return None


def selection_of(context: Any) -> tuple[list[Any], list[Any]]:
    """``(asset keys, check keys)`` the step behind *context* must report."""
    keys: list[Any] = []
    if getattr(context, "has_assets_def", False):
        adef = context.assets_def
        by_name = getattr(adef, "keys_by_output_name", {})
        names = context.selected_output_names
        keys = [by_name[n] for n in names if n in by_name]
        if not keys:
            keys = sorted(adef.keys, key=lambda k: k.path)
    checks = list(getattr(context, "selected_asset_check_keys", ()) or ())
    checks.sort(key=lambda ck: (ck.asset_key.path, ck.name))
    return keys, checks


def build_context_data(context: Any, *, extras: dict[str, Any] | None = None,
                       features: dict[str, Any] | None = None) -> dict[str, Any]:
    """The context payload for a step's *context* (any execution context of ours, or a
    duck-typed object with ``run_id``, ``job_name``, ``retry_number`` and partition info)."""
    from pipes_protocol import FEATURES_KEY, escape_asset_key

    keys, _checks = selection_of(context)
    escaped = sorted(escape_asset_key(k.path) for k in keys) if keys else None
    code_versions = provenance = None
    if keys:
        adef = context.assets_def
        code_versions = {}
        for k in keys:
            spec = adef.spec(k) if hasattr(adef, "spec") else None
            code_versions[escape_asset_key(k.path)] = getattr(spec, "code_version", None)
        provenance = {escape_asset_key(k.path): None for k in keys}
    pkey = getattr(context, "_partition_key", None)
    prange = getattr(context, "_partition_key_range", None)
    if prange is not None and hasattr(prange, "start") and hasattr(prange, "end"):
        prange = (prange.start, prange.end)
    pdef = getattr(context, "_partitions_def", None)
    partition_key = key_range = time_window = None
    if prange is not None and (pkey is None or (prange[0], prange[1]) != (pkey, pkey)):
        key_range = {"start": str(prange[0]), "end": str(prange[1])}
        if pdef is not None:
            first = _window(_time_window_for(pdef, str(prange[0])))
            last = _window(_time_window_for(pdef, str(prange[1])))
            if first and last:
                time_window = {"start": first["start"], "end": last["end"]}
        if prange[0] == prange[1]:
            partition_key = str(prange[0])
    elif pkey is not None:
        partition_key = str(pkey)
        key_range = {"start": partition_key, "end": partition_key}
        if pdef is not None:
            time_window = _window(_time_window_for(pdef, partition_key))
    data: dict[str, Any] = {
        "asset_keys": escaped,
        "code_version_by_asset_key": code_versions,
        "provenance_by_asset_key": provenance,
        "partition_key": partition_key,
        "partition_key_range": key_range,
        "partition_time_window": time_window,
        "run_id": context.run_id,
        "job_name": getattr(context, "job_name", None),
        "retry_number": int(getattr(context, "retry_number", 0) or 0),
        "extras": dict(extras or {}),
    }
    if features is not None:
        data[FEATURES_KEY] = features
    return data


def _dump(data: dict[str, Any]) -> str:
    try:
        return json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise PipesError(f"pipes context is not JSON-serialisable ({exc}); extras= may hold "
                         f"only str, int, float, bool, None, list and dict values") from None


class PipesContextInjector:
    """Base of context injectors: :meth:`inject` puts the context where the process can read
    it and returns the context params (sent in ``DAGSTER_PIPES_CONTEXT``); :meth:`cleanup`
    removes it after the session."""

    name: str = ""

    def inject(self, data: dict[str, Any], session_dir: str) -> dict[str, Any]:
        raise NotImplementedError

    def cleanup(self) -> None:
        """Remove what :meth:`inject` created."""


class PipesTempFileContextInjector(PipesContextInjector):
    """The context as a JSON file in the session's private directory: ``{"path": ...}``."""

    name = "temp_file"

    def __init__(self) -> None:
        self.path: str | None = None

    def inject(self, data: dict[str, Any], session_dir: str) -> dict[str, Any]:
        self.path = os.path.join(session_dir, "context.json")
        with open(self.path, "w", encoding="utf-8") as fh:
            fh.write(_dump(data))
        return {"path": self.path}

    def cleanup(self) -> None:
        if self.path:
            try:
                os.unlink(self.path)
            except OSError:
                pass


class PipesUrlContextInjector(PipesContextInjector):
    """The context as a JSON object at ``<base>/<random>/context.json`` on a local path or any
    fsspec URL, sent as ``{"url": ...}`` (our ``context_ref`` extension; for platforms where
    environment variables are small). Deleted after the session."""

    name = "url"

    def __init__(self, base: str, *, fs: Any = None) -> None:
        self.base = base.rstrip("/")
        self._fs = fs
        self.url: str | None = None

    def inject(self, data: dict[str, Any], session_dir: str) -> dict[str, Any]:
        import secrets

        self.url = f"{self.base}/{secrets.token_hex(12)}/context.json"
        text = _dump(data).encode("utf-8")
        if "://" not in self.url and self._fs is None:
            os.makedirs(os.path.dirname(self.url), exist_ok=True)
            with open(self.url, "wb") as fh:
                fh.write(text)
        else:
            import fsspec

            fs, path = (self._fs, self.url) if self._fs is not None else \
                fsspec.core.url_to_fs(self.url)
            with fs.open(path, "wb") as fh:
                fh.write(text)
        return {"url": self.url}

    def cleanup(self) -> None:
        if not self.url:
            return
        try:
            if "://" not in self.url and self._fs is None:
                os.unlink(self.url)
                os.rmdir(os.path.dirname(self.url))
            else:
                import fsspec

                fs, path = (self._fs, self.url) if self._fs is not None else \
                    fsspec.core.url_to_fs(self.url)
                fs.rm(path)
        except Exception:
            logging.getLogger("orchestrator.pipes").debug("could not remove %s", self.url,
                                                          exc_info=True)


class PipesEnvContextInjector(PipesContextInjector):
    """The context inline in the environment variable: ``{"data": ...}`` (Dagster's env
    injector). A context whose JSON is larger than ``max_inline_bytes`` (default 32 KiB) is
    written to ``ref_url`` (a directory path or fsspec URL) and sent by reference instead;
    without ``ref_url`` that is a :class:`PipesError`."""

    name = "env"

    def __init__(self, *, max_inline_bytes: int = 32 * 1024, ref_url: str | None = None) -> None:
        self.max_inline_bytes = max_inline_bytes
        self.ref_url = ref_url
        self._ref: PipesUrlContextInjector | None = None

    def inject(self, data: dict[str, Any], session_dir: str) -> dict[str, Any]:
        size = len(_dump(data).encode("utf-8"))
        if size <= self.max_inline_bytes:
            return {"data": data}
        if self.ref_url is None:
            raise PipesError(
                f"env context injector: the context is {size} bytes, more than "
                f"max_inline_bytes={self.max_inline_bytes} (environment variables are limited);"
                f" pass ref_url= (a directory or fsspec URL the process can read) to send it "
                f"by reference, or use PipesTempFileContextInjector")
        self._ref = PipesUrlContextInjector(self.ref_url)
        return self._ref.inject(data, session_dir)

    def cleanup(self) -> None:
        if self._ref is not None:
            self._ref.cleanup()
