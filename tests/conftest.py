"""Root conftest: shared fixtures for the whole suite (kept light: no heavy imports here).

Markers ``slow`` and ``system`` are registered in pyproject.toml (``--strict-markers``).
Fixtures, defined in ``tests/helpers/fixtures.py``:

- ``docker_available`` / ``docker_client`` (session): a Docker engine that answers;
- ``test_images`` (session): tags of the local test images (built if missing);
- ``dagster_python`` (session): path to ``.venvs/dagster/bin/python`` (created if missing);
- ``tmp_home``: a temporary ``$ORCHESTRATOR_HOME`` for one test;
- ``s3_endpoint`` (session): an S3 API served by moto on 127.0.0.1.

Under ``CI=true`` missing infrastructure fails these fixtures instead of skipping.
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:  # make ``import helpers`` work under any --import-mode
    sys.path.insert(0, _TESTS)

from helpers.fixtures import (  # noqa: E402  (re-exported as fixtures for every test)
    dagster_python,
    docker_available,
    docker_client,
    s3_endpoint,
    test_images,
    tmp_home,
)

__all__ = ["dagster_python", "docker_available", "docker_client", "s3_endpoint", "test_images",
           "tmp_home"]


def _restore_sigint() -> None:
    """Tests press Ctrl-C on child processes (SIGINT), as a user at a terminal would. When
    the test run itself was started with SIGINT ignored (``nohup``, ``cmd &`` in a
    non-interactive shell, some CI runners), every child would inherit the ignore and never
    see the signal; giving this process a handler makes children start with the default."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_restore_sigint()
