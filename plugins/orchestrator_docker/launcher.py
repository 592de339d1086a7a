"""The Docker launcher: runs a step's external process as a container on a Docker engine.

How it keeps the launcher contract (:mod:`orchestrator.launchers.base`):

- **Handle before work.** The container is *created* (not started), the handle (container
  id and name) is handed to ``on_handle`` (the session stores it in the run store), and only
  then is the container started. If ``on_handle`` raises, the container is removed unstarted.
- **Labels.** Every container carries ``orchestrator.managed=true``,
  ``orchestrator.run_id``, ``orchestrator.step_key``, ``orchestrator.asset`` and
  ``orchestrator.launcher=docker``; ``orchestrator docker cleanup`` finds leftovers by them.
- **Logs.** stdout and stderr are each followed by a thread into a local file (see
  :mod:`orchestrator_docker._logs`): nothing is lost between start and attach (Docker keeps
  output from the start), at the end (a final look-back after the container stopped), or
  over a broken connection (reconnect with ``since`` and de-duplicate by timestamp).
  ``read_logs`` reads those files by byte offset, so a reattached session resumes exactly.
- **Pipes.** The bootstrap variables travel in the container's environment. For the file
  message channel and the temp-file context injector, the directories holding the message
  file and the context file are bind-mounted at the *same path* inside the container, so the
  paths in the bootstrap params are valid there too. The Python client (``pipes_client``
  and ``pipes_protocol``, stdlib-only) is mounted read-only under ``/opt/orchestrator/lib``,
  which is put first on ``PYTHONPATH``: a script in any image with Python 3.9+ can
  ``from pipes_client import open_pipes`` with nothing installed. The POSIX shell client is
  at ``/opt/orchestrator/lib/pipes_client/sh/pipes.sh`` (also in ``$PIPES_SH``).
- **Status.** Exit code from the container's state; ``State.OOMKilled`` gives the stop
  reason ``"OOMKilled (memory limit ...)"``.
- **Cancel.** The stop signal (SIGTERM), then SIGKILL after the grace period. Containers
  run with ``init`` (Docker's tiny init as PID 1) by default, so SIGTERM reaches the program.
- **Clean up.** The container is removed (``keep_on_failure=True`` keeps a failed one for
  debugging; the cleanup command removes it later), with the launch's log files.

Per-launch settings go in ``LaunchSpec.options``::

    from orchestrator.launchers import LaunchSpec
    from orchestrator_docker import DockerLauncher

    launcher = DockerLauncher()
    spec = LaunchSpec(["python3", "-c", "print('hi')"],
                      options={"image": "python:3.11-slim", "mem_limit": "256m"})
    launched = launcher.launch(spec, on_handle=lambda launched: None)
    status = launcher.wait(launched.handle)
    print(launcher.read_logs(launched.handle, None, final=True).lines)
    launcher.cleanup(launched.handle)

Options: ``image`` (required), ``pull_policy`` (``"never"``, ``"if_missing"`` (default),
``"always"``), ``registry`` (``{"url", "username", "password"}`` credentials for pulls),
``volumes`` (``{"/host/path": "/container/path"}``, a ``{"bind", "mode"}`` dict as value, or
``"host:container[:ro]"`` strings), ``working_dir``, ``user``, ``network``, ``mem_limit``
(``"256m"`` or bytes), ``cpus`` (float), ``init`` (default ``True``), ``entrypoint``,
``name``, ``keep_on_failure`` (default ``False``), ``mount_pipes_client`` (default
``True``), ``container_kwargs`` (passed to ``create_container``'s host config as is).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from orchestrator.errors import LauncherError
from orchestrator.launchers._files import FileTail, read_tail_lines
from orchestrator.launchers.base import (
    Handle,
    Launched,
    Launcher,
    LaunchSpec,
    LaunchStatus,
    LogBatch,
)

from ._logs import StreamFollower, strip_prefix

__all__ = ["CLIENT_LIB_DIR", "LABEL_PREFIX", "PULL_POLICIES", "DockerLauncher"]

_log = logging.getLogger("orchestrator.docker")

#: Where the Python client is mounted inside containers (put first on ``PYTHONPATH``).
CLIENT_LIB_DIR = "/opt/orchestrator/lib"
#: Prefix of the labels put on every container.
LABEL_PREFIX = "orchestrator."
PULL_POLICIES = ("never", "if_missing", "always")
_KNOWN_OPTIONS = {
    "image", "pull_policy", "registry", "volumes", "working_dir", "user", "network",
    "mem_limit", "cpus", "init", "entrypoint", "name", "keep_on_failure",
    "mount_pipes_client", "container_kwargs", "docker_host",
}
_STREAMS = ("stdout", "stderr")


def _package_dir(name: str) -> str | None:
    """Directory of the installed package *name* (``pipes_client``, ``pipes_protocol``).

    They are installed next to ``orchestrator`` (site-packages, or the repository root for
    an editable install), which is looked at first: a same-named folder on ``sys.path``
    (``tests/pipes_client``) would otherwise pass for the package."""
    import orchestrator

    beside = os.path.join(os.path.dirname(os.path.dirname(orchestrator.__file__)), name)
    if os.path.isfile(os.path.join(beside, "__init__.py")):
        return beside
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    file = getattr(module, "__file__", None)
    return os.path.dirname(file) if file else None


def _label_value(value: Any) -> str:
    return str(value if value is not None else "")[:1000]


def _container_name(labels: Mapping[str, str]) -> str:
    parts = ["orch", (labels.get("run_id") or "")[:8], labels.get("step_key") or "step",
             secrets.token_hex(3)]
    name = "-".join(p for p in parts if p)
    return re.sub(r"[^a-zA-Z0-9_.-]+", "_", name)[:120]


class DockerLauncher(Launcher):
    """Runs each launch as a Docker container (see the module docstring).

    ``DockerLauncher(base_url=None, timeout=60)``: ``base_url`` is the engine address
    (default: ``DOCKER_HOST`` or the local socket, like the ``docker`` CLI). One instance
    serves many launches; a fresh instance in another process can :meth:`reattach`.
    """

    name: ClassVar[str] = "docker"

    def __init__(self, base_url: str | None = None, *, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._clients: dict[str | None, Any] = {}
        self._followers: dict[str, dict[str, StreamFollower]] = {}
        self._tails: dict[tuple[str, str], FileTail] = {}
        self._lock = threading.Lock()
        #: the last lines of recently cleaned-up launches, for failure reports
        self._recent: OrderedDict[str, dict[str, list[str]]] = OrderedDict()
        self._pid = os.getpid()

    # -- the engine ------------------------------------------------------------------------
    def _api(self, base_url: str | None = None) -> Any:
        """The low-level ``docker.APIClient`` for *base_url* (created and pinged once)."""
        base_url = base_url if base_url is not None else self.base_url
        if self._pid != os.getpid():  # a forked child: the parent's sockets are not ours
            self._clients, self._followers, self._tails = {}, {}, {}
            self._pid = os.getpid()
        client = self._clients.get(base_url)
        if client is not None:
            return client.api
        try:
            import docker
        except ImportError as exc:
            raise LauncherError("docker launcher: the docker SDK is not installed; "
                                "pip install 'orchestrator[docker]'") from exc
        where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        try:
            if base_url is None:
                client = docker.from_env(timeout=int(self.timeout), max_pool_size=64)
            else:
                client = docker.DockerClient(base_url=base_url, timeout=int(self.timeout),
                                             max_pool_size=64)
            client.api.ping()
        except Exception as exc:  # noqa: BLE001 - every way of not answering
            raise LauncherError(
                f"docker launcher: cannot reach the Docker daemon at {where} "
                f"({type(exc).__name__}: {str(exc)[:300]}); start it (`systemctl start docker`"
                f" or `dockerd &`), or point DOCKER_HOST (or DockerLauncher(base_url=...)) at "
                f"a running engine; `docker info` must answer") from None
        self._clients[base_url] = client
        return client.api

    # -- images ------------------------------------------------------------------------------
    def _ensure_image(self, api: Any, image: str, policy: str,
                      registry: Mapping[str, Any] | None) -> None:
        from docker.errors import ImageNotFound, NotFound

        if policy not in PULL_POLICIES:
            raise LauncherError(f"docker launcher: pull_policy={policy!r} is not one of "
                                f"{', '.join(PULL_POLICIES)}; fix the option")
        present = True
        if policy != "always":
            try:
                api.inspect_image(image)
            except (ImageNotFound, NotFound):
                present = False
        if present and policy != "always":
            return
        if policy == "never":
            raise LauncherError(
                f"docker launcher: image {image!r} is not on the Docker engine and "
                f"pull_policy='never'; build or load it first (`docker build -t {image} .`, "
                f"`docker load`), check the name and tag (`docker images`), or set "
                f"pull_policy='if_missing' to pull it")
        self._pull(api, image, registry)

    def _pull(self, api: Any, image: str, registry: Mapping[str, Any] | None) -> None:
        repo, tag = image, None
        last = image.rsplit("/", 1)[-1]
        if "@" not in image and ":" in last:
            repo, tag = image.rsplit(":", 1)
        auth = None
        if registry:
            auth = {k: registry[k] for k in ("username", "password", "email", "serveraddress",
                                             "identitytoken", "registrytoken")
                    if registry.get(k) is not None}
            if registry.get("url") and "serveraddress" not in auth:
                auth["serveraddress"] = registry["url"]
        try:
            for _ in api.pull(repo, tag=tag or "latest", stream=True, decode=True,
                              auth_config=auth):
                if isinstance(_, dict) and _.get("error"):
                    raise RuntimeError(_.get("error"))
        except Exception as exc:  # noqa: BLE001 - report every pull failure the same way
            who = f" as {auth['username']!r}" if auth and auth.get("username") else \
                " (no credentials given)"
            raise LauncherError(
                f"docker launcher: could not pull image {image!r}{who}: "
                f"{type(exc).__name__}: {str(exc)[:400]}; check the image name and tag, that "
                f"the registry is reachable from the Docker engine, and the credentials "
                f"(options['registry'] = {{'url', 'username', 'password'}}); or build the "
                f"image locally and use pull_policy='never'") from None

    # -- mounts -----------------------------------------------------------------------------
    @staticmethod
    def _user_binds(volumes: Any) -> dict[str, dict[str, str]]:
        if volumes is None:
            return {}
        items: list[tuple[str, str, str]] = []
        if isinstance(volumes, Mapping):
            for host, target in volumes.items():
                if isinstance(target, Mapping):
                    items.append((str(host), str(target.get("bind", "")),
                                  str(target.get("mode", "rw"))))
                else:
                    items.append((str(host), str(target), "rw"))
        elif isinstance(volumes, (list, tuple)):
            for entry in volumes:
                parts = str(entry).split(":")
                if len(parts) not in (2, 3):
                    raise LauncherError(
                        f"docker launcher: volume {entry!r} is not 'host:container[:ro|rw]'; "
                        f"fix options['volumes']")
                items.append((parts[0], parts[1], parts[2] if len(parts) == 3 else "rw"))
        else:
            raise LauncherError(f"docker launcher: options['volumes'] must be a mapping "
                                f"{{host_path: container_path}} or a list of "
                                f"'host:container[:ro]' strings, got {volumes!r:.200}")
        binds: dict[str, dict[str, str]] = {}
        for host, target, mode in items:
            if not os.path.isabs(host):
                raise LauncherError(
                    f"docker launcher: volume host path {host!r} (-> {target!r}) is not "
                    f"absolute; give an absolute path (named volumes are not supported here)")
            if not os.path.exists(host):
                raise LauncherError(
                    f"docker launcher: volume host path {host!r} (-> {target!r}) does not "
                    f"exist; create it or fix options['volumes']")
            if not target.startswith("/"):
                raise LauncherError(
                    f"docker launcher: volume target {target!r} (from {host!r}) must be an "
                    f"absolute path inside the container")
            if mode not in ("ro", "rw"):
                raise LauncherError(f"docker launcher: volume mode {mode!r} of {host!r} must "
                                    f"be 'ro' or 'rw'")
            binds[host] = {"bind": target, "mode": mode}
        return binds

    @staticmethod
    def _pipes_dirs(spec: LaunchSpec) -> list[str]:
        """Host directories the bootstrap params point into (mounted at the same path)."""
        dirs: list[str] = []
        for params in (spec.bootstrap.get("context"), spec.bootstrap.get("messages")):
            if not isinstance(params, Mapping):
                continue
            path = params.get("path") or params.get("url")
            if isinstance(path, str) and os.path.isabs(path):
                d = os.path.dirname(path)
                if d not in dirs:
                    dirs.append(d)
        return dirs

    # -- launch ----------------------------------------------------------------------------
    def launch(self, spec: LaunchSpec, *, on_handle: Callable[[Launched], None]) -> Launched:
        from docker.errors import APIError

        opts = dict(spec.options)
        unknown = sorted(set(opts) - _KNOWN_OPTIONS)
        if unknown:
            raise LauncherError(f"docker launcher: unknown option(s) {unknown}; known: "
                                f"{sorted(_KNOWN_OPTIONS)}")
        image = opts.get("image")
        if not isinstance(image, str) or not image:
            raise LauncherError("docker launcher: no image; pass options={'image': "
                                "'python:3.11-slim', ...} (PipesDockerClient.run(image=...))")
        command = [str(c) for c in spec.command] if spec.command else None
        base_url = opts.get("docker_host", self.base_url)
        api = self._api(base_url)
        self._ensure_image(api, image, str(opts.get("pull_policy", "if_missing")),
                           opts.get("registry"))
        binds = self._user_binds(opts.get("volumes"))
        env = {str(k): str(v) for k, v in spec.env.items()}
        user = opts.get("user")
        for d in self._pipes_dirs(spec):
            binds.setdefault(d, {"bind": d, "mode": "rw"})
            if user not in (None, "", "root", "0", "0:0"):
                _open_up(d)
        if opts.get("mount_pipes_client", True):
            for pkg in ("pipes_client", "pipes_protocol"):
                src = _package_dir(pkg)
                if src is not None:
                    binds.setdefault(src, {"bind": f"{CLIENT_LIB_DIR}/{pkg}", "mode": "ro"})
            old = env.get("PYTHONPATH")
            env["PYTHONPATH"] = CLIENT_LIB_DIR + (f":{old}" if old else "")
            env.setdefault("PIPES_SH", f"{CLIENT_LIB_DIR}/pipes_client/sh/pipes.sh")
        labels = {f"{LABEL_PREFIX}managed": "true", f"{LABEL_PREFIX}launcher": self.name,
                  f"{LABEL_PREFIX}host": socket.gethostname()}
        for key in ("run_id", "step_key", "asset"):
            labels[f"{LABEL_PREFIX}{key}"] = _label_value(spec.labels.get(key))
        for key, value in spec.labels.items():
            labels.setdefault(f"{LABEL_PREFIX}{key}", _label_value(value))
        host_kwargs: dict[str, Any] = {"binds": binds, "init": bool(opts.get("init", True))}
        if opts.get("network"):
            host_kwargs["network_mode"] = str(opts["network"])
        if opts.get("mem_limit") is not None:
            host_kwargs["mem_limit"] = opts["mem_limit"]
            host_kwargs["memswap_limit"] = opts["mem_limit"]  # no swap: OOM is an OOM kill
        if opts.get("cpus") is not None:
            try:
                host_kwargs["nano_cpus"] = int(float(opts["cpus"]) * 1e9)
            except (TypeError, ValueError):
                raise LauncherError(f"docker launcher: cpus={opts['cpus']!r} must be a number "
                                    f"(e.g. 0.5)") from None
        host_kwargs.update(dict(opts.get("container_kwargs") or {}))
        name = str(opts.get("name") or _container_name(spec.labels))
        owns = spec.workdir is None
        workdir = spec.workdir or tempfile.mkdtemp(prefix="orch-docker-")
        os.makedirs(workdir, exist_ok=True)
        try:
            host_config = api.create_host_config(**host_kwargs)
            created = api.create_container(
                image, command=command, environment=env, labels=labels, name=name,
                working_dir=opts.get("working_dir") or spec.cwd, user=user,
                entrypoint=opts.get("entrypoint"), host_config=host_config, detach=True,
                stdin_open=False, tty=False)
        except Exception as exc:  # noqa: BLE001
            if owns:
                shutil.rmtree(workdir, ignore_errors=True)
            raise self._create_error(image, binds, exc) from None
        cid = created["Id"]
        handle: Handle = {
            "launcher": self.name, "container_name": name, "container_id": cid, "image": image,
            "docker_host": base_url, "host": socket.gethostname(), "workdir": workdir,
            "owns_workdir": owns, "keep_on_failure": bool(opts.get("keep_on_failure", False)),
            "stdout": os.path.join(workdir, "docker-stdout.log"),
            "stderr": os.path.join(workdir, "docker-stderr.log"),
            "mem_limit": opts.get("mem_limit"),
        }
        launched = Launched(handle=handle, **self.describe(handle))
        try:
            on_handle(launched)
        except BaseException:
            self._remove(api, cid)
            self.cleanup(handle)
            raise
        try:
            api.start(cid)
        except APIError as exc:
            self._remove(api, cid)
            self.cleanup(handle)
            text = str(exc.explanation or exc)
            if "network" in text and "not found" in text:
                hint = ("create the network first (`docker network create NAME`) or fix "
                        "options['network']")
            else:
                hint = ("check that the command exists in the image (or set entrypoint), and "
                        "the user, network and limits")
            raise LauncherError(
                f"docker launcher: container {name} (image {image!r}, command {command!r:.200})"
                f" could not start: {text[:400]}; {hint}") from None
        self._ensure_followers(handle)
        return launched

    def _create_error(self, image: str, binds: Mapping[str, Any], exc: Exception) -> LauncherError:
        text = str(getattr(exc, "explanation", None) or exc)
        hint = "check the options (volumes, user, network, limits)"
        if isinstance(exc, TypeError):
            hint = ("a container_kwargs key is not a Docker host-config setting; see "
                    "docker.api.APIClient.create_host_config for the accepted names")
        elif "bind source path does not exist" in text or "invalid mount" in text:
            hint = (f"a volume's host path does not exist on the Docker host; fix "
                    f"options['volumes'] (mounts: {list(binds)})")
        elif "network" in text and "not found" in text:
            hint = ("create the network first (`docker network create NAME`) "
                    "or fix options['network']")
        elif "No such image" in text:
            hint = "build or load the image, or set pull_policy='if_missing'"
        return LauncherError(f"docker launcher: cannot create a container of image {image!r}: "
                             f"{text[:400]}; {hint}")

    def describe(self, handle: Handle) -> dict[str, str | None]:
        return {"console_url": None,
                "log_locator": f"docker logs {handle['container_name']} "
                               f"(copy: file://{handle['stdout']} file://{handle['stderr']})"}

    # -- logs --------------------------------------------------------------------------------
    def _ensure_followers(self, handle: Handle) -> dict[str, StreamFollower]:
        cid = handle["container_id"]
        with self._lock:
            followers = self._followers.get(cid)
            if followers is None:
                api = self._api(handle.get("docker_host"))
                os.makedirs(os.path.dirname(handle["stdout"]), exist_ok=True)
                followers = {s: StreamFollower(api, cid, s, handle[s]) for s in _STREAMS}
                self._followers[cid] = followers
                for f in followers.values():
                    f.start()
        return followers

    def read_logs(self, handle: Handle, cursor: Any, *, final: bool = False) -> LogBatch:
        cid = handle["container_id"]
        followers = self._ensure_followers(handle)
        if final and not all(f.done.is_set() for f in followers.values()):
            # never block on running work; once it stopped, the followers finish promptly
            if self._status(handle).state != "running":
                for f in followers.values():
                    f.done.wait(30.0)
            final = all(f.done.is_set() for f in followers.values())
        cursor = dict(cursor or {})
        lines: list[tuple[str, str]] = []
        for stream in _STREAMS:
            tail = self._tails.get((cid, stream))
            if tail is None:
                tail = self._tails[(cid, stream)] = FileTail(handle[stream])
            tail.offset = int(cursor.get(stream, tail.offset if cursor else 0))
            got, cursor[stream] = tail.read(final)
            if got:
                lines.extend((stream, strip_prefix(ln)) for ln in got)
        return LogBatch(lines, cursor)

    def tail(self, handle: Handle, lines: int = 20, stream: str | None = None) -> list[str]:
        cid = handle["container_id"]
        streams = [stream] if stream else list(_STREAMS)
        out: list[str] = []
        for s in streams:
            got = [strip_prefix(ln) for ln in read_tail_lines(handle[s], lines)]
            if not got:
                f = self._followers.get(cid, {}).get(s)
                got = list(f.recent)[-lines:] if f is not None else \
                    self._recent.get(cid, {}).get(s, [])[-lines:]
            out.extend(got)
        return out[-lines:]

    # -- status ----------------------------------------------------------------------------
    def _status(self, handle: Handle) -> LaunchStatus:
        from docker.errors import NotFound

        api = self._api(handle.get("docker_host"))
        try:
            state = api.inspect_container(handle["container_id"])["State"]
        except NotFound:
            return LaunchStatus("unknown", None,
                                f"container {handle.get('container_name')} no longer exists")
        status = state.get("Status")
        if state.get("Running") or state.get("Restarting") or state.get("Paused"):
            return LaunchStatus("running")
        if status == "created":
            return LaunchStatus("exited", None, "the container was created but never started")
        code = state.get("ExitCode")
        if state.get("OOMKilled"):
            limit = handle.get("mem_limit")
            return LaunchStatus("exited", code, "OOMKilled" + (
                f" (memory limit {limit}); raise mem_limit or use less memory" if limit else
                " (out of memory)"))
        if code == 0:
            return LaunchStatus("exited", 0)
        reason = f"exit code {code}"
        if code in (126, 127):
            reason += (" (the command was not found or is not executable in the image; check "
                       "the command, the image's PATH and entrypoint)")
        elif code is not None and code > 128:
            try:
                import signal

                reason += f" (killed by {signal.Signals(code - 128).name})"
            except ValueError:
                pass
        if state.get("Error"):
            reason += f": {state['Error']}"
        return LaunchStatus("exited", code, reason)

    def poll(self, handle: Handle) -> LaunchStatus:
        return self._status(handle)

    def wait(self, handle: Handle, timeout: float | None = None) -> LaunchStatus:
        """Waits for both log followers to finish (they end once the container stopped and
        its output is complete), in short slices so an interrupt is seen promptly."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            followers = self._ensure_followers(handle)
            pending = [f for f in followers.values() if not f.done.is_set()]
            if not pending:
                status = self._status(handle)
                if status.state != "running":
                    return status
                # the streams ended although the container runs (daemon restart): follow again
                with self._lock:
                    if self._followers.get(handle["container_id"]) is followers:
                        del self._followers[handle["container_id"]]
                time.sleep(0.05)
                continue
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return self._status(handle)
                pending[0].done.wait(min(0.1, left))
            else:
                pending[0].done.wait(0.1)

    # -- cancel / cleanup ----------------------------------------------------------------
    def cancel(self, handle: Handle, grace_period: float = 10.0) -> LaunchStatus:
        from docker.errors import APIError, NotFound

        api = self._api(handle.get("docker_host"))
        cid = handle["container_id"]
        status = self._status(handle)
        if status.state != "running":
            return status
        try:
            stop_signal = (api.inspect_container(cid).get("Config") or {}).get("StopSignal")
            api.kill(cid, signal=stop_signal or "SIGTERM")
        except NotFound:
            return self._status(handle)
        except APIError:
            pass  # not running any more
        status = self._wait_stopped(handle, grace_period)
        if status.state == "running":
            try:
                api.kill(cid, signal="SIGKILL")
            except (NotFound, APIError):
                pass
            status = self._wait_stopped(handle, 30.0)
        return status

    def _wait_stopped(self, handle: Handle, timeout: float) -> LaunchStatus:
        """Poll the container's state until it stopped (no log followers needed)."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            status = self._status(handle)
            if status.state != "running" or time.monotonic() >= deadline:
                return status
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.1)

    @staticmethod
    def _remove(api: Any, cid: str) -> None:
        from docker.errors import NotFound

        try:
            api.remove_container(cid, force=True, v=True)
        except NotFound:
            pass
        except Exception as exc:
            if "already in progress" not in str(exc):
                raise

    def cleanup(self, handle: Handle) -> None:
        cid = handle["container_id"]
        api = self._api(handle.get("docker_host"))
        keep = False
        if handle.get("keep_on_failure"):
            status = self._status(handle)
            keep = status.state == "exited" and not status.succeeded
        with self._lock:
            followers = self._followers.pop(cid, None)
        if followers is not None:
            if not keep:
                for f in followers.values():
                    if not f.done.is_set():
                        f.stop()
            for f in followers.values():
                f.join(5.0)
            self._recent[cid] = {s: list(f.recent) for s, f in followers.items()}
            while len(self._recent) > 32:
                self._recent.popitem(last=False)
        for s in _STREAMS:
            tail = self._tails.pop((cid, s), None)
            if tail is not None:
                tail.close()
        if keep:
            _log.warning("keeping failed container %s (keep_on_failure=True); remove it with "
                         "`docker rm %s` or `orchestrator docker cleanup`",
                         handle.get("container_name"), handle.get("container_name"))
        else:
            self._remove(api, cid)
        if handle.get("owns_workdir"):
            shutil.rmtree(handle["workdir"], ignore_errors=True)

    def reattach(self, handle: Handle) -> LaunchStatus:
        if not isinstance(handle, dict) or handle.get("launcher") != self.name or \
                "container_id" not in handle:
            raise LauncherError(
                f"docker launcher cannot reattach to {handle!r:.200}: not a docker handle "
                f"(needs launcher='docker' and container_id); use the launcher named in it")
        return self._status(handle)  # logs are followed again on the first read or wait


def _open_up(directory: str) -> None:
    """Let a non-root container user write the session's files (private temp dirs)."""
    try:
        os.chmod(directory, 0o777)
        for entry in os.scandir(directory):
            os.chmod(entry.path, 0o777 if entry.is_dir() else 0o666)
    except OSError:
        pass
