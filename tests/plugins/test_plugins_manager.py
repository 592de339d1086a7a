"""Loading plugins: built-ins, entry points, env vars, failures, API versions."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest
from plugin_helpers import subprocess_env, unique

from orchestrator.errors import PluginError
from orchestrator.plugins import (
    get_io_manager,
    get_plugin_manager,
    hookimpl,
    io_managers,
    manager,
    plugin_failures,
    plugin_registered,
    plugins_info,
    register_plugin,
    reset_plugins,
    unregister_plugin,
)

GOOD = """
from orchestrator.plugins import hookimpl

ORCHESTRATOR_PLUGIN_API = 1

@hookimpl
def register_io_managers(register):
    register("{name}", dict, description="test")
"""


def good(name: str) -> str:
    return GOOD.replace("{name}", name)


def test_manager_is_not_created_by_importing_orchestrator() -> None:
    code = textwrap.dedent(
        """
        import orchestrator, orchestrator.plugins
        from orchestrator.plugins import manager
        assert manager._state is None, "plugin manager created at import time"
        pm = manager.get_plugin_manager()
        assert manager.get_plugin_manager() is pm
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False,
        env=subprocess_env(),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_manager_is_created_once_until_reset() -> None:
    pm = get_plugin_manager()
    assert get_plugin_manager() is pm
    reset_plugins()
    assert get_plugin_manager() is not pm


def test_builtin_plugins_load_first_then_entry_points(
    make_dist, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    builtin_mod = unique("builtin")
    (tmp_path / f"{builtin_mod}.py").write_text(good("builtin-io"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(manager, "DEFAULT_PLUGINS", (builtin_mod,))
    name, module = make_dist(good("third-io"), version="2.3.4")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)

    infos = plugins_info()
    assert [i.name for i in infos] == [builtin_mod, name]
    builtin, third = infos
    assert builtin.builtin and builtin.source == "builtin"
    assert builtin.distribution == "orchestrator"
    assert third.source == "entry point" and not third.builtin
    assert (third.distribution, third.version) == (name, "2.3.4")
    assert third.api_version == (1,)
    assert third.hooks == ("register_io_managers",)
    assert third.module == module
    assert io_managers()["builtin-io"].plugin == builtin_mod
    assert io_managers()["third-io"].plugin == name


def test_entry_points_load_sorted_by_name(make_dist, monkeypatch) -> None:
    make_dist(good("b"), entry_point="zeta")
    make_dist(good("a"), entry_point="alpha")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "zeta,alpha")
    assert [i.name for i in plugins_info()] == ["alpha", "zeta"]


def test_orchestrator_plugins_env_restricts(make_dist, monkeypatch) -> None:
    make_dist(good("one"), name="plugin-one", entry_point="one")
    make_dist(good("two"), name="plugin-two", entry_point="two")

    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "one")
    reset_plugins()
    assert [i.name for i in plugins_info()] == ["one"]

    # a distribution name works too, normalised (underscores, case)
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", " Plugin_Two ")
    reset_plugins()
    assert [i.name for i in plugins_info()] == ["two"]

    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "")
    reset_plugins()
    assert plugins_info() == []

    monkeypatch.delenv("ORCHESTRATOR_PLUGINS")
    reset_plugins()
    names = [i.name for i in plugins_info()]
    assert "one" in names and "two" in names


def test_orchestrator_plugins_env_unknown_name_is_reported(make_dist, monkeypatch, caplog) -> None:
    make_dist(good("one"), entry_point="one")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "one,nope")
    with caplog.at_level(logging.WARNING, logger="orchestrator.plugins"):
        assert [i.name for i in plugins_info()] == ["one"]
    [failure] = plugin_failures()
    assert failure.name == "nope" and failure.stage == "selection"
    assert "installed plugins:" in failure.error and "one" in failure.error
    assert "'nope'" in caplog.text


def test_trace_env_writes_hook_calls_to_stderr(make_dist, monkeypatch, capfd) -> None:
    name, _ = make_dist(good("traced"), entry_point="tracer")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    monkeypatch.setenv("ORCHESTRATOR_TRACE_PLUGINS", "1")
    assert "traced" in io_managers()
    err = capfd.readouterr().err
    assert "loading plugin 'tracer'" in err
    assert "call register_io_managers(register=" in err
    assert "-> tracer" in err
    assert "done register_io_managers: returned" in err


