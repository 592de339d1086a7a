"""Every user mistake raises an OrchestratorError subclass whose message names the asset,
op or parameter and says how to fix it. One test per mistake."""

from __future__ import annotations

import pytest

from orchestrator import (
    AssetIn,
    AssetOut,
    AssetSpec,
    Config,
    ConfigError,
    DefinitionError,
    Definitions,
    DynamicOutput,
    OrchestratorError,
    Out,
    Output,
    ResourceError,
    asset,
    asset_check,
    define_asset_job,
    graph,
    job,
    materialize,
    multi_asset,
    multiprocess_executor,
    op,
)


def failure_message(result) -> tuple[str, str]:
    (fail,) = result.get_step_failure_events()
    return fail.data["error"]["type"], fail.data["error"]["message"]


# -- definitions ---------------------------------------------------------------------------------
def test_cycle_names_its_path():
    @asset(deps=["c"])
    def a():
        return 1

    @asset(deps=[a])
    def b():
        return 1

    @asset(deps=[b])
    def c():
        return 1

    with pytest.raises(DefinitionError) as exc:
        Definitions(assets=[a, b, c]).validate()
    msg = str(exc.value)
    assert "cycle" in msg
    assert any(p in msg for p in ("a → b → c → a", "b → c → a → b", "c → a → b → c"))
    with pytest.raises(DefinitionError, match="break it by removing one of these"):
        materialize([a, b, c])


def test_missing_upstream_suggests_the_closest_name():
    @asset
    def country_stats():
        return 1

    @asset
    def report(country_stat):
        return country_stat

    with pytest.raises(DefinitionError) as exc:
        Definitions(assets=[country_stats, report]).validate()
    msg = str(exc.value)
    assert "asset 'report' depends on 'country_stat', which no asset defines" in msg
    assert "did you mean 'country_stats'" in msg
    assert "AssetSpec('country_stat')" in msg


def test_missing_resource_in_definitions():
    @asset(required_resource_keys={"warehouse"})
    def needs_wh(context):
        return 1

    with pytest.raises(DefinitionError) as exc:
        Definitions(assets=[needs_wh]).validate()
    msg = str(exc.value)
    assert "asset 'needs_wh' needs resource 'warehouse'" in msg
    assert "resources={'warehouse': ...}" in msg


def test_missing_resource_at_materialize():
    @asset(required_resource_keys={"client"})
    def needs_client(context):
        return 1

    with pytest.raises(DefinitionError) as exc:
        materialize([needs_client])
    assert "needs resources ['client']" in str(exc.value)
    assert "Pass them in resources=" in str(exc.value)


def test_resource_used_but_not_declared():
    @op
    def sneaky(context):
        return context.resources.db

    @job(resource_defs={"db": object()})
    def j():
        sneaky()

    result = j.execute_in_process(raise_on_error=False)
    _, msg = failure_message(result)
    assert "op 'sneaky' has no resource 'db'" in msg
    assert "required_resource_keys" in msg


def test_duplicate_asset_key():
    @asset(name="dup")
    def first():
        return 1

    @asset(name="dup")
    def second():
        return 2

    with pytest.raises(DefinitionError) as exc:
        Definitions(assets=[first, second]).validate()
    assert "asset key 'dup' is defined twice" in str(exc.value)
    assert "key_prefix=" in str(exc.value)


def test_unknown_selection():
    @asset
    def continent_stats():
        return 1

    defs = Definitions(assets=[continent_stats],
                       jobs=[define_asset_job("j", selection="+continent_stat")])
    with pytest.raises(DefinitionError) as exc:
        defs.validate()
    assert "'continent_stat'" in str(exc.value)
    assert "did you mean 'continent_stats'" in str(exc.value)


def test_bad_ins_name():
    with pytest.raises(DefinitionError) as exc:
        @asset(ins={"ordrs": AssetIn(key="orders")})
        def summary(orders):
            return orders
    msg = str(exc.value)
    assert "asset 'summary'" in msg and "['ordrs']" in msg and "['orders']" in msg


def test_ins_value_not_an_asset_in():
    with pytest.raises(DefinitionError, match=r"ins\['x'\] must be an AssetIn"):
        @asset(ins={"x": "other"})
        def uses(x):
            return x


class ConfA(Config):
    a: int = 1


class ConfB(Config):
    b: int = 1


def test_two_config_parameters():
    with pytest.raises(DefinitionError) as exc:
        @asset
        def double_config(one: ConfA, two: ConfB):
            return 1
    msg = str(exc.value)
    assert "asset 'double_config'" in msg and "'one'" in msg and "'two'" in msg
    assert "declare one Config class" in msg


