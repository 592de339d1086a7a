"""The real built-in plugins (DEFAULT_PLUGINS as shipped)."""

from __future__ import annotations

import pytest

from orchestrator.plugins import (
    get_io_manager,
    hookimpl,
    io_managers,
    manager,
    plugin_failures,
    plugin_registered,
    plugins_info,
    reset_plugins,
)


@pytest.fixture
def shipped_defaults(monkeypatch):
    """conftest empties DEFAULT_PLUGINS; put back what manager.py ships."""
    monkeypatch.setattr(manager, "DEFAULT_PLUGINS", _shipped())
    reset_plugins()


def _shipped() -> tuple[str, ...]:
    """DEFAULT_PLUGINS as written in manager.py (not as patched by a fixture)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(manager))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "DEFAULT_PLUGINS":
            return ast.literal_eval(node.value)
    raise AssertionError("DEFAULT_PLUGINS not found in manager.py")


def test_every_shipped_builtin_loads(shipped_defaults) -> None:
    infos = plugins_info()
    assert [i.name for i in infos] == list(_shipped())
    assert all(i.builtin and i.api_version == (1,) for i in infos)
    assert plugin_failures() == []


def test_builtin_io_managers_are_registered_lazily(shipped_defaults) -> None:
    from orchestrator.io_managers import FilesystemIOManager, InMemoryIOManager

    entries = io_managers()
    assert entries["fs"].plugin == "orchestrator.plugins.builtin"
    assert isinstance(entries["fs"].obj, str)
    assert get_io_manager("fs") is FilesystemIOManager
    assert get_io_manager("memory") is InMemoryIOManager


def test_a_plugin_can_override_a_builtin(shipped_defaults) -> None:
    class Faster:
        pass

    class Plugin:
        @hookimpl
        def register_io_managers(self, register):
            register("memory", Faster, override=True)

    with plugin_registered(Plugin(), name="faster"):
        assert get_io_manager("memory") is Faster
        assert io_managers()["memory"].overrides == "orchestrator.plugins.builtin"
    assert get_io_manager("memory").__name__ == "InMemoryIOManager"
