"""A ``logging.Handler`` that forwards records to the host (imported only when used)."""

from __future__ import annotations

import logging
from typing import Any


class PipesLoggingHandler(logging.Handler):
    """Sends each record as a ``log`` message while the pipes context is open.

        import logging
        from pipes_client import open_pipes

        with open_pipes() as pipes:
            pipes.forward_logging()            # root logger, INFO and up
            logging.getLogger("etl").info("sent to the host")
    """

    def __init__(self, context: Any, level: int | str = logging.INFO) -> None:
        super().__init__(level=logging.getLevelName(level) if isinstance(level, str) else level)
        self._context = context
        self._attached_to: logging.Logger | None = None

    def emit(self, record: logging.LogRecord) -> None:
        ctx = self._context
        if ctx.is_closed:
            if self._attached_to is not None:
                self._attached_to.removeHandler(self)
            return
        try:
            level = record.levelname if record.levelname in (
                "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else record.levelno
            ctx.log.log(level, self.format(record))
        except Exception:
            self.handleError(record)
