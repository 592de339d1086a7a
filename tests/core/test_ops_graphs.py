"""@op, @graph, @job, dynamic fan-out, retries and tags, run in process for real."""

from __future__ import annotations

import random

import pytest

from orchestrator import (
    Backoff,
    Config,
    DynamicOut,
    DynamicOutput,
    EventType,
    Failure,
    In,
    Jitter,
    Out,
    Output,
    RetryPolicy,
    RetryRequested,
    graph,
    job,
    op,
    resource,
)
from orchestrator.types import Nothing


# -- ops ---------------------------------------------------------------------------------------
@op
def emit_numbers() -> list[int]:
    return [1, 2, 3, 4, 5]


@op(out={"even": Out(), "odd": Out()})
def split(numbers: list[int]):
    return [n for n in numbers if n % 2 == 0], [n for n in numbers if n % 2]


@op(ins={"values": In(description="numbers to add")})
def add_up(values) -> int:
    return sum(values)


def test_op_with_several_outputs_returned_as_a_tuple():
    @job
    def evens_and_odds():
        even, odd = split(emit_numbers())
        add_up(even)
        add_up(odd)

    result = evens_and_odds.execute_in_process()
    assert result.success
    assert result.output_for_node("split", "even") == [2, 4]
    assert result.output_for_node("split", "odd") == [1, 3, 5]
    assert result.output_for_node("add_up") == 6
    assert result.output_for_node("add_up_2") == 9
    assert add_up.ins["values"].description == "numbers to add"


def test_op_yielding_outputs_with_metadata():
    @op(out={"first": Out(), "second": Out(is_required=False)})
    def yields():
        yield Output("one", "first", metadata={"size": 3})

    @op
    def use(x):
        return x + "!"

    @job
    def j():
        first, second = yields()
        use(first)
        use(second)

    result = j.execute_in_process()
    assert result.success
    assert result.output_for_node("use") == "one!"
    # the optional output was not produced: its consumer is skipped, the run still succeeds
    assert result.get_skipped_step_keys() == {"use_2"}
    out_ev = [e for e in result.all_events if e.event_type is EventType.STEP_OUTPUT]
    assert out_ev[0].data["metadata"]["size"]["raw_value"] == 3


class MultConfig(Config):
    factor: int = 2


def test_op_config_and_context_log():
    @op
    def scaled(context, config: MultConfig) -> int:
        context.log.info("factor is %d", config.factor)
        context.log.warning("careful")
        return 10 * config.factor

    @job
    def cfg_job():
        scaled()

    result = cfg_job.execute_in_process(run_config={"ops": {"scaled": {"config":
                                                                       {"factor": 3}}}})
    assert result.output_for_node("scaled") == 30
    logs = [(e.level, e.message, e.step_key) for e in result.all_events
            if e.event_type is EventType.LOG]
    assert logs == [(20, "factor is 3", "scaled"), (30, "careful", "scaled")]
    assert cfg_job.execute_in_process().output_for_node("scaled") == 20


def test_op_config_schema_dict():
    @op(config_schema={"word": str})
    def says(context) -> str:
        return context.op_config["word"]

    @job
    def j():
        says()

    result = j.execute_in_process(run_config={"ops": {"says": {"config": {"word": "hi"}}}})
    assert result.output_for_node("says") == "hi"


def test_op_resources_through_context():
    torn_down = []

    @resource(config_schema={"prefix": str})
    def prefixer(init_context):
        p = init_context.resource_config["prefix"]
        yield lambda s: p + s
        torn_down.append(p)

    @op(required_resource_keys={"prefixer"})
    def named(context) -> str:
        return context.resources.prefixer("x")

    @job(resource_defs={"prefixer": prefixer})
    def j():
        named()

    result = j.execute_in_process(run_config={"resources": {"prefixer": {"config":
                                                                         {"prefix": "p-"}}}})
    assert result.output_for_node("named") == "p-x"
    assert torn_down == ["p-"]
    # resources= at execution replaces the job's definition (a test double)
    result = j.execute_in_process(resources={"prefixer": lambda s: "fake-" + s})
    assert result.output_for_node("named") == "fake-x"


