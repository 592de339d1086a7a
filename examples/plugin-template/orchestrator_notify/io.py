"""An IO manager storing each asset value as a JSON file (imported only when used)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class JsonFileIOManager:
    """Stores the value of asset ``a/b`` in ``<base_dir>/a/b.json``.

    ``handle_output(context, obj)`` and ``load_input(context)`` need only
    ``context.asset_key`` (an ``orchestrator.AssetKey``).
    """

    def __init__(self, base_dir: str | Path = ".orchestrator-notify-io") -> None:
        self.base_dir = Path(base_dir)

    def _path(self, context: Any) -> Path:
        return self.base_dir.joinpath(*context.asset_key.path).with_suffix(".json")

    def handle_output(self, context: Any, obj: Any) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj), encoding="utf-8")

    def load_input(self, context: Any) -> Any:
        return json.loads(self._path(context).read_text(encoding="utf-8"))
