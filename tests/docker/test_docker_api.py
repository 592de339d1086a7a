"""Public names of the Docker backend and of orchestrator.testing; a forked process does not
reuse its parent's connections."""

from __future__ import annotations

import os

import orchestrator_docker

import orchestrator.testing


def test_public_names_sorted_and_resolvable():
    for module in (orchestrator_docker, orchestrator.testing):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_forked_child_opens_its_own_connection(docker_client, docker_images):
    from orchestrator_docker import DockerLauncher

    from orchestrator.launchers import LaunchSpec

    launcher = DockerLauncher()
    parent_api = launcher._api()
    pid = os.fork()
    if pid == 0:  # child: must not talk over the parent's socket
        code = 1
        try:
            child_api = launcher._api()
            launched = launcher.launch(LaunchSpec(["true"], labels={"test": "1"}, options={
                "image": docker_images.busybox, "pull_policy": "never"}),
                on_handle=lambda _l: None)
            ok = launcher.wait(launched.handle, 60).succeeded and child_api is not parent_api
            launcher.cleanup(launched.handle)
            code = 0 if ok else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert launcher._api() is parent_api  # the parent keeps its own
