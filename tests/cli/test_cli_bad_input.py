"""Every user mistake on the command line gets a clear message (in-process, CliRunner)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cli_helpers import PROJECT
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.code_location import (
    CodeLocationError,
    CodeLocationOrigin,
    load_workspace,
    resolve_origins,
    select_origin,
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ORCHESTRATOR_LOG_LEVEL", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def put(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def fails(*args: str, code: int = 1) -> str:
    result = invoke(*args)
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())  # messages may be wrapped


# -- pointing at code ------------------------------------------------------------------------
def test_no_location_and_no_workspace(env):
    out = fails("assets", "list")
    assert f"no code location given, no workspace.yaml and no [tool.orchestrator] in " \
           f"pyproject.toml in {env}" in out
    assert "-f path/to/definitions.py or -m package.module" in out


def test_missing_file_directory_and_not_python(env):
    out = fails("assets", "list", "-f", "nope.py")
    assert f"code location file '{env / 'nope.py'}' does not exist" in out
    (env / "adir").mkdir()
    assert "is a directory, not a Python file" in fails("assets", "list", "-f", "adir")
    put(env / "defs.txt", "x = 1\n")
    assert "is not a .py file" in fails("assets", "list", "-f", "defs.txt")


def test_bad_module_names(env):
    assert "is not a dotted Python module name" in fails("assets", "list", "-m", "a-b.c")
    out = fails("assets", "list", "-m", "surely_missing_pkg.defs")
    assert "module 'surely_missing_pkg' was not found" in out and "PYTHONPATH" in out


def test_conflicting_options(env):
    put(env / "defs.py", PROJECT)
    out = fails("assets", "list", "-f", "defs.py", "-m", "defs")
    assert "-f/--python-file and -m/--module-name were both given" in out
    assert "-a/--attribute needs -f or -m" in fails("assets", "list", "-a", "defs")


def test_attribute_problems(env):
    put(env / "two.py", """
        from orchestrator import Definitions
        first = Definitions()
        second = Definitions()
    """)
    out = fails("assets", "list", "-f", "two.py")
    assert "has several Definitions objects (first, second)" in out and "-a NAME" in out
    out = fails("assets", "list", "-f", "two.py", "-a", "thrid")
    assert "has no attribute 'thrid'; Definitions found: first, second" in out
    assert invoke("assets", "list", "-f", "two.py", "-a", "second", "--json").exit_code == 0

    put(env / "none.py", "x = 1\n")
    assert "defines no Definitions object" in fails("assets", "list", "-f", "none.py")
    put(env / "wrong.py", "defs = [1, 2]\n")
    assert "'defs' is a list, not a Definitions" in fails("assets", "list", "-f", "wrong.py")


def test_single_definitions_not_called_defs_and_factories(env):
    put(env / "single.py", """
        from orchestrator import Definitions, asset

        @asset
        def a():
            return 1

        my_location = Definitions(assets=[a])

        def build():
            return Definitions(assets=[a])
    """)
    origin = CodeLocationOrigin.for_file(env / "single.py")
    assert [k.to_user_string() for k in origin.load().asset_graph.all_keys] == ["a"]
    assert origin.pointer == f"file:{env / 'single.py'}:my_location"
    built = CodeLocationOrigin.for_file(env / "single.py", attribute="build").load()
    assert built.asset_graph.all_keys


def test_error_raised_by_user_code_at_import(env):
    put(env / "raises.py", """
        def load_settings():
            raise RuntimeError("SETTINGS_PATH is not set")

        settings = load_settings()
    """)
    with pytest.raises(CodeLocationError) as info:
        CodeLocationOrigin.for_file(env / "raises.py").load()
    err = info.value
    assert err.location == "raises"
    assert err.user_traceback is not None
    assert f'File "{env / "raises.py"}", line 4, in <module>' in err.user_traceback
    assert "line 2, in load_settings" in err.user_traceback
    assert err.user_traceback.rstrip().endswith("RuntimeError: SETTINGS_PATH is not set")
    assert "Hint: the error was raised by your code while it was imported" in str(err)


# -- workspaces --------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("load_from: [", "invalid YAML"),
    ("locations: []", "expected a mapping with a 'load_from' list"),
    ("load_from: []\nextra: 1", "unknown top-level keys ['extra']"),
    ("load_from: []", "'load_from' must be a non-empty list"),
    ("load_from: [just_a_string]", "load_from[0]: expected a mapping"),
    ("load_from: [{python_file: a.py, python_module: b}]",
     "load_from[0]: needs exactly one of python_file or python_module"),
    ("load_from: [{python_file: a.py, atribute: defs}]",
     "load_from[0]: unknown keys ['atribute']"),
    ("load_from: [{python_file: {location_name: x}}]", "python_file needs 'relative_path'"),
    ("load_from: [{python_file: a.py}, {python_file: sub/a.py}]",
     "load_from[0] and load_from[1] are both named 'a'; give one a different location_name"),
    ("load_from: [{python_module: 3}]", "python_module must be a non-empty string"),
])
def test_bad_workspace_files(env, text, message):
    ws = put(env / "workspace.yaml", text + "\n")
    with pytest.raises(CodeLocationError) as info:
        load_workspace(ws)
    assert message in str(info.value)
    assert str(ws) in str(info.value)
    assert message in fails("assets", "list")  # ./workspace.yaml is the default


def test_workspace_paths_are_relative_to_the_file_and_location_is_checked(env, tmp_path):
    put(tmp_path / "elsewhere" / "proj" / "defs.py", PROJECT)
    ws = put(tmp_path / "elsewhere" / "workspace.yaml",
             "load_from:\n  - python_file: proj/defs.py\n  - python_module: proj.defs\n"
             "    location_name: as_module\n")
    origins = resolve_origins(workspace=str(ws))
    assert origins[0].target == str(tmp_path / "elsewhere" / "proj" / "defs.py")
    assert origins[1].working_directory == str(tmp_path / "elsewhere")
    with pytest.raises(CodeLocationError, match="choose one with --location NAME"):
        select_origin(origins, None)
    with pytest.raises(CodeLocationError, match="did you mean 'as_module'"):
        select_origin(origins, "as_modul")
    assert select_origin(origins, "as_module").load().asset_graph.has(
        origins[0].load().asset_graph.all_keys[0])
    assert "no code location named 'x'" in fails("assets", "list", "-w", str(ws), "-l", "x")
    assert "workspace file" in fails("assets", "list", "-w", "missing.yaml")


def test_pointers_round_trip_and_bad_pointers(env):
    f = CodeLocationOrigin.for_file("some/defs.py", attribute="defs")
    assert CodeLocationOrigin.from_pointer(f.pointer) == CodeLocationOrigin(
        "file", str(env / "some" / "defs.py"), "defs")
    m = CodeLocationOrigin.for_module("pkg.defs", working_directory="/srv/app")
    back = CodeLocationOrigin.from_pointer(m.pointer)
    assert (back.kind, back.target, back.working_directory, back.attribute) == (
        "module", "pkg.defs", "/srv/app", "defs")
    for bad in ("defs.py", "file:defs.py", "http:x:defs", "module:pkg:not-an-attr"):
        with pytest.raises(CodeLocationError, match="is not 'file:/path/to/file.py:attribute'"):
            CodeLocationOrigin.from_pointer(bad)


# -- command options and run ids ------------------------------------------------------------
def test_bad_tags_unknown_job_and_selection(env):
    put(env / "defs.py", PROJECT)
    out = fails("materialize", "-f", "defs.py", "--select", "*", "--tags", "oops", code=2)
    assert "tag 'oops' is not KEY=VALUE" in out
    out = fails("job", "execute", "everythin", "-f", "defs.py")
    assert "no job named 'everythin' (did you mean 'everything'?)" in out
    out = fails("materialize", "-f", "defs.py", "--select", "totl")
    assert "totl" in out and "did you mean 'total'" in out
    out = fails("materialize", "-f", "defs.py", "--select", "*", "--config", "missing.yaml")
    assert "run config file 'missing.yaml' does not exist" in out
    put(env / "run.yaml", "ops:\n  totl:\n    config: {limit: 1}\n")
    out = fails("materialize", "-f", "defs.py", "--select", "*", "--config", "run.yaml")
    assert "ops.totl" in out


def test_unknown_runs_and_statuses(env):
    out = fails("runs", "show", "0000dead")
    assert "no run '0000dead' in the instance at" in out and "orchestrator runs list" in out
    assert "no run 'nope'" in fails("runs", "reexecute", "nope", "--from-failure")
    assert "no run 'nope'" in fails("runs", "cancel", "nope")
    out = fails("runs", "list", "--status", "DONE", code=2)
    assert "'DONE' is not one of" in out
    assert "--limit" in fails("runs", "list", "--limit", "0", code=2)


def test_runs_made_by_the_python_api(env):
    """A run started from Python records no code location: reexecute asks for -f/-m."""
    from orchestrator import asset, materialize
    from orchestrator.instance import Instance

    @asset
    def broken():
        raise ValueError("x")

    result = materialize([broken], instance=Instance.get(), raise_on_error=False)
    out = fails("runs", "reexecute", result.run_id, "--from-failure")
    assert f"run {result.run_id} records no code location" in out
    assert "pass -f path/to/file.py or -m package.module" in out
    out = fails("runs", "cancel", result.run_id)
    assert "already finished (FAILURE); there is nothing to cancel" in out


def test_prefix_matching_several_runs(env):
    from orchestrator.events import RunRecord
    from orchestrator.instance import Instance

    storage = Instance.get().run_storage
    storage.add_run(RunRecord(run_id="abcd1111-0000", job_name="j"))
    storage.add_run(RunRecord(run_id="abcd2222-0000", job_name="j"))
    assert "prefix 'abcd' matches 2 runs" in fails("runs", "show", "abcd")
    result = invoke("runs", "show", "abcd2", "--json")
    assert json.loads(result.output)["run"]["run_id"] == "abcd2222-0000"


def test_cancel_of_a_run_whose_process_is_gone(env):
    import socket
    import subprocess
    import sys

    from orchestrator.events import RunRecord, RunStatus
    from orchestrator.execution.cancel import HOST_TAG, PID_TAG
    from orchestrator.instance import Instance

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    storage = Instance.get().run_storage
    storage.add_run(RunRecord(run_id="orphan-run", job_name="j", status=RunStatus.STARTED,
                              tags={PID_TAG: dead.stdout.strip(),
                                    HOST_TAG: socket.gethostname()}))
    result = invoke("runs", "cancel", "orphan-run")
    assert result.exit_code == 0, result.output
    assert "CANCELED (no process was executing it: its process (pid" in result.output
    assert storage.get_run("orphan-run").status is RunStatus.CANCELED
    messages = [e.message for e in storage.get_events("orphan-run")]
    assert any("is gone" in m for m in messages)

    storage.add_run(RunRecord(run_id="remote-run", job_name="j", status=RunStatus.STARTED,
                              tags={PID_TAG: "1", HOST_TAG: "another-host"}))
    out = fails("runs", "cancel", "remote-run")
    assert "executes on host 'another-host'" in out


def test_config_schema(env):
    put(env / "cfg.py", """
        from orchestrator import Config, ConfigurableResource, Definitions, asset, define_asset_job

        class Limit(Config):
            limit: int = 10
            \"\"\"unused\"\"\"

        class Api(ConfigurableResource):
            token: str

        @asset
        def rows(config: Limit, api: Api):
            return config.limit

        defs = Definitions(assets=[rows], resources={"api": Api.configure_at_launch()},
                           jobs=[define_asset_job("rows_job", "rows")])
    """)
    result = invoke("config", "schema", "rows_job", "-f", "cfg.py", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    limit = doc["ops"]["rows"]["config"]["properties"]["limit"]
    assert limit["type"] == "integer" and limit["default"] == 10
    assert "token" in doc["resources"]["api"]["config"]["properties"]
    as_yaml = invoke("config", "schema", "--select", "rows", "-f", "cfg.py").output
    assert "selection: rows" in as_yaml and "limit:" in as_yaml
    out = fails("config", "schema", "-f", "cfg.py", code=2)
    assert "give either a JOB name or --select SELECTION" in out


def test_assets_show_unknown_key(env):
    put(env / "defs.py", PROJECT)
    out = fails("assets", "show", "totall", "-f", "defs.py")
    assert "no asset 'totall' in code location(s) defs (did you mean 'total'?)" in out


def test_cancel_without_a_recorded_process_needs_force(env):
    from orchestrator.events import RunRecord, RunStatus
    from orchestrator.instance import Instance

    storage = Instance.get().run_storage
    storage.add_run(RunRecord(run_id="api-run", job_name="j", status=RunStatus.STARTED))
    out = fails("runs", "cancel", "api-run")
    assert "records no process to signal" in out and "--force" in out
    assert storage.get_run("api-run").status is RunStatus.STARTED
    result = invoke("runs", "cancel", "api-run", "--force")
    assert result.exit_code == 0, result.output
    assert storage.get_run("api-run").status is RunStatus.CANCELED


def test_cancel_never_signals_a_recycled_pid(env):
    import subprocess
    import sys

    from orchestrator.events import RunRecord, RunStatus
    from orchestrator.execution.cancel import process_tags
    from orchestrator.instance import Instance

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        tags = {**process_tags(), "orchestrator/pid": str(bystander.pid),
                "orchestrator/pid_start": "1"}  # not when the bystander started
        storage = Instance.get().run_storage
        storage.add_run(RunRecord(run_id="old-run", job_name="j", status=RunStatus.STARTED,
                                  tags=tags))
        result = invoke("runs", "cancel", "old-run")
        assert result.exit_code == 0, result.output
        assert "no process was executing it" in result.output
        assert bystander.poll() is None  # still alive: it was not signalled
        assert storage.get_run("old-run").status is RunStatus.CANCELED
    finally:
        bystander.kill()
        bystander.wait()


def test_validate_reports_a_logger_that_is_not_one(env):
    put(env / "loggers.py", """
        import logging
        from orchestrator import Definitions

        defs = Definitions(loggers={"console": "stdout", "ok": logging.NullHandler()})
    """)
    out = fails("definitions", "validate", "-f", "loggers.py")
    assert "logger 'console' is a str, not a logging.Handler" in out
    assert "'ok'" not in out


def test_reexecute_when_the_recorded_code_moved(env):
    put(env / "defs.py", PROJECT)
    (env / "fail.flag").write_text("")
    result = CliRunner().invoke(cli, ["materialize", "-f", "defs.py", "--select", "*"])
    assert result.exit_code == 1
    from orchestrator.instance import Instance

    run_id = Instance.get().run_storage.get_runs(limit=1)[0].run_id
    (env / "fail.flag").unlink()
    (env / "moved").mkdir()
    (env / "defs.py").rename(env / "moved" / "defs.py")
    out = fails("runs", "reexecute", run_id, "--from-failure")
    assert f"code location file '{env / 'defs.py'}' does not exist" in out
    assert f"is the one run {run_id} recorded; if the code moved, pass -f or -m" in out
    result = invoke("runs", "reexecute", run_id, "--from-failure", "-f", "moved/defs.py")
    assert result.exit_code == 0, result.output
    assert Instance.get().run_storage.get_runs(limit=1)[0].code_location == \
        f"file:{env / 'moved' / 'defs.py'}:defs"


def test_pyproject_names_the_code_location(env):
    put(env / "src" / "defs.py", PROJECT)
    put(env / "pyproject.toml", """
        [project]
        name = "demo"

        [tool.orchestrator]
        python_file = "src/defs.py"
        location_name = "demo"
    """)
    listed = json.loads(invoke("assets", "list", "--json").output)
    assert {(a["location"], a["key"]) for a in listed} == {("demo", "numbers"),
                                                           ("demo", "total")}
    put(env / "pkgdir" / "demo_pkg" / "__init__.py", "")
    put(env / "pkgdir" / "demo_pkg" / "defs.py", PROJECT)
    put(env / "pkgdir" / "pyproject.toml", """
        [tool.orchestrator]
        module_name = "demo_pkg.defs"
    """)
    (origin,) = resolve_origins(cwd=env / "pkgdir")
    assert (origin.kind, origin.target, origin.working_directory) == (
        "module", "demo_pkg.defs", str(env / "pkgdir"))
    assert origin.load().asset_graph.all_keys


@pytest.mark.parametrize("table, message", [
    ('python_file = "a.py"\nmodule_name = "b"', "set exactly one of python_file or module_name"),
    ('attribute = "defs"', "set exactly one of python_file or module_name"),
    ('python_file = "a.py"\nfile = "x"', "unknown keys ['file']"),
    ("python_file = 3", "python_file must be a non-empty string, got 3"),
])
def test_bad_pyproject_tables(env, table, message):
    put(env / "pyproject.toml", "[tool.orchestrator]\n" + table + "\n")
    out = fails("assets", "list")
    assert f"{env / 'pyproject.toml'} [tool.orchestrator]" in out and message in out


def test_pyproject_without_the_table_is_ignored(env):
    put(env / "pyproject.toml", "[project]\nname = 'x'\n")
    assert "no code location given" in fails("assets", "list")
