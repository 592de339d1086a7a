"""The Instance: home resolution, caching, ephemeral, config file, pass-throughs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from orchestrator.asset_key import AssetKey
from orchestrator.errors import ConfigError, StorageError
from orchestrator.events import Event, EventType, RunRecord, RunStatus
from orchestrator.instance import HOME_ENV_VAR, Instance, find_project_root
from orchestrator.storage.sqlite import InMemoryRunStorage, SqliteRunStorage


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv(HOME_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_home_from_env_var_and_cached_per_home(clean_env, monkeypatch):
    home_a, home_b = clean_env / "a", clean_env / "b"
    monkeypatch.setenv(HOME_ENV_VAR, str(home_a))
    first = Instance.get()
    assert first.home == home_a and first is Instance.get()
    monkeypatch.setenv(HOME_ENV_VAR, str(home_b))
    other = Instance.get()
    assert other.home == home_b and other is not first
    monkeypatch.setenv(HOME_ENV_VAR, str(home_a))
    assert Instance.get() is first
    first.close()
    assert Instance.get() is not first  # a closed instance is not handed out again
    Instance.get().close()
    other.close()


def test_relative_env_home_is_resolved_against_cwd(clean_env, monkeypatch):
    monkeypatch.setenv(HOME_ENV_VAR, "rel/home")
    with Instance.get() as inst:
        assert inst.home == clean_env / "rel" / "home"


def test_default_home_is_in_the_nearest_project(clean_env, monkeypatch):
    project = clean_env / "proj"
    deep = project / "src" / "pkg"
    deep.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname='x'\n")
    monkeypatch.chdir(deep)
    assert find_project_root() == project
    with Instance.get() as inst:
        assert inst.home == project / ".orchestrator"
        assert inst.storage_dir == project / ".orchestrator" / "storage"
        inst.run_storage.add_run(RunRecord(run_id="r", job_name="j"))
        assert (project / ".orchestrator" / "runs.db").exists()
        assert (project / ".orchestrator" / ".gitignore").read_text() == "*\n"


def test_default_home_with_git_dir_and_without_any_marker(clean_env, monkeypatch):
    repo = clean_env / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    with Instance.get() as inst:
        assert inst.home == repo / ".orchestrator"
    if find_project_root(clean_env) is None:  # tmp dirs normally sit outside any project
        bare = clean_env / "bare"
        bare.mkdir()
        monkeypatch.chdir(bare)
        with Instance.get() as inst:
            assert inst.home == bare / ".orchestrator"


def test_from_home_persists_across_instances(tmp_path):
    with Instance.from_home(tmp_path / "home") as inst:
        assert isinstance(inst.run_storage, SqliteRunStorage)
        inst.run_storage.add_run(RunRecord(run_id="r", job_name="j"))
        inst.run_storage.store_events([
            Event(EventType.RUN_START, "r"),
            Event(EventType.ASSET_MATERIALIZATION, "r", asset_key=AssetKey(["wh", "orders"])),
            Event(EventType.RUN_SUCCESS, "r"),
        ])
    with Instance.from_home(tmp_path / "home") as inst:
        assert inst.get_run("r").status is RunStatus.SUCCESS
        assert [r.run_id for r in inst.get_runs(statuses=[RunStatus.SUCCESS])] == ["r"]
        assert len(inst.get_events("r")) == 3
        assert len(inst.all_events(event_types=[EventType.RUN_START])) == 1
        for key in ("wh/orders", ["wh", "orders"], AssetKey(["wh", "orders"])):
            assert inst.get_latest_materialization(key).run_id == "r"


def test_from_home_rejects_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StorageError, match="is a file, not a directory"):
        Instance.from_home(f)


def test_ephemeral_is_in_memory_and_cleaned_up():
    with Instance.ephemeral() as inst:
        assert inst.is_ephemeral
        assert isinstance(inst.run_storage, InMemoryRunStorage)
        home = inst.home
        assert home.is_dir()
        inst.storage_dir.mkdir()
        (inst.storage_dir / "value.pkl").write_bytes(b"x")
        inst.run_storage.add_run(RunRecord(run_id="r", job_name="j"))
        assert inst.get_run("r") is not None
    assert not home.exists()
    with pytest.raises(StorageError, match="closed"):
        inst.run_storage.get_runs()


def test_config_file_selects_a_storage_class(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "orchestrator.yaml").write_text(textwrap.dedent(f"""
        run_storage:
          module: orchestrator.storage.sqlite
          class: SqliteRunStorage
          config:
            path: {tmp_path / 'elsewhere.db'}
    """))
    with Instance.from_home(home) as inst:
        assert inst.run_storage.path == str(tmp_path / "elsewhere.db")
        inst.run_storage.kv_set("n", "k", 1)
    assert (tmp_path / "elsewhere.db").exists()
    assert not (home / "runs.db").exists()


@pytest.mark.parametrize(
    "yaml_text, match",
    [
        ("run_storge: {}\n", "unknown key.*'run_storge' \\(did you mean 'run_storage'\\?\\)"),
        ("- a\n- b\n", "must be a mapping"),
        ("run_storage: x\n", "expected a mapping with 'module', 'class'"),
        ("run_storage: {module: m}\n", "'module' and 'class' must both be strings"),
        ("run_storage: {module: no_such_module_xyz, class: C}\n",
         "cannot import module 'no_such_module_xyz'"),
        ("run_storage: {module: orchestrator.storage.sqlite, class: Nope}\n",
         "no attribute 'Nope'"),
        ("run_storage: {module: orchestrator.errors, class: StorageError}\n",
         "not a RunStorage subclass"),
        ("run_storage: {module: orchestrator.storage.sqlite, class: SqliteRunStorage, "
         "config: {nope: 1}}\n", "check the keys under 'config'"),
        ("run_storage: {module: a, class: b, extra: 1}\n", "unknown key.*extra"),
        ("run_storage: [unclosed\n", "cannot read instance config"),
    ],
)
def test_bad_config_files_name_the_file_and_the_problem(tmp_path, yaml_text, match):
    home = tmp_path / "home"
    home.mkdir()
    (home / "orchestrator.yaml").write_text(yaml_text)
    inst = Instance.from_home(home)
    with pytest.raises(ConfigError, match=match) as info:
        _ = inst.run_storage
    assert str(home / "orchestrator.yaml") in str(info.value)


def test_empty_config_file_means_defaults(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "orchestrator.yaml").write_text("# nothing yet\n")
    with Instance.from_home(home) as inst:
        assert inst.config == {}
        assert isinstance(inst.run_storage, SqliteRunStorage)


def test_importing_the_instance_module_is_light():
    code = (
        "import sys, orchestrator.instance as i; "
        "heavy = [m for m in ('yaml', 'pydantic', 'orchestrator.storage.sqlite', 'rich', 'click')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.stdout.strip() == "[]"


def test_instance_pickles_by_home_ephemeral_refuses(tmp_path):
    import pickle

    with Instance.from_home(tmp_path / "home") as inst:
        inst.run_storage.add_run(RunRecord(run_id="r", job_name="j"))
        with pickle.loads(pickle.dumps(inst)) as copy:
            assert copy.home == inst.home and copy.get_run("r").job_name == "j"
    with Instance.ephemeral() as eph, pytest.raises(StorageError, match="ephemeral instance"):
        pickle.dumps(eph)


def test_instances_of_homes_no_longer_used_are_released(clean_env, monkeypatch):
    import gc
    import weakref

    monkeypatch.setenv(HOME_ENV_VAR, str(clean_env / "one"))
    first = weakref.ref(Instance.get())
    assert first().run_storage is not None  # open its store
    monkeypatch.setenv(HOME_ENV_VAR, str(clean_env / "two"))
    second = Instance.get()
    gc.collect()
    assert first() is None  # nobody held it: dropped (and its connection with it)
    assert Instance.get() is second  # the current one stays cached
    second.close()
