"""Docs kept honest: every hook documented, reference up to date, every example executed."""

from __future__ import annotations

import inspect
import json
import logging
import re
import sys
import tomllib
import types
from pathlib import Path

import pluggy
import pytest
from click.testing import CliRunner

from orchestrator.asset_key import AssetKey
from orchestrator.cli import cli
from orchestrator.events import Event, EventType, RunRecord, RunStatus
from orchestrator.plugins import (
    LifecycleDispatcher,
    get_plugin_manager,
    hookspecs,
    plugin_failures,
    plugin_registered,
    registrations,
)
from orchestrator.plugins import docs as hook_docs
from orchestrator.plugins.registry import KINDS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins"
TESTS = ROOT / "tests"
RUN = RunRecord(run_id="run-7", job_name="nightly")
_BLOCK = re.compile(r"```(python|toml)\n(.*?)```", re.DOTALL)


def blocks(text: str, lang: str = "python") -> list[str]:
    return [body for kind, body in _BLOCK.findall(text) if kind == lang]


def hook_examples() -> dict[str, list[str]]:
    """hook name → python blocks under its ``### name`` heading in hooks.md."""
    text = (DOCS / "hooks.md").read_text()
    parts = re.split(r"^### (\w+)\n", text, flags=re.MULTILINE)
    return {parts[i]: blocks(parts[i + 1]) for i in range(1, len(parts), 2)}


def as_module(source: str) -> types.ModuleType:
    module = types.ModuleType(f"doc_example_{abs(hash(source))}")
    sys.modules[module.__name__] = module  # dataclasses & co. look their module up
    exec(compile(source, f"<{module.__name__}>", "exec"), module.__dict__)  # noqa: S102
    return module


# --- the test the team rules require -----------------------------------------------------


def test_every_hook_has_docs_and_a_test() -> None:
    problems = []
    names = hook_docs.hook_names()
    # the docs generator sees exactly the hooks pluggy sees
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pluggy_names = {name for name in vars(pm.hook) if not name.startswith("_")}
    if set(names) != pluggy_names:
        problems.append(f"generator sees {sorted(names)}, pluggy sees {sorted(pluggy_names)}")

    sectioned = [n for _title, _intro, hooks in hookspecs.HOOK_SECTIONS for n in hooks]
    for name in names:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        if not doc:
            problems.append(f"hook {name} has no docstring")
            continue
        for needed in ("**Arguments**", "**Returns**", "**Ordering", "**Example**", "```python"):
            if needed not in doc:
                problems.append(f"docstring of hook {name} lacks {needed!r}")
        if sectioned.count(name) != 1:
            problems.append(f"hook {name} must appear exactly once in HOOK_SECTIONS")
    if len(sectioned) != len(names):
        unknown = set(sectioned) - set(names)
        problems.append(f"HOOK_SECTIONS names hooks that do not exist: {unknown}")

    current = (DOCS / "hooks.md").read_text() if (DOCS / "hooks.md").exists() else ""
    if current != hook_docs.render():
        problems.append(
            "docs/plugins/hooks.md is out of date: run python -m orchestrator.plugins.docs"
        )
    for name in names:
        signature = f"{name}({', '.join(inspect.signature(getattr(hookspecs, name)).parameters)})"
        if f"### {name}\n" not in current or signature not in current:
            problems.append(f"docs/plugins/hooks.md has no section with signature {signature}")

    tested = set()
    for path in TESTS.rglob("*.py"):
        tested |= set(re.findall(r"^\s*(?:async\s+)?def test_hook_(\w+)\(", path.read_text(),
                                 re.MULTILINE))
    for name in names:
        if name not in tested:
            problems.append(f"hook {name} has no test function named test_hook_{name} under tests/")
    assert not problems, "\n".join(problems)


