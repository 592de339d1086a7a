"""The testing API: materialize / execute_in_process results, direct invocation, ephemeral
instances, Dagster-shaped contexts."""

from __future__ import annotations

import pytest

from orchestrator import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    Config,
    ConfigurableResource,
    DefinitionError,
    Definitions,
    EventType,
    Instance,
    IOManager,
    MaterializeResult,
    OpExecutionContext,
    Out,
    Output,
    asset,
    build_asset_context,
    build_op_context,
    define_asset_job,
    io_manager,
    job,
    materialize,
    op,
    resource,
)


class Greeting(Config):
    word: str = "hello"


class Store(ConfigurableResource):
    prefix: str = ""

    def name(self, x: str) -> str:
        return self.prefix + x


@asset(check_specs=[AssetCheckSpec("short", asset="greeting")])
def greeting(context, config: Greeting, store: Store) -> MaterializeResult:
    text = store.name(config.word)
    context.log.info("made %s", text)
    return MaterializeResult(metadata={"text": text},
                             check_results=[AssetCheckResult(passed=len(text) < 20)])


@asset(deps=[greeting])
def shout() -> str:
    return "HELLO"


def test_materialize_result_api():
    result = materialize([greeting], resources={"store": Store(prefix="> ")},
                         run_config={"ops": {"greeting": {"config": {"word": "hi"}}}})
    assert result.success
    assert isinstance(result.run_id, str) and len(result.run_id) == 36
    (mat,) = result.asset_materializations_for_node("greeting")
    assert mat.asset_key == AssetKey("greeting") and mat.metadata["text"] == "> hi"
    (ev,) = result.get_asset_check_evaluations()
    assert (ev.check_name, ev.passed) == ("short", True)
    assert [e.message for e in result.all_events if e.event_type is EventType.LOG] == [
        "made > hi"]
    assert result.all_events[0].event_type is EventType.RUN_START
    assert result.all_events[-1].event_type is EventType.RUN_SUCCESS
    assert result.run.status.value == "SUCCESS"


def test_output_for_node_of_an_asset_value():
    @asset
    def base() -> int:
        return 2

    @asset
    def squared(base: int) -> int:
        return base * base

    result = materialize([base, squared])
    assert result.output_for_node("squared") == 4
    assert result.asset_value("squared") == 4
    with pytest.raises(DefinitionError, match="no output 'result' of node 'nope'"):
        result.output_for_node("nope")


@op(out={"a": Out(), "b": Out()}, required_resource_keys={"suffix"})
def two(context, config: Greeting):
    context.log.info("two outputs")
    yield Output(config.word, "a")
    yield Output(context.resources.suffix, "b")


@op
def join(a: str, b: str) -> str:
    return a + b


@job(resource_defs={"suffix": "!"})
def joiner():
    a, b = two()
    join(a, b)


def test_execute_in_process_result_api():
    result = joiner.execute_in_process(run_config={"ops": {"two": {"config": {"word": "yo"}}}},
                                       resources={"suffix": "?"})
    assert result.success
    assert result.output_for_node("two", "a") == "yo"
    assert result.output_for_node("join") == "yo?"
    assert result.asset_materializations_for_node("join") == []
    assert result.get_asset_check_evaluations() == []
    assert result.job_name == "joiner"
    assert [e.step_key for e in result.get_step_success_events()] == ["two", "join"]


def test_execute_in_process_raises_or_returns_failure():
    from orchestrator import StepFailedError

    @op
    def bad():
        raise RuntimeError("no")

    @job
    def j():
        bad()

    with pytest.raises(StepFailedError, match="step 'bad' raised RuntimeError: no"):
        j.execute_in_process()
    result = j.execute_in_process(raise_on_error=False)
    assert not result.success and result.get_failed_step_keys() == {"bad"}


def test_definitions_get_job_def():
    defs = Definitions(assets=[greeting, shout], jobs=[define_asset_job("greet", "greeting*"),
                                                       joiner],
                       resources={"store": Store(prefix="~")})
    defs.validate()
    r = defs.get_job_def("greet").execute_in_process()
    assert r.materialized_keys == {AssetKey("greeting"), AssetKey("shout")}
    assert defs.get_job_def("joiner").execute_in_process().output_for_node("join") == "hello!"
    with pytest.raises(DefinitionError, match=r"no job named 'gret' \(did you mean 'greet'\?\)"):
        defs.get_job_def("gret")


# -- plain functions ------------------------------------------------------------------------------
def test_asset_callable_without_context():
    @asset
    def add(a: int, b: int = 2) -> int:
        return a + b

    assert add(1) == 3
    assert add(a=1, b=5) == 6


def test_asset_callable_with_build_asset_context():
    ctx = build_asset_context(resources={"store": Store(prefix="+")})
    r = greeting(ctx, config=Greeting(word="x"))
    assert r.metadata == {"text": "+x"}
    assert ctx.resources.store.prefix == "+"


def test_asset_with_context_called_with_a_default_context():
    @asset
    def uses_log(context) -> str:
        context.log.info("hi")
        return context.asset_key.to_user_string()

    assert uses_log() == "uses_log"
    assert uses_log(build_asset_context()) == "uses_log"


