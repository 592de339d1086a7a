"""``orchestrator sensor``: list, start, stop, ticks and test sensors (see schedule_cmd)."""

from __future__ import annotations

from .schedule_cmd import sensor

__all__ = ["sensor"]
