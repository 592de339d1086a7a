"""Resources: definitions, @resource, ConfigurableResource, build_resources life cycle."""

from __future__ import annotations

import contextlib
import http.server
import logging
import socket
import sqlite3
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config import ConfigurableResource, EnvVar
from orchestrator.errors import ConfigError, ResourceError
from orchestrator.resources import (
    InitResourceContext,
    ResourceDefinition,
    Resources,
    build_init_resource_context,
    build_resources,
    required_keys_of,
    resource,
    resource_config_schema,
)

# -- definitions -----------------------------------------------------------------------------


def test_resource_decorator_bare_and_with_arguments():
    @resource
    def clock(_context):
        """The wall clock."""
        return "clock"

    @resource(config_schema={"path": str}, description="A journal.",
              required_resource_keys={"clock"})
    def journal(context):
        return context.resource_config["path"]

    @resource({"n": int})  # Dagster also allows the schema positionally
    def counter(context):
        return context.resource_config["n"]

    @resource
    def no_context():
        return "plain"

    assert isinstance(clock, ResourceDefinition) and clock.description == "The wall clock."
    assert journal.description == "A journal." and journal.config_schema == {"path": str}
    assert journal.required_resource_keys == frozenset({"clock"})
    assert counter.config_schema == {"n": int}
    with build_resources({"clock": clock, "journal": journal, "counter": counter, "p": no_context},
                         {"journal": {"path": "/j"}, "counter": {"n": 3}}) as res:
        assert (res.clock, res.journal, res.counter, res.p) == ("clock", "/j", 3, "plain")


def test_bad_definitions_are_reported():
    with pytest.raises(ResourceError, match="needs a function .* got int"):
        ResourceDefinition(3)  # type: ignore[arg-type]
    with pytest.raises(ResourceError, match=r"must be a set of keys such as \{'db'\}"):
        resource(required_resource_keys="db")(lambda c: 1)  # type: ignore[arg-type]
    with pytest.raises(ResourceError, match="takes one, the InitResourceContext"):
        ResourceDefinition(lambda a, b: 1)


def test_required_keys_of_each_kind():
    class Plain(ConfigurableResource):
        x: int = 1

    needs = ResourceDefinition(lambda c: 1, required_resource_keys={"db", "cache"})
    assert required_keys_of(needs) == {"db", "cache"}
    assert required_keys_of(Plain()) == set()
    assert required_keys_of(object()) == set()
    assert required_keys_of({"a": 1}) == set()


def test_hardcoded_and_none_resources():
    with build_resources({"a": ResourceDefinition.hardcoded_resource(5),
                          "b": ResourceDefinition.none_resource()}) as res:
        assert res.a == 5 and res.b is None


# -- life cycle ------------------------------------------------------------------------------


def make_logged(log: list[str], name: str, deps: set[str] = frozenset()) -> ResourceDefinition:
    @resource(required_resource_keys=set(deps))
    def fn(context):
        log.append(f"up {name} sees {sorted(context.resources)}")
        yield name
        log.append(f"down {name}")

    return fn


def test_dependency_order_and_reverse_teardown():
    log: list[str] = []
    resources = {
        "api": make_logged(log, "api", {"db", "cache"}),
        "cache": make_logged(log, "cache", {"db"}),
        "db": make_logged(log, "db"),
        "plain": object(),
    }
    with build_resources(resources) as res:
        assert set(res) == {"api", "cache", "db", "plain"}
        log.append("body")
    assert log == ["up db sees []", "up cache sees ['db']", "up api sees ['cache', 'db']",
                   "body", "down api", "down cache", "down db"]


def test_teardown_runs_when_the_body_raises():
    log: list[str] = []
    with pytest.raises(KeyError, match="body failed"):
        with build_resources({"a": make_logged(log, "a"), "b": make_logged(log, "b", {"a"})}):
            raise KeyError("body failed")
    assert log[-2:] == ["down b", "down a"]


def test_setup_failure_tears_down_built_ones_and_names_the_resource():
    log: list[str] = []

    @resource(required_resource_keys={"db"})
    def broken(_context):
        raise ConnectionError("port 5 refused")

    with pytest.raises(ResourceError) as info:
        with build_resources({"db": make_logged(log, "db"), "broken": broken}):
            pytest.fail("body must not run")
    assert str(info.value) == "resource 'broken' failed to set up: ConnectionError: port 5 refused"
    assert isinstance(info.value.__cause__, ConnectionError)
    assert log == ["up db sees []", "down db"]


