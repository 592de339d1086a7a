"""Work left running by an orchestrator process that died: found by its recorded handle and
stopped (``terminate_orphaned_launches``), or collected (``reattach_pipes_session``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

from helpers.docker_util import container_exists

FIRST = """
import os, sys, time
from orchestrator.events import RunRecord
from orchestrator.instance import Instance
from orchestrator.launchers import LaunchSpec
from orchestrator.pipes import open_pipes_session
from orchestrator.testing import PipesTestContext
from orchestrator_docker import DockerLauncher

instance = Instance.get()
instance.run_storage.add_run(RunRecord("orphan-run", "job"))
ctx = PipesTestContext("orphaned", run_id="orphan-run", storage=instance.run_storage)
opened = open_pipes_session(ctx)  # kept referenced: dropping it would close the session
session = opened.__enter__()
session.launch(DockerLauncher(), LaunchSpec(["sh", "-c", "echo up; sleep 300"],
               labels={"test": "1"}, options={"image": sys.argv[1], "pull_policy": "never"}))
deadline = time.time() + 60
while "up" not in ctx.logs():
    time.sleep(0.02)
    if time.time() > deadline:
        sys.exit("the container's output never reached the session")
print(session.handle["container_id"], flush=True)
os._exit(0)  # crash: nothing stopped, nothing cleaned up
"""


def test_orphaned_container_is_stopped_and_removed(docker_client, docker_images, tmp_home):
    env = dict(os.environ, ORCHESTRATOR_HOME=str(tmp_home))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(FIRST), docker_images.busybox],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    container_id = proc.stdout.strip()
    assert docker_client.containers.get(container_id).status == "running"

    from orchestrator.instance import Instance
    from orchestrator.pipes import terminate_orphaned_launches

    instance = Instance.get()
    stopped = terminate_orphaned_launches(instance, "orphan-run", grace_period=1)
    assert [h["container_id"] for h in stopped] == [container_id]
    assert not container_exists(docker_client, container_id)
    events = instance.run_storage.get_events("orphan-run")
    assert any("stopped external work" in e.message for e in events)
    # a second call finds nothing left to stop
    assert terminate_orphaned_launches(instance, "orphan-run", grace_period=1) == []
    # what the crashed process left on disk (its session directory) is the test's to remove
    for e in events:
        if e.event_type.value == "EXTERNAL_LAUNCHED":
            shutil.rmtree(e.data["session"]["session_dir"], ignore_errors=True)
