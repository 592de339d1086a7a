"""Assets computed in Docker containers: an existing script, a protocol-aware one and a
shell script in an image without Python.

Run them (from the repository root; needs a Docker engine)::

    orchestrator materialize -f examples/containers/definitions.py --select '*'

Images: ``CONTAINERS_PYTHON_IMAGE`` (default ``python:3.11-slim``) and
``CONTAINERS_SHELL_IMAGE`` (default ``busybox:1.36``); they are pulled when missing
(``CONTAINERS_PULL_POLICY``: ``if_missing``, ``always`` or ``never``). The scripts in
``app/`` are mounted read-only at ``/app``. See docs/backends/docker.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator_docker import PipesDockerClient

from orchestrator import AssetCheckSpec, Definitions, asset

APP = str(Path(__file__).resolve().parent / "app")
PYTHON_IMAGE = os.environ.get("CONTAINERS_PYTHON_IMAGE", "python:3.11-slim")
SHELL_IMAGE = os.environ.get("CONTAINERS_SHELL_IMAGE", "busybox:1.36")
MOUNT_APP = {APP: {"bind": "/app", "mode": "ro"}}


@asset(group_name="containers", description="An existing script, run as it is.")
def legacy_report(context, docker: PipesDockerClient):
    # protocol_aware=False: the script does not speak the protocol; its exit code decides
    return docker.run(
        context=context, image=PYTHON_IMAGE, volumes=MOUNT_APP,
        command=["python3", "/app/legacy_report.py", "/app/orders.csv"],
        protocol_aware=False,
    ).get_results()


@asset(group_name="containers", deps=[legacy_report],
       check_specs=[AssetCheckSpec("has_orders", asset="order_scores")],
       description="Scores computed by a script that reports through pipes_client.")
def order_scores(context, docker: PipesDockerClient):
    return docker.run(
        context=context, image=PYTHON_IMAGE, volumes=MOUNT_APP,
        command=["python3", "/app/score_orders.py"],
        extras={"big_order_threshold": 100},
    ).get_results()


@asset(group_name="containers", description="A shell script in an image without Python.")
def order_lines(context, docker: PipesDockerClient):
    return docker.run(context=context, image=SHELL_IMAGE, volumes=MOUNT_APP,
                      command=["sh", "/app/count_lines.sh"]).get_results()


defs = Definitions(
    assets=[legacy_report, order_scores, order_lines],
    resources={"docker": PipesDockerClient(
        pull_policy=os.environ.get("CONTAINERS_PULL_POLICY", "if_missing"))},
)