def test_nothing_input_orders_without_data():
    order = []

    @op
    def first():
        order.append("first")

    @op(ins={"after": In(Nothing)})
    def second():
        order.append("second")
        return 1

    @job
    def j():
        second(first())

    assert j.execute_in_process().success
    assert order == ["first", "second"]


def test_default_value_and_input_from_run_config():
    @op(ins={"n": In(default_value=5)})
    def with_default(n):
        return n

    @op
    def from_config(x):
        return x * 2

    @job
    def j():
        with_default()
        from_config()

    result = j.execute_in_process(run_config={"ops": {"from_config": {"inputs": {"x": {
        "value": 21}}}}})
    assert result.output_for_node("with_default") == 5
    assert result.output_for_node("from_config") == 42


# -- graphs ------------------------------------------------------------------------------------
@op
def inc(context, x: int) -> int:
    return x + context.op_config["by"] if context.op_config else x + 1


@op
def one() -> int:
    return 1


@graph
def inner(x):
    return inc(x)


@graph
def outer(x):
    return inner(inc(x))


def test_nested_graphs_step_keys_and_nested_config():
    @job
    def nested():
        outer(one())

    result = nested.execute_in_process()
    keys = [e.step_key for e in result.all_events if e.event_type is EventType.STEP_SUCCESS]
    assert keys == ["one", "outer.inc", "outer.inner.inc"]
    assert result.output_for_node("outer.inner.inc") == 3


def test_nested_graph_config_reaches_inner_ops():
    @op(config_schema={"by": int})
    def add_by(context, x: int) -> int:
        return x + context.op_config["by"]

    @graph
    def g_inner(x):
        return add_by(x)

    @graph
    def g_outer(x):
        return g_inner(add_by(x))

    @job
    def j():
        g_outer(one())

    result = j.execute_in_process(run_config={"ops": {"g_outer": {"ops": {
        "add_by": {"config": {"by": 10}},
        "g_inner": {"ops": {"add_by": {"config": {"by": 100}}}},
    }}}})
    assert result.output_for_node("g_outer.add_by") == 11
    assert result.output_for_node("g_outer.g_inner.add_by") == 111


def test_graph_to_job_with_resources_config_and_tags():
    @op(required_resource_keys={"store"})
    def remember(context, x: int) -> int:
        context.resources.store.append(x)
        return x

    @graph
    def pipeline():
        remember(inc(one()))

    store: list[int] = []
    j = pipeline.to_job(name="pipeline_job", resource_defs={"store": store},
                        config={"ops": {"inc": {"config": {"by": 41}}}}, tags={"team": "x"})
    result = j.execute_in_process()
    assert result.success
    assert store == [42]
    assert result.run.tags["team"] == "x"
    assert result.run.job_name == "pipeline_job"
    # explicit run config replaces the job's default config
    result = j.execute_in_process(run_config={"ops": {"inc": {"config": {"by": 1}}}})
    assert store == [42, 2]


def test_graph_outputs_dict_and_aliases():
    @graph
    def two_outs():
        return {"a": inc.alias("inc_a")(one()), "b": inc.alias("inc_b")(one())}

    @op
    def pair(a, b):
        return (a, b)

    @job
    def j():
        outs = two_outs()
        pair(outs.a, outs.b)

    result = j.execute_in_process()
    assert result.output_for_node("pair") == (2, 2)


def test_fan_in_list_of_outputs():
    @job
    def j():
        add_up([one.alias("o1")(), one.alias("o2")(), one.alias("o3")()])

    assert j.execute_in_process().output_for_node("add_up") == 3


