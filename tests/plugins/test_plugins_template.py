"""examples/plugin-template: installed for real with pip, then used through the CLI."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from plugin_helpers import subprocess_env

TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "plugin-template"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(target dir the plugin is pip-installed into, copy of the template sources)."""
    base = tmp_path_factory.mktemp("template")
    source = base / "src"
    # build from a copy: building in place would leave build/ and *.egg-info in the repo
    shutil.copytree(TEMPLATE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = base / "target"
    result = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
            "--no-build-isolation", "--no-input", "--disable-pip-version-check",
            "--target", str(target), str(source),
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(target.glob("orchestrator_notify-0.1.0.dist-info"))
    return target, source


def run(args, env, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )


def test_installed_template_is_listed(installed, tmp_path) -> None:
    target, _ = installed
    env = subprocess_env(target, COLUMNS="200")
    result = run([sys.executable, "-m", "orchestrator", "plugins", "list", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    [plugin] = [p for p in json.loads(result.stdout)["plugins"] if p["name"] == "notify"]
    assert plugin["distribution"] == "orchestrator-notify"
    assert plugin["version"] == "0.1.0"
    assert plugin["api_version"] == [1]
    assert plugin["registers"] == {"io_manager": ["notify-json"], "command": ["notify"],
                                   "launcher": ["detached"]}
    assert plugin["hooks"] == ["on_run_end", "register_commands", "register_io_managers",
                               "register_launchers"]

    result = run([shutil.which("orchestrator") or "orchestrator", "plugins", "list"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "notify" in result.stdout and "orchestrator-notify 0.1.0" in result.stdout


def test_readme_commands_run_as_shown(installed, tmp_path) -> None:
    target, _ = installed
    readme = (TEMPLATE / "README.md").read_text()
    console = re.search(r"## Try it\n\n```console\n(.*?)```", readme, re.DOTALL)
    assert console, "README.md lost its 'Try it' console block"
    env = subprocess_env(target, ORCHESTRATOR_PLUGINS="notify")
    commands: list[tuple[str, list[str]]] = []
    for line in console.group(1).splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            commands[-1][1].append(line)
    ran = 0
    for command, expected in commands:
        if command.startswith("pip install"):
            continue  # done by the fixture, into a temporary target
        result = run(shlex.split(command), env, tmp_path)
        assert result.returncode == 0, f"{command}: {result.stderr}"
        for line in expected:
            assert line in result.stdout.splitlines(), f"{command}: {result.stdout!r}"
        ran += 1
    assert ran == 3
    assert (tmp_path / "notifications.log").read_text() == "deploy done\n"


def test_installed_plugin_hears_run_end(installed, tmp_path) -> None:
    target, _ = installed
    log = tmp_path / "n.log"
    code = textwrap.dedent(
        """
        from orchestrator.events import RunRecord, RunStatus
        from orchestrator.plugins import lifecycle
        lifecycle.on_run_end(RunRecord(run_id="r9", job_name="etl"), None,
                               RunStatus.FAILURE, {"type": "KeyError", "message": "id"})
        """
    )
    env = subprocess_env(target, ORCHESTRATOR_PLUGINS="orchestrator-notify",
                         ORCHESTRATOR_NOTIFY_FILE=str(log))
    result = run([sys.executable, "-c", code], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert log.read_text() == "r9 etl FAILURE: KeyError: id\n"


def test_template_own_tests_pass(installed) -> None:
    target, source = installed
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        subprocess_env(target),
        source,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "29 passed" in result.stdout  # 5 notify tests + 24 of the detached launcher