def test_no_trace_without_env(make_dist, monkeypatch, capfd) -> None:
    name, _ = make_dist(good("quiet"))
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    assert "quiet" in io_managers()
    assert "orchestrator.plugins" not in capfd.readouterr().err


BROKEN_IMPORT = """
import not_a_module_that_exists_xyz
"""

BROKEN_AT_IMPORT_TIME = """
raise RuntimeError("config file missing")
"""


def test_plugin_failing_to_import_is_reported_and_others_load(
    make_dist, monkeypatch, caplog
) -> None:
    make_dist(BROKEN_IMPORT, name="broken-plugin", entry_point="broken")
    make_dist(BROKEN_AT_IMPORT_TIME, entry_point="explodes")
    make_dist(good("fine"), entry_point="fine")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "broken,explodes,fine")
    with caplog.at_level(logging.WARNING, logger="orchestrator.plugins"):
        assert get_io_manager("fine") is dict
    assert [i.name for i in plugins_info()] == ["fine"]
    failures = {f.name: f for f in plugin_failures()}
    assert set(failures) == {"broken", "explodes"}
    broken = failures["broken"]
    assert broken.stage == "import"
    assert broken.distribution == "broken-plugin"
    assert "ModuleNotFoundError" in broken.error and "not_a_module_that_exists_xyz" in broken.error
    assert "pip uninstall broken-plugin" in broken.hint
    assert "Traceback" in broken.traceback
    assert "RuntimeError: config file missing" in failures["explodes"].error
    # reported once each, as a warning naming the plugin and the fix
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("'broken'" in r.getMessage() for r in warnings) == 1
    assert any("'explodes'" in r.getMessage() for r in warnings)
    assert all("Fix:" in r.getMessage() for r in warnings)
    # loading happens once: asking again reports nothing new
    caplog.clear()
    plugins_info()
    io_managers()
    assert not caplog.records


def test_strict_mode_raises_for_failing_plugin(make_dist, monkeypatch) -> None:
    make_dist(BROKEN_IMPORT, entry_point="broken")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "broken")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS_STRICT", "1")
    with pytest.raises(PluginError, match=r"plugin 'broken'.*import.*not_a_module_that_exists"):
        get_plugin_manager()


@pytest.mark.parametrize(
    ("declared", "needs"),
    [("2", "2"), ("(2, 3)", "2 or 3"), ("0", "0")],
)
def test_incompatible_api_version_is_refused(make_dist, monkeypatch, declared, needs) -> None:
    source = good("future").replace("ORCHESTRATOR_PLUGIN_API = 1",
                                    f"ORCHESTRATOR_PLUGIN_API = {declared}")
    name, _ = make_dist(source, entry_point="future")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    assert plugins_info() == []
    [failure] = plugin_failures()
    assert failure.stage == "api version"
    assert f"needs orchestrator plugin API {needs}" in failure.error
    assert "this orchestrator provides plugin API 1" in failure.error
    assert "future" not in io_managers()

    monkeypatch.setenv("ORCHESTRATOR_PLUGINS_STRICT", "1")
    reset_plugins()
    with pytest.raises(PluginError, match="provides plugin API 1"):
        get_plugin_manager()


def test_api_version_tuple_including_ours_is_accepted(make_dist, monkeypatch) -> None:
    source = good("multi").replace("ORCHESTRATOR_PLUGIN_API = 1",
                                   "ORCHESTRATOR_PLUGIN_API = (1, 2)")
    name, _ = make_dist(source)
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    [info] = plugins_info()
    assert info.api_version == (1, 2)


def test_malformed_api_version_is_refused(make_dist, monkeypatch) -> None:
    source = good("bad").replace("ORCHESTRATOR_PLUGIN_API = 1", "ORCHESTRATOR_PLUGIN_API = 'one'")
    name, _ = make_dist(source, entry_point="badapi")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    assert plugins_info() == []
    [failure] = plugin_failures()
    assert failure.stage == "api version"
    assert "ORCHESTRATOR_PLUGIN_API = 'one'" in failure.error and "expected an int" in failure.error


