"""What compute functions return or raise: outputs, materializations, check results,
and the exceptions that steer retries.

::

    @asset
    def orders() -> MaterializeResult:
        n = load()
        return MaterializeResult(metadata={"rows": n})

    @asset_check(asset=orders)
    def orders_not_empty(orders) -> AssetCheckResult:
        return AssetCheckResult(passed=len(orders) > 0, metadata={"rows": len(orders)})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .asset_key import AssetKey, CoercibleToAssetKey

__all__ = [
    "AssetCheckEvaluation",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetMaterialization",
    "DynamicOutput",
    "Failure",
    "MaterializeResult",
    "Output",
    "RetryRequested",
]


class AssetCheckSeverity(str, Enum):
    """How bad a failed check is. A failed ``ERROR`` check of a blocking check stops
    downstream assets in the same run; ``WARN`` never does."""

    WARN = "WARN"
    ERROR = "ERROR"


class Output:
    """A value returned by an op for one of its outputs, with optional metadata.

    ``yield Output(df, "clean", metadata={"rows": len(df)})``
    """

    __slots__ = ("value", "output_name", "metadata", "data_version")

    def __init__(self, value: Any, output_name: str = "result",
                 metadata: Mapping[str, Any] | None = None,
                 data_version: str | None = None) -> None:
        self.value = value
        self.output_name = output_name
        self.metadata = dict(metadata or {})
        self.data_version = data_version

    def __repr__(self) -> str:
        return f"Output({self.value!r}, output_name={self.output_name!r})"


class DynamicOutput(Output):
    """One element of a dynamic fan-out: ``yield DynamicOutput(v, mapping_key="a")``."""

    __slots__ = ("mapping_key",)

    def __init__(self, value: Any, mapping_key: str, output_name: str = "result",
                 metadata: Mapping[str, Any] | None = None) -> None:
        super().__init__(value, output_name, metadata)
        if not isinstance(mapping_key, str) or not mapping_key or not all(
            c.isalnum() or c in "_-" for c in mapping_key
        ):
            from .errors import DefinitionError

            raise DefinitionError(
                f"DynamicOutput mapping_key must be a non-empty string of letters, digits, "
                f"'_' or '-', got {mapping_key!r}"
            )
        self.mapping_key = mapping_key


@dataclass
class AssetCheckResult:
    """The outcome of an asset check."""

    passed: bool
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    metadata: Mapping[str, Any] = field(default_factory=dict)
    asset_key: CoercibleToAssetKey | None = None
    check_name: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.severity, str) and not isinstance(self.severity, AssetCheckSeverity):
            try:
                self.severity = AssetCheckSeverity(self.severity.upper())
            except ValueError:
                from .errors import DefinitionError

                raise DefinitionError(
                    f"AssetCheckResult(severity={self.severity!r}) is not a severity; use "
                    f"AssetCheckSeverity.WARN or AssetCheckSeverity.ERROR") from None
        elif not isinstance(self.severity, AssetCheckSeverity):
            from .errors import DefinitionError

            raise DefinitionError(
                f"AssetCheckResult(severity={self.severity!r}) is not a severity; use "
                f"AssetCheckSeverity.WARN or AssetCheckSeverity.ERROR")
        if self.asset_key is not None:
            self.asset_key = AssetKey.from_coercible(self.asset_key)


@dataclass
class MaterializeResult:
    """Returned by an asset whose IO is its own business (no value is stored by an IO
    manager), carrying metadata, an optional data version and check results."""

    metadata: Mapping[str, Any] = field(default_factory=dict)
    asset_key: CoercibleToAssetKey | None = None
    check_results: Sequence[AssetCheckResult] = field(default_factory=list)
    data_version: str | None = None
    value: Any = None  # set by protocol outputs: a value to store through the IO manager
    has_value: bool = False

    def __post_init__(self) -> None:
        if self.asset_key is not None:
            self.asset_key = AssetKey.from_coercible(self.asset_key)
        self.metadata = dict(self.metadata or {})
        self.check_results = list(self.check_results or [])


@dataclass
class AssetMaterialization:
    """Records that an asset was materialized, from an op (``yield AssetMaterialization(...)``)
    or ``context.log_event``."""

    asset_key: CoercibleToAssetKey
    metadata: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    partition: str | None = None

    def __post_init__(self) -> None:
        self.asset_key = AssetKey.from_coercible(self.asset_key)


@dataclass(frozen=True)
class AssetCheckEvaluation:
    """A check result as recorded in a run (``result.get_asset_check_evaluations()``)."""

    asset_key: AssetKey
    check_name: str
    passed: bool
    severity: AssetCheckSeverity
    metadata: Mapping[str, Any]
    blocking: bool = False


class Failure(Exception):
    """Raise from a compute function to fail the step with a description and metadata.

    ``allow_retries=False`` fails the step at once even if it has a retry policy.
    """

    def __init__(self, description: str | None = None,
                 metadata: Mapping[str, Any] | None = None, allow_retries: bool = True) -> None:
        super().__init__(description)
        self.description = description
        self.metadata = dict(metadata or {})
        self.allow_retries = allow_retries


class RetryRequested(Exception):
    """Raise to ask for the step to be retried: ``raise RetryRequested(max_retries=3)``."""

    def __init__(self, max_retries: int = 1, seconds_to_wait: float = 0.0) -> None:
        super().__init__(f"retry requested (max_retries={max_retries})")
        self.max_retries = max_retries
        self.seconds_to_wait = seconds_to_wait