def test_context_not_first():
    with pytest.raises(DefinitionError) as exc:
        @op
        def late(x, context):
            return x
    assert "op 'late'" in str(exc.value) and "'context' must come first" in str(exc.value)


def test_config_param_and_config_schema():
    with pytest.raises(DefinitionError, match="both a config parameter"):
        @op(config_schema={"x": int})
        def both(config: ConfA):
            return 1


def test_key_and_name_together():
    with pytest.raises(DefinitionError, match="either key= or name=/key_prefix="):
        @asset(key="k", name="n")
        def kn():
            return 1


def test_asset_depending_on_itself():
    with pytest.raises(DefinitionError, match="asset 'selfish' depends on itself"):
        @asset(deps=["selfish"])
        def selfish():
            return 1


def test_invalid_names():
    with pytest.raises(DefinitionError, match="op name 'has space' is not valid"):
        op(name="has space")(lambda: 1)
    with pytest.raises(DefinitionError, match="group_name 'bad group'"):
        AssetSpec("x", group_name="bad group")
    with pytest.raises(DefinitionError, match="job name"):
        define_asset_job("no/slash")


def test_multi_asset_needs_specs_or_outs():
    with pytest.raises(DefinitionError, match="multi_asset 'neither': give exactly one of"):
        @multi_asset()
        def neither():
            pass


def test_depending_on_a_whole_multi_asset():
    @multi_asset(outs={"p": AssetOut(), "q": AssetOut()})
    def pq():
        return 1, 2

    with pytest.raises(DefinitionError) as exc:
        @asset(deps=[pq])
        def downstream():
            return 1
    assert "multi-asset 'pq'" in str(exc.value) and "['p', 'q']" in str(exc.value)


def test_asset_check_with_unmapped_parameters():
    with pytest.raises(DefinitionError, match=r"additional_ins"):
        @asset_check(asset="orders")
        def two_inputs(orders, customers):
            pass


def test_not_an_asset_in_definitions():
    with pytest.raises(DefinitionError, match=r"Definitions\(assets=\): expected assets"):
        Definitions(assets=[42])


def test_executor_bad_config():
    with pytest.raises(DefinitionError, match="max_concurrent"):
        multiprocess_executor.configured({"max_concurrent": "four"})
    with pytest.raises(DefinitionError, match=r"has no config \['workers'\]"):
        multiprocess_executor.configured({"workers": 2})


def test_graph_input_not_a_handle():
    @op
    def takes(x):
        return x

    with pytest.raises(DefinitionError) as exc:
        @job
        def literal():
            takes(5)
    assert "graph 'literal', node 'takes'" in str(exc.value)
    assert "In(default_value=...)" in str(exc.value)


def test_graph_called_outside_composition():
    @op
    def o():
        return 1

    @graph
    def g():
        o()

    with pytest.raises(DefinitionError, match=r"g\.to_job\(\)\.execute_in_process\(\)"):
        g()


def test_unknown_input_keyword_in_composition():
    @op
    def takes(x):
        return x

    @op
    def one():
        return 1

    with pytest.raises(DefinitionError, match="'takes' has no input 'y'"):
        @job
        def j():
            takes(y=one())


# -- runtime mistakes ------------------------------------------------------------------------------
def test_wrong_return_arity():
    @op(out={"a": Out(), "b": Out()})
    def two_outs():
        return 1, 2, 3

    @job
    def j():
        two_outs()

    kind, msg = failure_message(j.execute_in_process(raise_on_error=False))
    assert kind == "DefinitionError"
    assert "op 'two_outs' has outputs ['a', 'b'] and must return a tuple of 2 values" in msg


def test_yielding_an_undeclared_output():
    @op(out={"a": Out()})
    def extra():
        yield Output(1, "a")
        yield Output(2, "zzz")

    @job
    def j():
        extra()

    _, msg = failure_message(j.execute_in_process(raise_on_error=False))
    assert "op 'extra' yielded output 'zzz', which it does not declare" in msg
    assert "['a']" in msg


def test_yielding_the_same_output_twice():
    @op
    def twice():
        yield Output(1)
        yield Output(2)

    @job
    def j():
        twice()

    _, msg = failure_message(j.execute_in_process(raise_on_error=False))
    assert "yielded output 'result'" in msg and "twice" in msg


def test_dynamic_output_bad_mapping_key():
    with pytest.raises(DefinitionError, match="mapping_key must be a non-empty string"):
        DynamicOutput(1, mapping_key="has space")


