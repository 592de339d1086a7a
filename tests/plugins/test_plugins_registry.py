"""Registries built from the register_* hooks: overrides, duplicates, lazy imports, hints."""

from __future__ import annotations

import logging
import sys

import pytest
from plugin_helpers import unique

from orchestrator.errors import PluginError
from orchestrator.plugins import (
    get_io_manager,
    get_launcher,
    get_message_channel,
    hookimpl,
    io_managers,
    launchers,
    manager,
    plugin_failures,
    plugin_registered,
    registrations,
    reset_plugins,
)

BUILTIN = """
from orchestrator.plugins import hookimpl
ORCHESTRATOR_PLUGIN_API = 1

class BuiltinFS:
    pass

@hookimpl
def register_io_managers(register):
    register("fs", BuiltinFS, description="built-in files")
    register("memory", dict)
"""


@pytest.fixture
def builtin(tmp_path, monkeypatch) -> str:
    """A built-in plugin registering io managers 'fs' and 'memory'."""
    mod = unique("builtin")
    (tmp_path / f"{mod}.py").write_text(BUILTIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(manager, "DEFAULT_PLUGINS", (mod,))
    reset_plugins()
    return mod


def test_third_party_plugin_overrides_a_builtin(builtin, make_dist, monkeypatch) -> None:
    source = """
    from orchestrator.plugins import hookimpl
    ORCHESTRATOR_PLUGIN_API = 1

    class BetterFS:
        pass

    @hookimpl
    def register_io_managers(register):
        register("fs", BetterFS, description="better files", override=True)
    """
    make_dist(source, entry_point="better")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "better")
    assert get_io_manager("fs").__name__ == "BetterFS"
    reg = io_managers()["fs"]
    assert (reg.plugin, reg.overrides, reg.description) == ("better", builtin, "better files")
    # the built-in's other registration is untouched
    assert io_managers()["memory"].plugin == builtin


def test_duplicate_without_override_is_an_error_naming_both(
    builtin, make_dist, monkeypatch, caplog
) -> None:
    source = """
    from orchestrator.plugins import hookimpl
    ORCHESTRATOR_PLUGIN_API = 1

    @hookimpl
    def register_io_managers(register):
        register("s3-ish", list)
        register("fs", list)
    """
    make_dist(source, entry_point="clash")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "clash")
    with caplog.at_level(logging.WARNING, logger="orchestrator.plugins"):
        entries = io_managers()
    # the first registration stays; the clashing plugin contributes nothing from this hook
    assert entries["fs"].plugin == builtin
    assert "s3-ish" not in entries
    [failure] = plugin_failures()
    assert failure.name == "clash" and failure.stage == "hook register_io_managers"
    assert (f"IO manager 'fs' is registered twice: by plugin '{builtin}' and by plugin 'clash'"
            in failure.error)
    assert "override=True" in failure.error
    assert "'clash'" in caplog.text
    # rebuilding the registry (plugins changed) does not report it again
    caplog.clear()

    class Other:
        @hookimpl
        def register_launchers(self, register):
            register("other", list)

    with plugin_registered(Other(), name="other"), caplog.at_level(logging.WARNING):
        assert "fs" in io_managers()
    assert "registered twice" not in caplog.text

    monkeypatch.setenv("ORCHESTRATOR_PLUGINS_STRICT", "1")
    reset_plugins()
    with pytest.raises(PluginError, match=f"by plugin '{builtin}' and by plugin 'clash'"):
        io_managers()


def test_duplicate_within_one_plugin_is_an_error() -> None:
    class Twice:
        @hookimpl
        def register_launchers(self, register):
            register("x", list)
            register("x", dict)

    with plugin_registered(Twice(), name="twice"):
        assert "x" not in launchers()
        assert "by plugin 'twice' and by plugin 'twice'" in plugin_failures()[0].error


def test_registration_from_a_raising_hook_is_dropped_others_kept() -> None:
    class Half:
        @hookimpl
        def register_launchers(self, register):
            register("half", list)
            raise ValueError("oops")

    class Fine:
        @hookimpl
        def register_launchers(self, register):
            register("fine", dict)

    with plugin_registered(Half(), name="half"), plugin_registered(Fine(), name="fine"):
        assert sorted(launchers()) == ["fine"]
        [failure] = plugin_failures()
        assert failure.name == "half" and "ValueError: oops" in failure.error


def test_string_registrations_are_imported_on_first_use(tmp_path, monkeypatch) -> None:
    mod = unique("lazyimpl")
    (tmp_path / f"{mod}.py").write_text("class Launcher:\n    kind = 'lazy'\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Lazy:
        @hookimpl
        def register_launchers(self, register):
            register("lazy", f"{mod}:Launcher", description="imported late")

    with plugin_registered(Lazy(), name="lazy"):
        assert "lazy" in launchers()
        assert mod not in sys.modules  # listing does not import
        cls = get_launcher("lazy")
        assert cls.kind == "lazy" and mod in sys.modules
        assert get_launcher("lazy") is cls


def test_unknown_name_lists_known_names_and_install_hint() -> None:
    class One:
        @hookimpl
        def register_launchers(self, register):
            register("subprocess", list)

    with plugin_registered(One(), name="one"):
        with pytest.raises(PluginError) as info:
            get_launcher("docker")
        message = str(info.value)
        assert "unknown launcher 'docker'" in message
        assert "known launchers: 'subprocess'" in message
        assert "pip install 'orchestrator[docker]'" in message

        with pytest.raises(PluginError,
                           match="unknown message channel 'carrier-pigeon'.*install the plugin"):
            get_message_channel("carrier-pigeon")


def test_failed_import_of_a_registration_shows_install_hint() -> None:
    class Docker:
        @hookimpl
        def register_launchers(self, register):
            register("docker", "no_such_docker_sdk_xyz.launcher:DockerLauncher")

    with plugin_registered(Docker(), name="fake-docker"), pytest.raises(PluginError) as info:
        get_launcher("docker")
    message = str(info.value)
    assert "launcher 'docker' (registered by plugin 'fake-docker')" in message
    assert "No module named 'no_such_docker_sdk_xyz'" in message
    assert "pip install 'orchestrator[docker]'" in message


@pytest.mark.parametrize(
    ("name", "obj", "match"),
    [
        ("", list, "must be a non-empty string"),
        (3, list, "must be a non-empty string"),
        ("x", "not-a-path", "must be an import path"),
        ("x", None, "as None"),
    ],
)
def test_bad_registrations_are_refused(name, obj, match) -> None:
    class Bad:
        @hookimpl
        def register_resources(self, register):
            register(name, obj)

    with plugin_registered(Bad(), name="bad"):
        assert dict(registrations("resource")) == {}
        [failure] = plugin_failures()
        assert failure.name == "bad"
        assert match in failure.error


def test_registry_is_rebuilt_when_plugins_change_and_is_read_only() -> None:
    class A:
        @hookimpl
        def register_launchers(self, register):
            register("a", list)

    first = launchers()
    assert first is launchers()  # cached
    with plugin_registered(A(), name="a"):
        assert "a" in launchers()
        with pytest.raises(TypeError):
            launchers()["b"] = None  # type: ignore[index]
    assert "a" not in launchers()


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(PluginError, match="unknown registry kind 'launchers'"):
        registrations("launchers")