def test_run_and_op_tags():
    seen = {}

    @op(tags={"kind": "heavy"})
    def tagged(context):
        seen.update(context.run_tags)
        return 1

    @job(tags={"owner": "team-a"})
    def j():
        tagged()

    result = j.execute_in_process(tags={"extra": "1"})
    assert result.run.tags == {"owner": "team-a", "extra": "1"}
    assert seen == {"owner": "team-a", "extra": "1"}
    assert tagged.tags == {"kind": "heavy"}


# -- dynamic fan-out ---------------------------------------------------------------------------
@op(out=DynamicOut())
def list_files(context):
    names = ["a", "b", "c"] if context.op_config is None else context.op_config
    for name in names:
        yield DynamicOutput(name.upper(), mapping_key=name)


@op
def size(context, name: str) -> int:
    return len(name) + (10 if context.get_mapping_key() == "b" else 0)


@op
def double(n: int) -> int:
    return 2 * n


@op
def total(values: list) -> int:
    return sum(values)


def test_dynamic_map_and_collect():
    @job
    def fan():
        total(list_files().map(size).collect())

    result = fan.execute_in_process()
    assert result.success
    assert result.output_for_node("total") == 13
    assert result.output_for_node("size") == {"a": 1, "b": 11, "c": 1}
    assert result.output_for_node("list_files") == {"a": "A", "b": "B", "c": "C"}
    keys = {e.step_key for e in result.all_events if e.event_type is EventType.STEP_SUCCESS}
    assert {"size[a]", "size[b]", "size[c]"} <= keys


def test_dynamic_map_with_a_chain_of_two_ops():
    @job
    def fan_chain():
        total(list_files().map(lambda f: double(size(f))).collect())

    result = fan_chain.execute_in_process()
    assert result.output_for_node("total") == 26
    assert result.output_for_node("double") == {"a": 2, "b": 22, "c": 2}


def test_empty_dynamic_output():
    @job
    def fan_empty():
        total(list_files().map(size).collect())

    result = fan_empty.execute_in_process(run_config={"ops": {"list_files": {"config": []}}})
    assert result.success
    assert result.output_for_node("total") == 0
    assert not [e for e in result.all_events if (e.step_key or "").startswith("size[")]


def test_failing_mapped_step_fails_only_its_branch():
    @op
    def fragile(name: str) -> str:
        if name == "B":
            raise ValueError("bad file B")
        return name.lower()

    @op
    def after(x: str) -> str:
        return x + "!"

    @job
    def fan_fail():
        total(list_files().map(lambda f: after(fragile(f))).collect())

    result = fan_fail.execute_in_process(raise_on_error=False)
    assert not result.success
    assert result.get_failed_step_keys() == {"fragile[b]"}
    skipped = result.get_skipped_step_keys()
    assert "after[b]" in skipped
    assert result.output_for_node("after") == {"a": "a!", "c": "c!"}
    # a collect over a partially failed fan-out does not run
    assert "total" in skipped


def test_dynamic_output_passed_without_map_is_an_error():
    from orchestrator import DefinitionError

    with pytest.raises(DefinitionError, match=r"\.map\(fn\) or \.collect\(\)"):
        @job
        def wrong():
            size(list_files())


# -- retries -------------------------------------------------------------------------------------
def test_calculate_delay_backoff_and_jitter_with_seeded_rng():
    assert RetryPolicy(max_retries=3).calculate_delay(1) == 0.0
    p = RetryPolicy(max_retries=3, delay=2)
    assert [p.calculate_delay(i) for i in (1, 2, 3)] == [2, 2, 2]
    lin = RetryPolicy(max_retries=3, delay=2, backoff=Backoff.LINEAR)
    assert [lin.calculate_delay(i) for i in (1, 2, 3)] == [2, 4, 6]
    exp = RetryPolicy(max_retries=4, delay=1, backoff=Backoff.EXPONENTIAL)
    assert [exp.calculate_delay(i) for i in (1, 2, 3, 4)] == [1, 2, 4, 8]

    full = RetryPolicy(max_retries=1, delay=4, jitter=Jitter.FULL)
    r = random.Random(7).random()
    assert full.calculate_delay(1, random.Random(7)) == pytest.approx(4 * r)
    pm = RetryPolicy(max_retries=1, delay=4, backoff=Backoff.EXPONENTIAL,
                     jitter=Jitter.PLUS_MINUS)
    assert pm.calculate_delay(2, random.Random(7)) == pytest.approx(8 + 4 * (2 * r - 1))
    values = [full.calculate_delay(1, random.Random(s)) for s in range(50)]
    assert all(0 <= v <= 4 for v in values) and len(set(values)) > 40