def test_teardown_failure_is_reported_and_other_teardowns_still_run():
    log: list[str] = []

    @resource
    def flaky(_context):
        yield "flaky"
        raise OSError("disk gone")

    with pytest.raises(ResourceError,
                       match="resource 'flaky' failed to tear down: OSError: disk gone"):
        with build_resources({"a": make_logged(log, "a"), "flaky": flaky}):
            pass
    assert log[-1] == "down a"


def test_teardown_failure_after_body_error_keeps_the_body_error():
    @resource
    def flaky(_context):
        yield "flaky"
        raise OSError("disk gone")

    with pytest.raises(ValueError, match="body") as info:
        with build_resources({"flaky": flaky}):
            raise ValueError("body")
    assert any("failed to tear down" in note for note in getattr(info.value, "__notes__", []))


def test_generator_must_yield_exactly_once():
    @resource
    def never(_context):
        return
        yield  # unreachable on purpose: makes this a generator

    @resource
    def twice(_context):
        yield 1
        yield 2

    with pytest.raises(ResourceError, match="'never'.*returned without yielding"):
        with build_resources({"never": never}):
            pass
    with pytest.raises(ResourceError, match="'twice'.*yielded more than once"):
        with build_resources({"twice": twice}):
            pass


def test_contextmanager_functions_are_entered_but_other_context_managers_are_not():
    log: list[str] = []

    @resource
    @contextlib.contextmanager
    def managed(_context):
        log.append("enter")
        yield "managed"
        log.append("exit")

    class Handle:
        def __enter__(self):
            raise AssertionError("a returned object is the resource, it must not be entered")

        def __exit__(self, *exc):
            return False

    handle = Handle()
    with build_resources({"m": managed, "h": ResourceDefinition(lambda c: handle)}) as res:
        assert res.m == "managed" and res.h is handle
    assert log == ["enter", "exit"]


def test_missing_dependency_names_resource_key_and_provided_keys():
    needs_db = ResourceDefinition(lambda c: 1, required_resource_keys={"db"})
    with pytest.raises(ResourceError) as info:
        with build_resources({"api": needs_db, "cache": 1}):
            pass
    assert str(info.value) == ("resource 'api' requires resource 'db', which was not provided; "
                               "provided resources: api, cache. Add 'db' to the resources.")


def test_dependency_cycle_is_reported():
    a = ResourceDefinition(lambda c: 1, required_resource_keys={"b"})
    b = ResourceDefinition(lambda c: 1, required_resource_keys={"a"})
    with pytest.raises(ResourceError, match="cycle: a -> b -> a"):
        with build_resources({"a": a, "b": b}):
            pass


def test_undeclared_dependency_is_not_visible():
    @resource
    def sneaky(context):
        return context.resources.db

    with pytest.raises(ResourceError) as info:
        with build_resources({"db": 1, "sneaky": sneaky}):
            pass
    assert "resource 'sneaky' has no resource 'db'; available: none" in str(info.value)
    assert "required_resource_keys" in str(info.value)


def test_config_problems_raise_config_error_with_paths():
    @resource(config_schema={"url": str})
    def db(context):
        return context.resource_config

    with pytest.raises(ConfigError) as info:
        with build_resources({"db": db}, {"db": {"ur": "x"}}):
            pass
    assert sorted(info.value.errors) == sorted([
        "resources.db.config: unknown field 'ur' (did you mean 'url'?)",
        "resources.db.config.url: required field missing"])
    with pytest.raises(ConfigError, match="there is no resource 'dbb' to configure; provided "
                                          "resources: db"):
        with build_resources({"db": db}, {"dbb": {}}):
            pass
    with pytest.raises(ConfigError, match="resources.client.config: resource 'client' is a plain "
                                          "dict object and takes no config"):
        with build_resources({"client": {}}, {"client": {"x": 1}}):
            pass


def test_bad_resource_mappings():
    with pytest.raises(ResourceError, match="must be a mapping"):
        with build_resources([1]):  # type: ignore[arg-type]
            pass
    with pytest.raises(ResourceError, match="must be Python identifiers .*'my-db'"):
        with build_resources({"my-db": 1}):
            pass


# -- contexts and the namespace --------------------------------------------------------------


def test_init_context_carries_run_information():
    seen: dict[str, Any] = {}
    logger = logging.getLogger("test.resources")

    @resource(config_schema={"n": int})
    def probe(context):
        seen.update(config=context.resource_config, log=context.log, instance=context.instance,
                    run_id=context.run_id, key=context.resource_key, defn=context.resource_def)
        return 1

    instance = object()
    with build_resources({"probe": probe}, {"probe": {"n": 2}}, instance=instance, log=logger,
                         run_id="run-7"):
        pass
    assert seen == {"config": {"n": 2}, "log": logger, "instance": instance, "run_id": "run-7",
                    "key": "probe", "defn": probe}


