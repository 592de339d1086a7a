"""A minimal pipes host for client tests (no orchestrator): writes the context to a temp file,
builds the bootstrap with the protocol codec, launches a real subprocess and parses every
message line it wrote with the host-side ``parse_message``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipes_protocol import (
    CONTEXT_KEYS,
    bootstrap_cli_args,
    bootstrap_env_vars,
    parse_message,
    plain_env_vars,
)

REPO = Path(__file__).resolve().parents[2]


def make_context(**overrides: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {key: None for key in CONTEXT_KEYS}
    ctx.update(run_id="run-123", job_name="job_x", retry_number=0, extras={"greeting": "hi"},
               asset_keys=["orders"], code_version_by_asset_key={"orders": "v7"},
               provenance_by_asset_key={"orders": None})
    ctx.update(overrides)
    return ctx


class MiniHost:
    """One session: ``host.run([...])`` then ``host.messages()``."""

    def __init__(self, tmp: Path, context: dict[str, Any] | None = None, *,
                 channel: str = "file", carrier: str = "env") -> None:
        self.tmp = Path(tmp)
        self.context = context if context is not None else make_context()
        self.context_path = self.tmp / "context.json"
        self.context_path.write_text(json.dumps(self.context))
        self.messages_path = self.tmp / "messages.jsonl"
        self.messages_path.write_text("")
        self.channel = channel
        self.carrier = carrier
        if channel == "file":
            self.message_params: dict[str, Any] = {"path": str(self.messages_path),
                                                   "include_stdio_in_messages": False}
        else:
            self.message_params = {channel: "stdout"}  # "stdio" or "buffered_stdio"
        self.context_params: dict[str, Any] = {"path": str(self.context_path)}
        self.proc: subprocess.CompletedProcess[str] | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DAGSTER_PIPES_", "PIPES_"))}
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        if self.carrier == "env":
            env.update(bootstrap_env_vars(self.context_params, self.message_params))
        env.update(plain_env_vars(self.context, self.message_params))
        env.update(extra)
        return env

    def argv_extra(self) -> list[str]:
        if self.carrier == "argv":
            return bootstrap_cli_args(self.context_params, self.message_params)
        return []

    def popen(self, argv: list[str], **kw: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(argv + self.argv_extra(), env=kw.pop("env", None) or self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=str(self.tmp), **kw)

    def run(self, argv: list[str], *, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        self.proc = subprocess.run(argv + self.argv_extra(), env=env or self.env(),
                                   capture_output=True, text=True, timeout=timeout,
                                   cwd=str(self.tmp))
        return self.proc

    def python(self, code: str, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        script = self.tmp / "script.py"
        script.write_text(code)
        return self.run([sys.executable, str(script), *args], **kw)

    def raw_lines(self) -> list[str]:
        if self.channel == "file":
            text = self.messages_path.read_text()
        else:
            assert self.proc is not None
            text = self.proc.stdout
        return [ln for ln in text.splitlines() if ln.strip()]

    def messages(self) -> list[dict[str, Any]]:
        """Every message, parsed strictly by the host codec (stdio: non-message lines skipped)."""
        out = []
        for line in self.raw_lines():
            if self.channel != "file" and "__dagster_pipes_version" not in line:
                continue
            msg = parse_message(line)
            assert msg["warnings"] == [], (line, msg["warnings"])
            out.append(msg)
        return out

    def methods(self) -> list[str]:
        return [m["method"] for m in self.messages()]