def test_retry_policy_rejects_bad_values():
    from orchestrator import DefinitionError

    with pytest.raises(DefinitionError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(DefinitionError, match="delay"):
        RetryPolicy(delay=-1)
    with pytest.raises(DefinitionError, match="need a delay"):
        RetryPolicy(backoff=Backoff.LINEAR)


def test_executor_retries_until_success():
    attempts = []

    @op(retry_policy=RetryPolicy(max_retries=3, delay=0))
    def flaky(context) -> int:
        attempts.append(context.retry_number)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return len(attempts)

    @job
    def j():
        double(flaky())

    result = j.execute_in_process()
    assert result.success
    assert attempts == [0, 1, 2]
    assert result.output_for_node("double") == 6
    retries = result.events_of_type(EventType.STEP_UP_FOR_RETRY)
    assert [e.data["retry_number"] for e in retries] == [0, 1]
    assert "ConnectionError" in retries[0].message


def test_executor_gives_up_after_max_retries():
    attempts = []

    @op(retry_policy=RetryPolicy(max_retries=2))
    def always_fails():
        attempts.append(1)
        raise RuntimeError("nope")

    @job
    def j():
        always_fails()

    result = j.execute_in_process(raise_on_error=False)
    assert not result.success and len(attempts) == 3
    assert len(result.get_step_failure_events()) == 1


def test_job_level_op_retry_policy():
    attempts = []

    @op
    def once_flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first time")

    @job(op_retry_policy=RetryPolicy(max_retries=1))
    def j():
        once_flaky()

    assert j.execute_in_process().success and len(attempts) == 2


def test_retry_requested():
    attempts = []

    @op
    def asks():
        attempts.append(1)
        if len(attempts) < 3:
            raise RetryRequested(max_retries=5, seconds_to_wait=0)
        return "done"

    @job
    def j():
        asks()

    result = j.execute_in_process()
    assert result.output_for_node("asks") == "done" and len(attempts) == 3


def test_failure_without_retries_stops_at_once():
    attempts = []

    @op(retry_policy=RetryPolicy(max_retries=5))
    def fatal():
        attempts.append(1)
        raise Failure("bad data in row 3", metadata={"row": 3}, allow_retries=False)

    @job
    def j():
        fatal()

    result = j.execute_in_process(raise_on_error=False)
    assert len(attempts) == 1
    (ev,) = result.get_step_failure_events()
    assert ev.data["error"]["message"] == "bad data in row 3"
    assert ev.metadata == {"row": 3}


def test_graph_inside_map():
    @op
    def upper(name: str) -> str:
        return name.upper()

    @op
    def excl(text: str) -> str:
        return text + "!"

    @graph
    def per_file(name):
        return excl(upper(name))

    @op
    def total_len(parts: list) -> str:
        return "".join(sorted(parts))

    @job
    def fan_graph():
        total_len(list_files().map(per_file).collect())

    result = fan_graph.execute_in_process()
    assert result.output_for_node("total_len") == "A!B!C!"
    assert result.output_for_node("per_file.excl") == {"a": "A!", "b": "B!", "c": "C!"}
    ok = {e.step_key for e in result.get_step_success_events()}
    assert {"per_file.upper[a]", "per_file.excl[c]"} <= ok