def test_asset_resources_from_context_or_keyword():
    @asset(required_resource_keys={"db"})
    def from_ctx(context) -> int:
        return context.resources.db["n"]

    assert from_ctx(build_asset_context(resources={"db": {"n": 4}})) == 4

    @asset
    def from_param(store: Store) -> str:
        return store.name("v")

    assert from_param(store=Store(prefix="p:")) == "p:v"
    assert from_param(build_asset_context(resources={"store": Store()})) == "v"
    with pytest.raises(DefinitionError, match="needs resource 'store'"):
        from_param()


def test_op_callable_with_build_op_context():
    @op(config_schema={"n": int})
    def times(context, x: int) -> int:
        return x * context.op_config["n"]

    assert times(build_op_context(op_config={"n": 3}), 5) == 15

    @op
    def plain(x: int) -> int:
        return x + 1

    assert plain(1) == 2
    ctx = build_op_context(resources={"suffix": "#"}, op_config={"word": "w"})
    assert isinstance(ctx, OpExecutionContext)
    outs = list(two(ctx, config=Greeting(word="w")))
    assert [(o.output_name, o.value) for o in outs] == [("a", "w"), ("b", "#")]


def test_direct_call_with_wrong_arguments():
    @asset
    def one_input(x: int) -> int:
        return x

    with pytest.raises(DefinitionError, match="has no parameter 'y'"):
        one_input(y=1)
    with pytest.raises(DefinitionError, match="takes inputs"):
        one_input(1, 2)


def test_config_class_default_when_called_directly():
    @asset
    def cfg(config: Greeting) -> str:
        return config.word

    assert cfg() == "hello"
    assert cfg(config=Greeting(word="w")) == "w"


# -- instances -----------------------------------------------------------------------------------
def test_ephemeral_instance_keeps_runs_in_memory():
    with Instance.ephemeral() as instance:
        result = materialize([greeting], instance=instance, resources={"store": Store()})
        assert instance.get_run(result.run_id).status.value == "SUCCESS"
        assert instance.get_latest_materialization("greeting") is not None
        assert not (instance.home / "runs.db").exists()
        home = instance.home
    assert not home.exists()


def test_default_instance_is_ephemeral_and_isolated(tmp_home):
    r1 = materialize([greeting], resources={"store": Store()})
    r2 = materialize([greeting], resources={"store": Store()})
    assert r1.run_id != r2.run_id
    assert not (tmp_home / "runs.db").exists()


# -- Dagster shapes ------------------------------------------------------------------------------
def test_resource_and_io_manager_take_an_init_context():
    seen = {}

    @resource(config_schema={"url": str})
    def client(init_context):
        seen["resource"] = init_context.resource_config["url"]
        return {"url": init_context.resource_config["url"]}

    class Mem(IOManager):
        def __init__(self):
            self.v = {}

        def handle_output(self, context, obj):
            self.v[tuple(context.asset_key.path)] = obj

        def load_input(self, context):
            return self.v[tuple(context.asset_key.path)]

    @io_manager
    def mem_io(init_context):
        seen["io_manager"] = init_context.resource_config
        return Mem()

    @asset(required_resource_keys={"client"})
    def fetched(context) -> str:
        return context.resources.client["url"]

    result = materialize([fetched], resources={"client": client, "io_manager": mem_io},
                         run_config={"resources": {"client": {"config": {"url": "http://x"}}}})
    assert result.output_for_node("fetched") == "http://x"
    assert seen["resource"] == "http://x"
    assert "io_manager" in seen
    assert AssetKey(["a", "b"]).path == ["a", "b"]


def test_direct_call_config_given_as_a_dict_is_validated():
    from orchestrator import ConfigError

    class Factor(Config):
        factor: int = 2

    @op
    def scaled(context, config: Factor) -> int:
        return 10 * config.factor

    @asset
    def from_asset_config(config: Factor) -> int:
        return config.factor

    @op(config_schema={"n": int})
    def by_schema(context) -> int:
        return context.op_config["n"]

    assert scaled(build_op_context(op_config={"factor": 3})) == 30
    assert from_asset_config(build_asset_context(asset_config={"factor": 4})) == 4
    assert scaled(build_op_context(), config={"factor": 5}) == 50
    assert by_schema(build_op_context(op_config={"n": 7})) == 7
    with pytest.raises(ConfigError, match=r"op 'scaled' config\.factor"):
        scaled(build_op_context(op_config={"factor": "many"}))
    with pytest.raises(ConfigError, match=r"op 'by_schema' config\.n: expected int, got 'x'"):
        by_schema(build_op_context(op_config={"n": "x"}))


def test_context_builders_carry_run_tags():
    @op
    def tags_of(context) -> dict:
        return dict(context.run_tags)

    @asset
    def tag_x(context) -> str:
        return context.get_tag("x")

    assert tags_of(build_op_context(run_tags={"a": "1"})) == {"a": "1"}
    assert tags_of(build_op_context()) == {}
    assert tag_x(build_asset_context(run_tags={"x": "y"})) == "y"
