"""Logging inside runs: ``context.log`` turns calls into LOG events, and the console
renderer prints events as one coloured line each, with step and asset."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from ..events import Event, EventType

__all__ = ["ConsoleRenderer", "RunLogger", "coerce_level"]

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40,
           "CRITICAL": 50, "FATAL": 50}


def coerce_level(level: int | str | None, default: int = logging.INFO) -> int:
    if level is None:
        return default
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[str(level).upper()]
    except KeyError:
        from ..errors import ConfigError

        raise ConfigError(
            f"unknown log level {level!r}; use one of debug, info, warning, error, critical"
        ) from None


class RunLogger:
    """``context.log``: ``debug/info/warning/error/critical/exception`` with %-style args.

    Each call becomes a LOG event of the run (stored, shown live on the console, passed to
    custom loggers)."""

    __slots__ = ("_emit", "_step_key", "_asset_key", "_run_id")

    def __init__(self, emit: Callable[[Event], None], run_id: str, step_key: str | None = None,
                 asset_key: Any = None) -> None:
        self._emit = emit
        self._run_id = run_id
        self._step_key = step_key
        self._asset_key = asset_key

    def log(self, level: int | str, msg: Any, *args: Any, **kwargs: Any) -> None:
        lvl = coerce_level(level)
        text = str(msg)
        if args:
            try:
                text = text % args
            except (TypeError, ValueError):
                text = " ".join([text, *map(str, args)])
        extra = kwargs.get("extra")
        if kwargs.get("exc_info"):
            import traceback

            text += "\n" + traceback.format_exc()
        self._emit(Event(EventType.LOG, self._run_id, message=text, level=lvl,
                         step_key=self._step_key, asset_key=self._asset_key,
                         data={"extra": extra} if extra else {}))

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.WARNING, msg, *args, **kwargs)

    warn = warning

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["exc_info"] = True
        self.log(logging.ERROR, msg, *args, **kwargs)

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging.Logger shape
        return True


_COLORS = {10: "\x1b[2m", 20: "\x1b[36m", 30: "\x1b[33m", 40: "\x1b[31m", 50: "\x1b[1;31m"}
_RESET = "\x1b[0m"

#: Events the console shows at INFO; everything else at DEBUG.
_INFO_EVENTS = frozenset({
    EventType.RUN_START, EventType.RUN_SUCCESS, EventType.RUN_FAILURE, EventType.RUN_CANCELED,
    EventType.STEP_FAILURE, EventType.STEP_SKIPPED, EventType.STEP_UP_FOR_RETRY,
    EventType.ASSET_MATERIALIZATION, EventType.ASSET_CHECK_EVALUATION, EventType.LOG,
    EventType.EXTERNAL_LAUNCHED,
})


class ConsoleRenderer:
    """Prints events to a stream, one line each: time, level, step, asset, message.

    ``level`` filters (LOG events by their own level; lifecycle events count as DEBUG
    except failures, skips, materializations and checks, which count as INFO or above).
    Colours are used when the stream is a terminal and NO_COLOR is not set."""

    def __init__(self, level: int | str = logging.INFO, stream: IO[str] | None = None,
                 color: bool | None = None) -> None:
        self.level = coerce_level(level)
        self.stream = stream
        self._color = color

    def _out(self) -> IO[str]:
        return self.stream or sys.stderr

    def effective_level(self, event: Event) -> int:
        if event.event_type is EventType.LOG:
            return event.level
        if event.event_type in (EventType.STEP_FAILURE, EventType.RUN_FAILURE):
            return logging.ERROR
        if event.event_type in _INFO_EVENTS:
            return max(event.level, logging.INFO)
        return logging.DEBUG

    def __call__(self, events: Iterable[Event]) -> None:
        out = self._out()
        color = self._color
        if color is None:
            color = bool(getattr(out, "isatty", lambda: False)()) and not os.environ.get(
                "NO_COLOR")
        lines = []
        for ev in events:
            lvl = self.effective_level(ev)
            if lvl < self.level:
                continue
            lines.append(format_event(ev, lvl, color))
        if lines:
            out.write("\n".join(lines) + "\n")
            out.flush()


_TS_CACHE: list[Any] = [None, ""]
_LEVEL_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def _clock(ts: float) -> str:
    sec = int(ts)
    if _TS_CACHE[0] != sec:  # one strftime per second, not per event
        _TS_CACHE[0], _TS_CACHE[1] = sec, time.strftime("%H:%M:%S", time.localtime(sec))
    return _TS_CACHE[1]


def format_event(ev: Event, lvl: int, color: bool) -> str:
    ts = _clock(ev.timestamp)
    name = _LEVEL_NAMES.get(lvl) or logging.getLevelName(lvl)
    where = ev.step_key or "-"
    asset = f" [{ev.asset_key.to_user_string()}]" if ev.asset_key is not None else ""
    kind = "" if ev.event_type is EventType.LOG else f"{ev.event_type.value} "
    msg = ev.message
    if ev.event_type is EventType.STEP_FAILURE and ev.data.get("error"):
        err = ev.data["error"]
        msg = f"{msg}\n{err.get('stack_text', '')}".rstrip()
    line = f"{ts} {name:<7} {ev.run_id[:8]} {where}{asset} - {kind}{msg}"
    if color:
        line = f"{_COLORS.get(lvl, '')}{line}{_RESET}"
    return line


def python_logging_sink(handlers: Sequence[logging.Handler | logging.Logger]) -> Callable[
        [Iterable[Event]], None]:
    """Forward LOG events to Python logging handlers or loggers (custom loggers)."""

    def sink(events: Iterable[Event]) -> None:
        for ev in events:
            if ev.event_type is not EventType.LOG:
                continue
            rec = logging.LogRecord("orchestrator", ev.level, ev.step_key or "", 0, ev.message,
                                    None, None)
            rec.run_id = ev.run_id  # type: ignore[attr-defined]
            rec.step_key = ev.step_key  # type: ignore[attr-defined]
            rec.created = ev.timestamp
            for h in handlers:
                h.handle(rec)

    return sink
