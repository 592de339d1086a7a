"""Executes every titled code block of docs/backends/docker.md, in one namespace, on the real
engine. The public image names of the page are replaced by the local test images (no
registry is reachable here)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "backends" / "docker.md"
BLOCK = re.compile(r'^```python title="([^"]+)"\n(.*?)^```\s*$', re.MULTILINE | re.DOTALL)


def test_docker_page_blocks_run(docker_images, docker_client, tmp_home):
    text = PAGE.read_text()
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 5
    namespace: dict = {}
    for title, code in blocks:
        code = code.replace('"python:3.11-slim"', repr(docker_images.python))
        code = code.replace('"busybox:1.36"', repr(docker_images.busybox))
        try:
            compiled = compile(code, f"{PAGE.name}: {title}", "exec")
            exec(compiled, namespace)  # noqa: S102 - running the page's code is the test
        except Exception as exc:
            raise AssertionError(f"block {title!r} of {PAGE} failed: {exc!r}") from exc
    for asset_name in ("orders", "legacy_export", "counted"):  # every container was removed
        assert docker_client.containers.list(
            all=True, filters={"label": f"orchestrator.asset={asset_name}"}) == []


def test_docker_page_links_to_the_example():
    text = PAGE.read_text()
    assert "examples/containers/" in text
    assert (REPO / "examples" / "containers" / "definitions.py").exists()
