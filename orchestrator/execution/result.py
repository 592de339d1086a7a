"""The result of a run: ``result.success``, ``result.output_for_node("op")``, events."""

from __future__ import annotations

from typing import Any

from ..asset_key import AssetKey
from ..errors import DefinitionError
from ..events import Event, EventType, RunRecord
from ..ops import NO_VALUE
from ..results import AssetCheckEvaluation

__all__ = ["ExecutionResult"]


class ExecutionResult:
    """What ``materialize`` and ``execute_in_process`` return."""

    def __init__(self, *, run: RunRecord, instance: Any, values: dict[Any, Any] | None,
                 job_name: str) -> None:
        self._run = run
        self._instance = instance
        self._values = values
        self.job_name = job_name
        self._events: list[Event] | None = None

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def run(self) -> RunRecord:
        return self._instance.run_storage.get_run(self.run_id) or self._run

    dagster_run = run

    @property
    def success(self) -> bool:
        return self.run.status.value == "SUCCESS"

    @property
    def all_events(self) -> list[Event]:
        """Every event of the run in order (log records included, each with a .message)."""
        if self._events is None:
            self._events = self._instance.run_storage.get_events(self.run_id)
        return self._events

    all_node_events = all_events

    def events_of_type(self, event_type: EventType | str) -> list[Event]:
        et = EventType(event_type)
        return [e for e in self.all_events if e.event_type is et]

    def events_for_node(self, node: str) -> list[Event]:
        return [e for e in self.all_events if e.step_key == node or (
            e.step_key or "").startswith(node + "[")]

    def output_for_node(self, node: str, output_name: str = "result") -> Any:
        """The value an op produced (in-process runs). A dynamic output gives a dict of
        mapping key → value; a mapped op gives a dict of mapping key → value."""
        if self._values is None:
            raise DefinitionError(
                "output values are only kept for in-process runs; load them through the IO "
                "manager instead")
        hit = self._values.get((node, output_name, None), NO_VALUE)
        if hit is not NO_VALUE:
            return hit
        mapped = {mk: v for (sk, on, mk), v in self._values.items()
                  if sk == node and on == output_name and mk is not None}
        if mapped:
            return mapped
        mapped = {sk[len(node) + 1:-1]: v for (sk, on, mk), v in self._values.items()
                  if sk.startswith(node + "[") and on == output_name}
        if mapped:
            return mapped
        steps = sorted({sk for sk, _, _ in self._values})
        raise DefinitionError(
            f"no output '{output_name}' of node '{node}' in run {self.run_id}; nodes with "
            f"outputs: {steps}")

    def output_value(self, output_name: str = "result") -> Any:
        nodes = {sk for sk, on, _ in (self._values or {}) if on == output_name}
        if len(nodes) != 1:
            raise DefinitionError(f"output_value needs exactly one node with output "
                                  f"'{output_name}'; got {sorted(nodes)}")
        return self.output_for_node(nodes.pop(), output_name)

    def asset_value(self, key: Any) -> Any:
        k = AssetKey.from_coercible(key)
        for (sk, on, _mk), v in (self._values or {}).items():
            if self._asset_keys_by_output.get((sk, on)) == k:
                return v
        raise DefinitionError(f"asset '{k.to_user_string()}' has no value in this run")

    _asset_keys_by_output: dict[tuple[str, str], AssetKey] = {}

    def asset_materializations_for_node(self, node: str) -> list[Event]:
        return [e for e in self.events_for_node(node) if e.is_asset_materialization]

    def get_asset_materialization_events(self) -> list[Event]:
        return self.events_of_type(EventType.ASSET_MATERIALIZATION)

    def get_asset_check_evaluations(self) -> list[AssetCheckEvaluation]:
        from .step import check_evaluations_from_events

        return check_evaluations_from_events(self.all_events)

    def get_step_success_events(self) -> list[Event]:
        return self.events_of_type(EventType.STEP_SUCCESS)

    def get_step_failure_events(self) -> list[Event]:
        return self.events_of_type(EventType.STEP_FAILURE)

    def get_failed_step_keys(self) -> set[str]:
        return {e.step_key for e in self.get_step_failure_events() if e.step_key}

    def get_skipped_step_keys(self) -> set[str]:
        return {e.step_key for e in self.events_of_type(EventType.STEP_SKIPPED) if e.step_key}

    @property
    def materialized_keys(self) -> set[AssetKey]:
        return {e.asset_key for e in self.get_asset_materialization_events() if e.asset_key}

    def __repr__(self) -> str:
        return f"<ExecutionResult run_id={self.run_id} success={self.success}>"
