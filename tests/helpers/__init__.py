"""Small helpers shared by the test suite (stdlib only; importable as ``helpers``).

``tests/`` is on ``sys.path`` while pytest runs (the root conftest makes sure of it), so a test
writes::

    from helpers.infra import REPO_ROOT, in_ci, load_settings, test_images
    from helpers.net import free_port, wait_until

Fixtures (``docker_available``, ``docker_client``, ``test_images``, ``dagster_python``,
``tmp_home``) live in :mod:`helpers.fixtures`; the root conftest re-exports them, and code
outside ``tests/`` can load them with ``pytest -p helpers.fixtures``.
"""