def test_plain_output_for_a_dynamic_out():
    from orchestrator import DynamicOut

    @op(out=DynamicOut())
    def fan():
        yield Output(1)

    @job
    def j():
        fan()

    _, msg = failure_message(j.execute_in_process(raise_on_error=False))
    assert "is a DynamicOut; yield DynamicOutput(value, mapping_key=...)" in msg


def test_required_output_not_produced():
    @op(out={"a": Out(), "b": Out()})
    def lazy():
        yield Output(1, "a")

    @job
    def j():
        lazy()

    _, msg = failure_message(j.execute_in_process(raise_on_error=False))
    assert "op 'lazy' finished without producing ['b']" in msg


def test_unconnected_input_without_default():
    @op
    def orphan(x):
        return x

    @job
    def j():
        orphan()

    _, msg = failure_message(j.execute_in_process(raise_on_error=False))
    assert "input 'x' of op 'orphan' is not connected" in msg
    assert "ops.orphan.inputs.x.value" in msg


def test_unknown_op_in_run_config():
    @op(config_schema={"n": int})
    def load(context):
        return context.op_config["n"]

    @job
    def j():
        load()

    with pytest.raises(ConfigError) as exc:
        j.execute_in_process(run_config={"ops": {"lod": {"config": {"n": 1}}}})
    assert "lod" in str(exc.value)
    assert "load" in str(exc.value)


def test_bad_config_value_names_the_exact_path():
    class LoadConfig(Config):
        limit: int

    @asset
    def load(config: LoadConfig):
        return config.limit

    with pytest.raises(ConfigError) as exc:
        materialize([load], run_config={"ops": {"load": {"config": {"limit": "ten"}}}})
    assert "ops.load.config.limit" in str(exc.value)
    assert "'ten'" in str(exc.value)
    assert any(e.startswith("ops.load.config.limit") for e in exc.value.errors)


def test_external_asset_selected_for_materialization():
    with pytest.raises(DefinitionError) as exc:
        materialize([AssetSpec("raw_events")], selection="raw_events")
    msg = str(exc.value)
    assert "selects only external assets ['raw_events']" in msg
    assert "cannot be materialized" in msg

    # the plan refuses an external asset however it got into a job's selection
    from orchestrator.assets.graph import AssetGraph
    from orchestrator.definitions import split_asset_like
    from orchestrator.execution.plan import build_asset_plan

    graph = AssetGraph(*split_asset_like([AssetSpec("raw_events")], "test"))
    with pytest.raises(DefinitionError, match="asset 'raw_events' is external.*remove it from"):
        build_asset_plan(graph, set(graph.all_keys), None, "j")


def test_op_selection_naming_nothing():
    @op
    def real():
        return 1

    @job
    def j():
        real()

    with pytest.raises(DefinitionError) as exc:
        j.execute_in_process(op_selection=["imaginary"])
    assert "op selection 'imaginary' names no op of job 'j'" in str(exc.value)
    assert "['real']" in str(exc.value)


def test_op_selection_leaving_out_a_needed_input():
    @op
    def up():
        return 1

    @op
    def down(x):
        return x

    @job
    def j():
        down(up())

    with pytest.raises(DefinitionError, match=r"leaves out 'up'.*prefix the selection with '\*'"):
        j.execute_in_process(op_selection=["down"])
    assert j.execute_in_process(op_selection=["*down"]).output_for_node("down") == 1


def test_unknown_job_name():
    defs = Definitions(jobs=[define_asset_job("daily")])
    with pytest.raises(DefinitionError, match=r"did you mean 'daily'"):
        defs.get_job_def("dayly")


def test_non_io_manager_resource_used_as_io_manager():
    @asset(io_manager_key="not_io")
    def stored():
        return 1

    _, msg = failure_message(materialize([stored], resources={"not_io": "a string"},
                                            raise_on_error=False))
    assert "resource 'not_io' is used as an IO manager but is a str" in msg


def test_every_error_class_is_an_orchestrator_error():
    for cls in (DefinitionError, ConfigError, ResourceError):
        assert issubclass(cls, OrchestratorError)


