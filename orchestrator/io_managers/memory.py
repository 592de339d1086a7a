"""An IO manager that keeps values in memory, for tests and single-process runs."""

from __future__ import annotations

from typing import Any

from ..errors import IOManagerError
from .base import InputContext, IOManager, OutputContext, values_by_partition

__all__ = ["InMemoryIOManager"]


class InMemoryIOManager(IOManager):
    """Keeps every output in a dict (``.values``). Not shared across processes."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], Any] = {}

    @staticmethod
    def _key(ctx: OutputContext) -> tuple[str, ...]:
        if ctx.has_asset_key:
            return ("asset", *ctx.get_asset_identifier())
        return tuple(ctx.get_identifier())

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if context.has_asset_key and len(context.asset_partition_keys) > 1:
            for pk, value in values_by_partition(context, obj).items():
                self.handle_output(context.for_partition(pk), value)
            return
        self.values[self._key(context)] = obj

    def load_input(self, context: InputContext) -> Any:
        if context.has_asset_key and len(context.asset_partition_keys) > 1:
            return {pk: self.load_input(context.for_partition(pk))
                    for pk in context.asset_partition_keys}
        if context.has_asset_key:
            key: tuple[str, ...] = ("asset", *context.get_asset_identifier())
        elif context.upstream_output is not None:
            key = self._key(context.upstream_output)
        else:
            raise IOManagerError(f"input '{context.name}' has no upstream output to load")
        try:
            return self.values[key]
        except KeyError:
            raise IOManagerError(
                f"input '{context.name}' of step '{context.step_key}': nothing stored in memory "
                f"for {'/'.join(key[1:]) if key[0] == 'asset' else key}; the in-memory IO "
                f"manager only holds values written in this process"
            ) from None