def test_build_init_resource_context_for_unit_tests():
    @resource(config_schema={"url": str})
    def db(context):
        return f"conn to {context.resource_config['url']} via {context.resources.net}"

    context = build_init_resource_context(config={"url": "x"}, resources={"net": "eth0"})
    assert isinstance(context, InitResourceContext)
    assert db.resource_fn(context) == "conn to x via eth0"
    assert isinstance(context.log, logging.Logger)


def test_resources_namespace():
    res = Resources({"db": 1, "cache": 2})
    assert res.db == 1 and res["cache"] == 2 and len(res) == 2 and "db" in res
    assert not hasattr(res, "missing")
    with pytest.raises(AttributeError) as info:
        res.missing  # noqa: B018
    assert isinstance(info.value, ResourceError)
    assert str(info.value) == "no resource 'missing'; available: cache, db"
    with pytest.raises(KeyError):
        res["missing"]
    with pytest.raises(ResourceError, match="read-only"):
        res.db = 3
    assert dict(res) == {"db": 1, "cache": 2}
    import copy
    import pickle

    assert dict(copy.copy(res)) == dict(pickle.loads(pickle.dumps(res))) == {"db": 1, "cache": 2}


# -- ConfigurableResource --------------------------------------------------------------------


class Database(ConfigurableResource):
    """A sqlite database file."""

    path: str
    timeout: float = 5.0

    def setup_for_execution(self, context) -> None:
        self._conn = sqlite3.connect(self.path, timeout=self.timeout)

    def teardown_after_execution(self, context) -> None:
        self._conn.close()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql).fetchall()


class Reports(ConfigurableResource):
    db: Database
    table: str = "reports"

    def setup_for_execution(self, context) -> None:
        self.db.query(f"create table if not exists {self.table} (x integer)")


def test_configurable_resource_opens_and_closes_a_real_connection(tmp_path: Path):
    db = Database(path=str(tmp_path / "a.db"))
    with build_resources({"db": db}) as res:
        assert res.db.query("select 41 + 1") == [(42,)]
        conn = res.db._conn
        assert res.db is not db  # each run gets its own copy
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("select 1")  # closed by teardown_after_execution
    assert not hasattr(db, "_conn")  # the declared resource was not touched


def test_nested_resource_shared_by_identity_is_built_once(tmp_path: Path):
    db = Database(path=str(tmp_path / "b.db"))
    with build_resources({"reports": Reports(db=db), "db": db}) as res:
        assert res.reports.db is res.db
        assert res.db.query("select name from sqlite_master") == [("reports",)]


def test_nested_resource_not_given_at_top_level_is_built_with_its_parent(tmp_path: Path):
    events: list[str] = []

    class Tracked(Database):
        def setup_for_execution(self, context) -> None:
            events.append(f"setup {context.resource_key}")
            super().setup_for_execution(context)

        def teardown_after_execution(self, context) -> None:
            events.append(f"teardown {context.resource_key}")
            super().teardown_after_execution(context)

    class Parent(ConfigurableResource):
        db: Tracked

        def setup_for_execution(self, context) -> None:
            events.append("setup parent")

        def teardown_after_execution(self, context) -> None:
            events.append("teardown parent")

    with build_resources({"parent": Parent(db=Tracked(path=str(tmp_path / "c.db")))}) as res:
        assert res.parent.db.query("select 1") == [(1,)]
    assert events == ["setup parent.db", "setup parent", "teardown parent",
                      "teardown parent.db"]


def test_run_config_fills_and_overrides_fields(tmp_path: Path):
    with build_resources({"db": Database.configure_at_launch(timeout=1.0)},
                         {"db": {"path": str(tmp_path / "d.db")}}) as res:
        assert res.db.timeout == 1.0 and res.db.path.endswith("d.db")
    with build_resources({"db": Database}, {"db": {"path": str(tmp_path / "e.db")}}) as res:
        assert res.db.path.endswith("e.db")
    with build_resources({"db": Database(path="unused", timeout=2.0)},
                         {"db": {"path": str(tmp_path / "f.db")}}) as res:
        assert res.db.path.endswith("f.db") and res.db.timeout == 2.0
    with build_resources({"r": Reports(db=Database(path="unused"))},
                         {"r": {"db": {"path": str(tmp_path / "g.db")}, "table": "t"}}) as res:
        assert res.r.db.path.endswith("g.db") and res.r.table == "t"


