"""Helpers shared by the pipes_protocol tests: vector loading and type-strict equality."""

from __future__ import annotations

import json
import math
from typing import Any

from pipes_protocol import vectors_path


def load_vectors(name: str) -> dict[str, Any]:
    with open(vectors_path(name), encoding="utf-8") as fh:
        return json.load(fh)


def strict_equal(a: Any, b: Any) -> bool:
    """Equality that tells 2 from 2.0 and True from 1 (JSON types matter on the wire)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


