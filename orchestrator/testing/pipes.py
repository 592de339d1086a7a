"""A stand-in execution context for driving a pipes session outside a run (launcher tests,
channel tests)::

    from orchestrator.pipes import open_pipes_session
    from orchestrator.testing import PipesTestContext

    context = PipesTestContext(asset_key="orders")
    with open_pipes_session(context) as session:
        ...
    assert any(e.message == "hello" for e in context.events)

It has what a session reads from an asset's context (run id, step key, the selected asset,
partition) and collects the events the session emits in :attr:`PipesTestContext.events`
(and, when ``storage`` is given, stores them there too, e.g. for
:func:`~orchestrator.pipes.reattach_pipes_session`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import Any

from ..asset_key import AssetKey

__all__ = ["PipesTestContext"]


class _Spec:
    def __init__(self, key: AssetKey) -> None:
        self.key = key
        self.code_version: str | None = None


class _AssetsDef:
    def __init__(self, keys: list[AssetKey]) -> None:
        self.keys = keys
        self.keys_by_output_name = {("result" if len(keys) == 1 else "_".join(k.path)): k
                                    for k in keys}

    def spec(self, key: AssetKey) -> _Spec:
        return _Spec(key)


class PipesTestContext:
    """An asset-like context for one step materializing *asset_key* (a string ``"a/b"``, a
    list of path parts, or an :class:`~orchestrator.asset_key.AssetKey`; several with
    ``asset_keys=[...]``)."""

    def __init__(self, asset_key: Any = "asset", *, asset_keys: Sequence[Any] | None = None,
                 run_id: str | None = None, step_key: str = "asset",
                 job_name: str = "__test_job", storage: Any = None) -> None:
        raw = list(asset_keys) if asset_keys is not None else [asset_key]
        keys = [k if isinstance(k, AssetKey) else
                AssetKey.from_user_string(k) if isinstance(k, str) else AssetKey(list(k))
                for k in raw]
        self.run_id = run_id or uuid.uuid4().hex
        self.step_key = step_key
        self.job_name = job_name
        self.retry_number = 0
        self.has_assets_def = True
        self.assets_def = _AssetsDef(keys)
        self.selected_output_names = list(self.assets_def.keys_by_output_name)
        self.selected_asset_check_keys: list[Any] = []
        self._partition_key = None
        self._partition_key_range = None
        self._partitions_def = None
        self.run = None
        self.instance = None
        self.storage = storage
        self.events: list[Any] = []
        self._lock = threading.Lock()

    def _emit_events(self, events: list[Any]) -> None:
        with self._lock:
            if self.storage is not None:
                self.storage.store_events(events)
            self.events.extend(events)

    # -- queries ---------------------------------------------------------------------------
    def logs(self, stream: str | None = None) -> list[str]:
        """Messages of the LOG events so far (of one ``stream`` if given)."""
        with self._lock:
            evs = list(self.events)
        return [e.message for e in evs if e.event_type.value == "LOG"
                and (stream is None or e.data.get("stream") == stream)]

    def of_type(self, event_type: str) -> list[Any]:
        with self._lock:
            return [e for e in self.events if e.event_type.value == event_type]