def test_configurable_resource_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError) as info:
        with build_resources({"db": Database.configure_at_launch()}, {"db": {"timeout": "slow"}}):
            pass
    assert sorted(info.value.errors) == sorted([
        "resources.db.config.path: required field missing",
        "resources.db.config.timeout: expected float, got 'slow'"])
    db = Database(path=str(tmp_path / "h.db"))
    with pytest.raises(ConfigError, match="resources.r.config.db: this nested resource is the "
                                          "top-level resource 'db'"):
        with build_resources({"db": db, "r": Reports(db=db)}, {"r": {"db": {"path": "x"}}}):
            pass


def test_env_vars_are_resolved_at_build_time(monkeypatch, tmp_path: Path):
    declared = Database(path=EnvVar("TEST_DB_PATH"))
    assert "TEST_DB_PATH" in repr(declared)
    with pytest.raises(ConfigError) as info:
        with build_resources({"db": declared}):
            pass
    assert info.value.errors[0].startswith(
        "resources.db.config.path: environment variable 'TEST_DB_PATH' is not set")
    monkeypatch.setenv("TEST_DB_PATH", str(tmp_path / "secret-name.db"))
    with build_resources({"db": declared}) as res:
        assert res.db.path == str(tmp_path / "secret-name.db")
        assert "secret-name" not in repr(res.db)
        assert "<EnvVar TEST_DB_PATH>" in repr(res.db)


def test_setup_failure_in_configurable_resource(tmp_path: Path):
    missing_dir = tmp_path / "no" / "such" / "dir" / "x.db"
    with pytest.raises(ResourceError, match="resource 'db' failed to set up: OperationalError"):
        with build_resources({"db": Database(path=str(missing_dir))}):
            pass


def test_yield_for_execution_can_be_overridden():
    events: list[str] = []

    class Session(ConfigurableResource):
        name: str = "s"

        def yield_for_execution(self, context):
            events.append("open")
            try:
                yield {"session": self.name}
            finally:
                events.append("close")

    with build_resources({"s": Session()}) as res:
        assert res.s == {"session": "s"}
    assert events == ["open", "close"]


def test_hook_context_does_not_carry_secrets(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", "hook-secret-value")
    seen = {}

    class Api(ConfigurableResource):
        key: str

        def setup_for_execution(self, context) -> None:
            seen["config"] = context.resource_config

    with build_resources({"api": Api(key=EnvVar("TEST_HOOK_SECRET"))}) as res:
        assert res.api.key == "hook-secret-value"
    assert seen["config"] == {"key": "<EnvVar TEST_HOOK_SECRET>"}


def test_resource_config_schema_for_each_kind():
    defn = ResourceDefinition(lambda c: 1, config_schema={"a": int})
    assert resource_config_schema(defn) == {"a": int}
    db = Database(path="p")
    assert resource_config_schema(db) is db
    deferred = resource_config_schema(Database)
    assert isinstance(deferred, Database)


# -- a real server as a resource -------------------------------------------------------------


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_server_resource_and_dependent_client_over_loopback():
    @resource
    def server(_context):
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join()

    @resource(required_resource_keys={"server"})
    def client(context):
        base = context.resources.server
        return lambda path: urllib.request.urlopen(base + path, timeout=5).read()

    with build_resources({"client": client, "server": server}) as res:
        assert res.client("/") == b"hello"
        port = int(res.server.rsplit(":", 1)[1])
    with socket.socket() as sock:  # the server was shut down by its tear-down
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_run_config_validation_with_a_shared_nested_resource(tmp_path: Path):
    from orchestrator.config import validate_run_config
    from orchestrator.resources import resource_schemas_for

    db = Database.configure_at_launch()
    resources = {"db": db, "reports": Reports(db=db)}
    with pytest.raises(ConfigError) as info:
        validate_run_config({}, {}, resource_schemas_for(resources))
    assert info.value.errors == ["resources.db.config.path: required field missing"]
    run_config = {"resources": {"db": {"config": {"path": str(tmp_path / "i.db")}}}}
    resolved = validate_run_config(run_config, {}, resource_schemas_for(resources))
    with build_resources(resources, resolved.resources) as res:
        assert res.reports.db is res.db
        assert res.db.query("select count(*) from reports") == [(0,)]


# The examples in docs/concepts/ are run by tests/docs/test_docs_examples.py.