def test_undeclared_api_is_accepted_but_strict_refuses(make_dist, monkeypatch) -> None:
    source = good("old").replace("ORCHESTRATOR_PLUGIN_API = 1\n", "")
    name, _ = make_dist(source, entry_point="old")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    [info] = plugins_info()
    assert info.api_version is None
    assert plugin_failures() == []

    monkeypatch.setenv("ORCHESTRATOR_PLUGINS_STRICT", "1")
    reset_plugins()
    with pytest.raises(PluginError, match="add ORCHESTRATOR_PLUGIN_API = 1"):
        get_plugin_manager()


def test_misspelled_hook_is_refused_with_suggestion(make_dist, monkeypatch) -> None:
    source = """
    from orchestrator.plugins import hookimpl
    ORCHESTRATOR_PLUGIN_API = 1

    @hookimpl
    def on_run_ends(run, instance, status, error):
        pass
    """
    name, _ = make_dist(source, entry_point="typo")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    assert plugins_info() == []
    [failure] = plugin_failures()
    assert failure.stage == "validation"
    assert "'on_run_ends', which is not an orchestrator hook" in failure.error
    assert "Did you mean 'on_run_end'?" in failure.error


def test_wrong_hook_arguments_are_refused(make_dist, monkeypatch) -> None:
    source = """
    from orchestrator.plugins import hookimpl
    ORCHESTRATOR_PLUGIN_API = 1

    @hookimpl
    def on_run_end(run, outcome):
        pass
    """
    name, _ = make_dist(source, entry_point="wrongargs")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    assert plugins_info() == []
    [failure] = plugin_failures()
    assert "does not match the hook specifications" in failure.error
    assert "outcome" in failure.error


def test_function_without_hookimpl_marker_is_warned_about(make_dist, monkeypatch, caplog) -> None:
    source = """
    ORCHESTRATOR_PLUGIN_API = 1

    def on_run_end(run, instance, status, error):
        pass
    """
    name, _ = make_dist(source, entry_point="unmarked")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", name)
    with caplog.at_level(logging.WARNING, logger="orchestrator.plugins"):
        [info] = plugins_info()
    assert info.hooks == ()
    assert "defines on_run_end() without @hookimpl" in caplog.text


def test_entry_point_can_name_an_object_in_a_module(make_dist, monkeypatch) -> None:
    source = """
    from orchestrator.plugins import hookimpl

    class Plugin:
        ORCHESTRATOR_PLUGIN_API = 1

        @hookimpl
        def register_io_managers(self, register):
            register("from-object", list)

    plugin = Plugin()
    """
    _name, module = make_dist(source, entry_point="objplugin", entry_value="{module}:plugin")
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "objplugin")
    assert get_io_manager("from-object") is list
    [info] = plugins_info()
    assert info.module == f"{module}:plugin"


def test_runtime_registration_and_helpers() -> None:
    class Plugin:
        ORCHESTRATOR_PLUGIN_API = 1

        @hookimpl
        def register_io_managers(self, register):
            register("runtime-io", set)

    with plugin_registered(Plugin(), name="rt") as name:
        assert name == "rt"
        assert get_io_manager("runtime-io") is set
        assert [i.source for i in plugins_info() if i.name == "rt"] == ["runtime"]
        with pytest.raises(PluginError, match="already registered"):
            register_plugin(Plugin(), name="rt")
    assert "runtime-io" not in io_managers()
    with pytest.raises(PluginError, match="no plugin named 'rt'"):
        unregister_plugin("rt")


def test_runtime_registration_errors_raise_at_once() -> None:
    class Typo:
        @hookimpl
        def register_io_manager(self, register):
            pass

    with pytest.raises(PluginError, match="Did you mean 'register_io_managers'"):
        register_plugin(Typo(), name="typo")
    assert "typo" not in [i.name for i in plugins_info()]


def test_public_api_is_sorted_and_importable() -> None:
    from orchestrator import plugins

    def isort_style(name: str) -> tuple[int, str]:  # ruff RUF022: CONSTANTS, Classes, rest
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert plugins.__all__ == sorted(plugins.__all__, key=isort_style)
    assert len(set(plugins.__all__)) == len(plugins.__all__)
    for name in plugins.__all__:
        assert getattr(plugins, name) is not None, name
    assert plugins.hookimpl.project_name == "orchestrator"
    assert plugins.PLUGIN_API_VERSION == 1