# -- validate() reports everything at once ---------------------------------------------------------
def test_validate_reports_every_problem_at_once():
    @asset(name="dup")
    def d1():
        return 1

    @asset(name="dup")
    def d2():
        return 1

    @asset
    def orphan_child(nonexistent_parent):
        return 1

    @asset(deps=["loop_b"])
    def loop_a():
        return 1

    @asset(deps=[loop_a])
    def loop_b():
        return 1

    @asset(required_resource_keys={"missing_res"})
    def needs_res(context):
        return 1

    defs = Definitions(assets=[d1, d2, orphan_child, loop_a, loop_b, needs_res],
                       jobs=[define_asset_job("bad_sel", "group:nowhere"),
                             define_asset_job("bad_sel", "dup")])
    with pytest.raises(DefinitionError) as exc:
        defs.validate()
    problems = exc.value.problems
    text = "\n".join(problems)
    assert "asset key 'dup' is defined twice" in text
    assert "'nonexistent_parent'" in text
    assert "cycle" in text and "loop_a" in text
    assert "'missing_res'" in text
    assert "job 'bad_sel'" in text and "nowhere" in text
    assert "job name 'bad_sel' is used twice" in text
    assert len(problems) >= 6
    assert str(exc.value).startswith(f"{len(problems)} problems in definitions")


# -- more mistakes found while testing -------------------------------------------------------------
@pytest.mark.parametrize("decorator, kind", [(op, "op"), (asset, "asset"), (graph, "graph"),
                                             (job, "job")])
def test_decorator_on_something_that_is_not_a_function(decorator, kind):
    with pytest.raises(DefinitionError, match=rf"@{kind} must decorate a function, got 5"):
        decorator(5)


def test_multi_asset_and_check_on_something_that_is_not_a_function():
    with pytest.raises(DefinitionError, match="@multi_asset must decorate a function"):
        multi_asset(specs=[AssetSpec("x")])("not a function")
    with pytest.raises(DefinitionError, match="@asset_check must decorate a function"):
        asset_check(asset="x")(None)


def test_asset_name_with_a_slash():
    with pytest.raises(DefinitionError, match=r"name='raw/orders' must be one non-empty key "
                                              r"part.*key_prefix="):
        @asset(name="raw/orders")
        def orders():
            return 1


@pytest.mark.parametrize("make, where", [
    (lambda: AssetSpec(5), "AssetSpec(key)"),
    (lambda: asset(ins={"x": AssetIn(key=5)})(lambda x: x), "AssetIn/AssetOut(key=...)"),
    (lambda: define_asset_job("j", selection=[3.5]), "AssetSelection.assets()"),
])
def test_bad_asset_key_values(make, where):
    with pytest.raises(DefinitionError) as exc:
        make()
    assert str(exc.value).startswith(where)
    assert "expected an asset key" in str(exc.value)


def test_something_that_is_not_a_job_in_definitions():
    with pytest.raises(DefinitionError, match=r"Definitions\(jobs=\): 123 is not a job"):
        Definitions(jobs=[123]).validate()


def test_bad_check_severity():
    from orchestrator import AssetCheckResult

    with pytest.raises(DefinitionError, match="severity='fatal'.*AssetCheckSeverity.WARN"):
        AssetCheckResult(passed=False, severity="fatal")
    with pytest.raises(DefinitionError, match="is not a severity"):
        AssetCheckResult(passed=False, severity=3)


def test_unknown_executor_name():
    @asset
    def e():
        return 1

    with pytest.raises(DefinitionError, match=r"unknown executor 'threads'.*'multiprocess'"):
        materialize([e], executor="threads")


def test_selection_matching_nothing_in_materialize():
    @asset
    def only():
        return 1

    with pytest.raises(DefinitionError, match=r"matches no asset; the assets given are \['only'\]"):
        materialize([only], selection=[])


def test_op_selection_on_an_asset_job():
    @asset
    def sel_a():
        return 1

    j = Definitions(assets=[sel_a], jobs=[define_asset_job("assets_job")]).get_job_def(
        "assets_job")
    with pytest.raises(DefinitionError, match="is an asset job: op_selection= does not apply"):
        j.execute_in_process(op_selection=["sel_a"])


def test_asset_check_returning_something_else():
    @asset
    def checked():
        return [1]

    @asset_check(asset=checked)
    def says_true(checked):
        return True

    _, msg = failure_message(materialize([checked, says_true], raise_on_error=False))
    assert msg == ("asset check 'says_true' on 'checked' must return an AssetCheckResult, got "
                   "bool; return AssetCheckResult(passed=...)")


def test_external_asset_io_manager_not_provided():
    @asset
    def uses_prices(prices):
        return prices

    defs = Definitions(assets=[AssetSpec("prices", io_manager_key="prices_io"), uses_prices])
    with pytest.raises(DefinitionError, match="external asset 'prices' is loaded with IO "
                                              "manager 'prices_io', which Definitions does not "
                                              "provide"):
        defs.validate()
    with pytest.raises(DefinitionError, match=r"needs resources \['prices_io'\]"):
        materialize([AssetSpec("prices", io_manager_key="prices_io"), uses_prices])