def test_docs_generator_check_mode(tmp_path: Path, capsys) -> None:
    out = tmp_path / "hooks.md"
    out.write_text("stale\n")
    assert hook_docs.main(["--output", str(out), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert hook_docs.main(["--output", str(out)]) == 0
    assert hook_docs.main(["--output", str(out), "--check"]) == 0
    assert out.read_text() == hook_docs.render()


# --- every example in docs/plugins is executed -------------------------------------------


def exercise(hook: str, tmp_path: Path, caplog) -> None:
    """Drive ``hook`` through the path the core uses, and check its example's effect."""
    for kind, (hook_name, _human) in KINDS.items():
        if hook_name == hook:
            mine = [r for r in registrations(kind).values() if r.plugin == "example"]
            assert mine, f"the example of {hook} registered nothing"
            for reg in mine:
                if isinstance(reg.obj, str):
                    continue  # an import path to the reader's own package
                obj = reg.load()()
                if hasattr(obj, "handle_output"):  # the IO manager example, for real
                    obj.base_dir = tmp_path
                    ctx = types.SimpleNamespace(asset_key=AssetKey(["sales", "daily"]))
                    obj.handle_output(ctx, {"total": 3})
                    assert obj.load_input(ctx) == {"total": 3}
                if hasattr(obj, "connect"):  # the resource example
                    assert obj.connect().execute("select 41 + 1").fetchone() == (42,)
            return
    if hook == "register_commands":
        result = CliRunner().invoke(cli, ["hello", "world"])
        assert result.exit_code == 0, result.output
        assert result.output == "hello world\n"
        return
    dispatcher = LifecycleDispatcher()
    error = {"type": "ValueError", "message": "bad row", "stack": [], "cause": None}
    with caplog.at_level(logging.INFO):
        if hook == "on_run_start":
            dispatcher.on_run_start(RUN, None)
        elif hook == "on_run_end":
            dispatcher.on_run_end(RUN, None, RunStatus.FAILURE, error)
            line = json.loads((tmp_path / "alerts.jsonl").read_text())
            assert line == {"run_id": "run-7", "status": "FAILURE", "error": error}
        elif hook == "on_step_start":
            dispatcher.on_step_start(RUN, "daily", [AssetKey(["sales", "daily"])])
            assert "step daily producing sales/daily" in caplog.text
        elif hook == "on_step_end":
            dispatcher.on_step_end(RUN, "daily", [AssetKey("daily")], "SUCCESS", None)
        elif hook == "on_event":
            event = Event(EventType.ASSET_MATERIALIZATION, "run-7", asset_key=AssetKey("a"))
            dispatcher.on_event(event)
            dispatcher.on_event(Event(EventType.LOG, "run-7", message="hi"))
        else:  # pragma: no cover - a new hook needs a line here
            pytest.fail(f"no way to exercise hook {hook}: add it to exercise()")
    assert not dispatcher.errors, dispatcher.errors


@pytest.mark.parametrize("hook", hook_docs.hook_names())
def test_hooks_reference_examples_run(hook, tmp_path, monkeypatch, caplog) -> None:
    examples = hook_examples()
    assert len(examples.get(hook, [])) == 1, f"hooks.md needs one python example for {hook}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALERTS_FILE", str(tmp_path / "alerts.jsonl"))
    module = as_module(examples[hook][0])
    with plugin_registered(module, name="example"):
        exercise(hook, tmp_path, caplog)
    assert plugin_failures() == []
    # module-level effects the examples promise
    if hook == "on_run_start":
        assert "run-7" in module.STARTED
    if hook == "on_step_end":
        assert module.STEP_OUTCOMES == {"SUCCESS": 1}
    if hook == "on_event":
        assert module.MATERIALIZED == [AssetKey("a")]


def test_overview_examples_run(tmp_path, monkeypatch, caplog) -> None:
    text = (DOCS / "overview.md").read_text()
    monkeypatch.chdir(tmp_path)
    python = blocks(text)
    assert len(python) == 3
    # 1. the one-file plugin: register it as the module it is, and run its hooks
    notify = as_module(python[0])
    with plugin_registered(notify, name="notify"):
        reg = registrations("io_manager")["json"]
        assert (reg.plugin, reg.obj) == ("notify", "orchestrator_notify.io:JsonIOManager")
        dispatcher = LifecycleDispatcher()
        dispatcher.on_run_end(RUN, None, RunStatus.SUCCESS, None)
        assert not dispatcher.errors
    assert (tmp_path / "runs.log").read_text() == "run-7 SUCCESS\n"
    # 2 and 3 are scripts with their own assertions
    for source in python[1:]:
        as_module(source)
    # the pyproject snippet declares the entry point in the right group
    [toml] = blocks(text, "toml")
    data = tomllib.loads(toml)
    assert data["project"]["entry-points"]["orchestrator.plugins"] == {
        "notify": "orchestrator_notify"
    }
    # the documented env vars and API version are the real ones
    from orchestrator.plugins import manager

    for var in (manager.ENV_PLUGINS, manager.ENV_TRACE, manager.ENV_STRICT):
        assert f"`{var}" in text
    assert f"plugin API version {manager.PLUGIN_API_VERSION}" in text


def test_loaded_manager_knows_every_documented_hook() -> None:
    pm = get_plugin_manager()
    for name in hook_docs.hook_names():
        assert getattr(pm.hook, name).spec is not None
