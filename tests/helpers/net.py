"""Loopback networking and polling helpers for tests that start real servers.

    >>> from helpers.net import free_port, wait_until
    >>> port = free_port()
    >>> 1024 <= port <= 65535
    True
    >>> wait_until(lambda: True, timeout=1, what="nothing")
    True
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

__all__ = ["free_port", "port_open", "wait_until"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to port 0 and release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll ``predicate`` until it returns something truthy; return that value.

    Raises TimeoutError naming ``what`` when it does not happen within ``timeout`` seconds.
    Use it to wait for readiness, never to assert how fast something is.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            desc = what or repr(predicate)
            raise TimeoutError(
                f"timed out after {timeout:.1f}s waiting for {desc}; "
                "the thing never became ready - look at its logs"
            )
        time.sleep(interval)
