"""Retry policies for steps.

::

    RetryPolicy(max_retries=3, delay=1, backoff=Backoff.EXPONENTIAL)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

__all__ = ["Backoff", "Jitter", "RetryPolicy"]


class Backoff(str, Enum):
    """How the delay grows between attempts: ``delay * attempt`` or ``delay * 2**(attempt-1)``."""

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(str, Enum):
    """Randomness added to the delay: ``FULL`` picks in [0, delay], ``PLUS_MINUS`` in
    [delay - delay/2, delay + delay/2]... as Dagster: ± up to the delay itself."""

    FULL = "FULL"
    PLUS_MINUS = "PLUS_MINUS"


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a failed step up to ``max_retries`` times, waiting ``delay`` seconds (grown
    by ``backoff`` and randomised by ``jitter``) between attempts::

        @asset(retry_policy=RetryPolicy(max_retries=3, delay=0.5, backoff=Backoff.EXPONENTIAL))
        def flaky(): ...
    """

    max_retries: int = 1
    delay: float | None = None
    backoff: Backoff | None = None
    jitter: Jitter | None = None

    def __post_init__(self) -> None:
        from .errors import DefinitionError

        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise DefinitionError(
                f"RetryPolicy.max_retries must be a non-negative int, got {self.max_retries!r}"
            )
        if self.delay is not None and self.delay < 0:
            raise DefinitionError(f"RetryPolicy.delay must be >= 0 seconds, got {self.delay!r}")
        if (self.backoff or self.jitter) and self.delay is None:
            raise DefinitionError("RetryPolicy: backoff and jitter need a delay; set delay=...")

    def calculate_delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt number ``attempt`` (1 = first retry)."""
        if not self.delay:
            return 0.0
        if self.backoff is Backoff.EXPONENTIAL:
            base = self.delay * (2 ** (attempt - 1))
        elif self.backoff is Backoff.LINEAR:
            base = self.delay * attempt
        else:
            base = self.delay
        r = (rng or random).random()
        if self.jitter is Jitter.FULL:
            return base * r
        if self.jitter is Jitter.PLUS_MINUS:
            return max(0.0, base + self.delay * (2 * r - 1))
        return base
