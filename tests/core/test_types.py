"""Runtime types: TypeCheck, DagsterType, Nothing and the gradual annotation checker."""

from __future__ import annotations

import collections.abc as cabc
import enum
import subprocess
import sys
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, NewType, Optional, Protocol, TypedDict, TypeVar, Union

import pytest

from orchestrator.errors import TypeCheckError
from orchestrator.types import (
    DagsterType,
    Nothing,
    TypeCheck,
    TypeCheckContext,
    TypeDefinition,
    check_type,
    enforce_type,
    is_nothing,
    type_checker_for,
    type_name,
)


def ok(annotation: Any, value: Any) -> bool:
    checker = type_checker_for(annotation)
    assert checker is not None, f"{annotation!r} should be checked"
    return checker(value).success


def why(annotation: Any, value: Any) -> str:
    result = type_checker_for(annotation)(value)  # type: ignore[misc]
    assert not result.success
    return result.description


# -- what is not checked ---------------------------------------------------------------------

T = TypeVar("T")


@pytest.mark.parametrize("annotation", [Any, object, T, "SomeForwardRef",
                                        typing.ForwardRef("Missing")])
def test_unchecked_annotations_return_none(annotation):
    assert type_checker_for(annotation) is None
    assert check_type(annotation, object()).success


def test_inspect_empty_means_no_annotation():
    import inspect

    assert type_checker_for(inspect.Parameter.empty) is None
    assert type_checker_for(inspect.Signature.empty) is None


def test_non_runtime_protocol_is_skipped_but_runtime_protocol_is_checked():
    class Closer(Protocol):
        def close(self) -> None: ...

    @typing.runtime_checkable
    class RuntimeCloser(Protocol):
        def close(self) -> None: ...

    class File:
        def close(self) -> None:
            pass

    assert type_checker_for(Closer) is None
    assert ok(RuntimeCloser, File())
    assert not ok(RuntimeCloser, 3)


# -- classes ---------------------------------------------------------------------------------


def test_classes_are_checked_with_isinstance_and_message_names_both_sides():
    assert ok(int, 3)
    assert ok(str, "x")
    assert why(int, "ten") == "expected int, got str ('ten')"

    class Row:
        pass

    assert ok(Row, Row())
    assert why(Row, 3) == "expected test_classes_are_checked_with_isinstance_and_message_names_" \
                          "both_sides.<locals>.Row, got int (3)"


def test_numeric_tower_follows_static_type_checkers():
    # Documented decision: bool passes as int (it is one), int passes as float and complex.
    assert ok(int, True)
    assert ok(float, 3)
    assert ok(complex, 3)
    assert ok(complex, 1.5)
    assert not ok(int, 1.5)
    assert not ok(bool, 1)
    assert not ok(float, "1.0")


def test_none_annotation_requires_none():
    assert ok(None, None)
    assert ok(type(None), None)
    assert why(None, 0) == "expected None, got int (0)"


# -- unions ----------------------------------------------------------------------------------


def test_optional_and_union_spellings():
    # every spelling is tested, the typing ones too (hence the noqa for ruff's UP rules)
    for annotation in (Optional[int], Union[int, None], int | None):  # noqa: UP007, UP045
        assert ok(annotation, None)
        assert ok(annotation, 3)
        assert why(annotation, "x") == "expected int | None, got str ('x')"
    assert ok(int | str, "x")
    assert why(int | str, 1.5) == "expected int | str, got float (1.5)"
    assert ok(Optional[list[int]], [1])  # noqa: UP045 - typing spelling on purpose
    assert why(Optional[list[int]], ["a"]) == (  # noqa: UP045 - typing spelling on purpose
        "expected list[int] | None, got list with element 0 of type str ('a')")


def test_union_with_any_is_not_checked():
    assert type_checker_for(Union[int, Any]) is None  # noqa: UP007 - typing spelling on purpose


# -- containers ------------------------------------------------------------------------------


def test_list_elements_are_checked_and_failing_element_is_named():
    assert ok(list[int], [1, 2, 3])
    assert ok(list[int], [])
    assert why(list[int], [0, 1, 2, "x"]) == \
        "expected list[int], got list with element 3 of type str ('x')"
    assert why(list[int], (1, 2)) == "expected list[int], got tuple ((1, 2))"
    assert ok(typing.List[int], [1])  # noqa: UP006
    assert not ok(typing.List[int], ["a"])  # noqa: UP006


def test_nested_containers_name_the_path():
    assert why(list[list[int]], [[1], [2, "x"]]) == (
        "expected list[list[int]], got list with element 1 of type "
        "list with element 1 of type str ('x')")
    assert ok(dict[str, list[int]], {"a": [1, 2]})
    assert why(dict[str, list[int]], {"a": [1, None]}) == (
        "expected dict[str, list[int]], got dict with value at key 'a' of type "
        "list with element 1 of type NoneType (None)")


def test_elements_of_union_type():
    assert ok(list[int | None], [1, None, 2])
    assert why(list[int | None], [1, "x"]) == \
        "expected list[int | None], got list with element 1 of type str ('x')"
    assert ok(dict[str, int | str], {"a": 1, "b": "c"})
    assert not ok(dict[str, int | str], {"a": 1.5})


def test_sets_and_frozensets():
    assert ok(set[int], {1, 2})
    assert why(set[int], {"a"}) == "expected set[int], got set with element of type str ('a')"
    assert ok(frozenset[str], frozenset({"a"}))
    assert not ok(frozenset[str], {"a"})


def test_tuples_fixed_variadic_and_empty():
    assert ok(tuple[int, str], (1, "a"))
    assert why(tuple[int, str], (1,)) == \
        "expected tuple[int, str], got tuple of length 1 (expected 2)"
    assert why(tuple[int, str], (1, 2)) == \
        "expected tuple[int, str], got tuple with element 1 of type int (2)"
    assert ok(tuple[int, ...], (1, 2, 3))
    assert why(tuple[int, ...], (1, "a")) == \
        "expected tuple[int, ...], got tuple with element 1 of type str ('a')"
    assert ok(tuple[()], ())
    assert not ok(tuple[()], (1,))
    assert ok(typing.Tuple, (1, "a"))  # noqa: UP006 - bare: any tuple
    assert not ok(tuple[int, str], [1, "a"])


def test_dicts_check_keys_and_values():
    assert ok(dict[str, int], {"a": 1})
    assert why(dict[str, int], {"a": "1"}) == \
        "expected dict[str, int], got dict with value at key 'a' of type str ('1')"
    assert why(dict[str, int], {1: 1}) == \
        "expected dict[str, int], got dict with key of type int (1)"
    assert why(dict[str, int], [("a", 1)]) == "expected dict[str, int], got list ([('a', 1)])"


def test_abc_sequences_and_mappings_check_elements():
    assert ok(cabc.Sequence[int], (1, 2))
    assert ok(cabc.Sequence[int], [1, 2])
    assert not ok(cabc.Sequence[int], [1, "a"])
    assert ok(cabc.Mapping[str, int], {"a": 1})
    assert not ok(cabc.Mapping[str, int], {"a": "b"})
    assert ok(typing.Sequence[str], "abc")  # a str is a sequence of str


def test_other_generics_check_the_container_only():
    assert ok(cabc.Iterator[int], iter(["not", "an", "int"]))  # not consumed
    assert not ok(cabc.Iterator[int], [1])

    class Box(typing.Generic[T]):
        pass

    assert ok(Box[int], Box())
    assert not ok(Box[int], 3)


# -- special forms ---------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_literal_is_exact_about_type():
    assert ok(Literal["a", "b"], "a")
    assert why(Literal["a", "b"], "c") == "expected Literal['a', 'b'], got str ('c')"
    assert ok(Literal[1], 1)
    assert not ok(Literal[1], True)  # 1 == True, but True is not the literal 1
    assert ok(Literal[Color.RED], Color.RED)
    assert not ok(Literal[Color.RED], "red")


def test_annotated_newtype_type_and_callable():
    assert ok(Annotated[int, "meta"], 1)
    assert why(Annotated[int, "meta"], "x") == "expected int, got str ('x')"
    UserId = NewType("UserId", int)
    assert ok(UserId, 5)
    assert not ok(UserId, "5")
    assert ok(type[int], bool)
    assert not ok(type[int], str)
    assert not ok(type[int], 3)
    assert ok(cabc.Callable[[int], int], len)
    assert why(cabc.Callable[[int], int], 3) == "expected Callable, got int (3)"


def test_typeddict_checks_dict_only():
    class Movie(TypedDict):
        title: str

    assert ok(Movie, {"title": 1})
    assert not ok(Movie, ["title"])


def test_unhashable_annotation_still_works():
    annotation = Annotated[int, {"unhashable": []}]
    assert ok(annotation, 1)
    assert not ok(annotation, "1")


def test_checkers_are_cached_per_annotation():
    assert type_checker_for(list[int]) is type_checker_for(list[int])
    assert type_checker_for(int) is type_checker_for(int)


def test_type_name():
    assert type_name(list[int]) == "list[int]"
    assert type_name(Optional[int]) == "int | None"  # noqa: UP045 - typing spelling on purpose
    assert type_name(dict[str, tuple[int, ...]]) == "dict[str, tuple[int, ...]]"
    assert type_name(Literal["a"]) == "Literal['a']"
    assert type_name(None) == "None"
    assert type_name(Any) == "Any"


# -- DagsterType -----------------------------------------------------------------------------


def test_dagster_type_with_bool_check():
    non_empty = DagsterType(type_check_fn=lambda _, value: len(value) > 0, name="NonEmptyList")
    assert TypeDefinition is DagsterType
    assert type_checker_for(non_empty)([1]).success
    result = type_checker_for(non_empty)([])
    assert not result.success
    assert "NonEmptyList" in result.description
    assert "list ([])" in result.description


def test_dagster_type_returning_typecheck_keeps_description_and_metadata():
    def check(_context, rows):
        if not rows:
            return TypeCheck(False, description="no rows")
        return TypeCheck(True, metadata={"row_count": len(rows)})

    rows_type = DagsterType(check, name="Rows")
    passed = type_checker_for(rows_type)([1, 2])
    assert passed.success and passed.metadata == {"row_count": 2}
    failed = type_checker_for(rows_type)([])
    assert failed == TypeCheck(False, description="no rows")


def test_dagster_type_receives_the_context():
    seen = []
    traced = DagsterType(lambda context, value: seen.append(context.run_id) or True, name="Traced")
    type_checker_for(traced)(1, TypeCheckContext(run_id="run-1"))
    assert seen == ["run-1"]


def test_dagster_type_inside_containers_and_optional():
    calls = []

    def positive(_context, value):
        calls.append(value)
        return value > 0

    positive_type = DagsterType(positive, name="Positive")
    assert ok(list[positive_type], [1, 2])  # type: ignore[valid-type]
    assert why(list[positive_type], [1, -1]) == (  # type: ignore[valid-type]
        "expected list[Positive], got list with element 1 of type int (-1) that fails Positive")
    calls.clear()
    assert ok(positive_type | None, None)
    assert calls == []  # None matched first, the check function never saw it
    assert ok(Optional[positive_type], 3)  # type: ignore[valid-type]  # noqa: UP045 - on purpose


def test_dagster_type_works_as_a_resolved_annotation():
    NonEmpty = DagsterType(lambda _, v: bool(v), name="NonEmpty")

    def clean(rows: NonEmpty) -> NonEmpty:  # type: ignore[valid-type]
        return rows

    hints = typing.get_type_hints(clean, localns={"NonEmpty": NonEmpty})
    assert hints["rows"] is NonEmpty
    assert not type_checker_for(hints["rows"])([]).success


def test_dagster_type_bad_definitions_and_bad_check_functions():
    with pytest.raises(TypeCheckError, match="type_check_fn must be a function"):
        DagsterType("not callable", name="X")  # type: ignore[arg-type]
    with pytest.raises(TypeCheckError, match="must be a Python identifier.*'not a name'"):
        DagsterType(lambda _, v: True, name="not a name")

    raising = DagsterType(lambda _, v: v.missing_attribute, name="Raising")
    with pytest.raises(TypeCheckError, match="type check function of 'Raising' raised "
                                             "AttributeError") as info:
        type_checker_for(raising)(1)
    assert isinstance(info.value.__cause__, AttributeError)

    wrong = DagsterType(lambda _, v: "yes", name="Wrong")
    with pytest.raises(TypeCheckError, match="'Wrong' returned str .*'yes'.*bool or a TypeCheck"):
        type_checker_for(wrong)(1)

    with pytest.raises(TypeCheckError, match="must be a bool, got str"):
        TypeCheck("yes")  # type: ignore[arg-type]


# -- Nothing and enforce_type ----------------------------------------------------------------


def test_nothing_marker():
    assert is_nothing(Nothing)
    assert is_nothing(Annotated[Nothing, "x"])
    assert not is_nothing(None)
    assert type_checker_for(Nothing)(None).success
    failed = type_checker_for(Nothing)(5)
    assert "carries no data" in failed.description and "int (5)" in failed.description


def test_enforce_type_raises_naming_the_place():
    assert enforce_type(int, 3, "output of asset 'count'").success
    with pytest.raises(TypeCheckError) as info:
        enforce_type(list[int], [1, "x"], "input 'rows' of asset 'clean'")
    message = str(info.value)
    assert message.startswith("input 'rows' of asset 'clean': expected list[int], got list "
                              "with element 1 of type str ('x')")
    assert info.value.type_check.success is False  # type: ignore[attr-defined]


def test_long_values_are_shortened_in_messages():
    description = why(int, "x" * 500)
    assert len(description) < 120 and description.endswith("...)")


def test_importing_types_does_not_import_pydantic():
    code = ("import sys, orchestrator.types, orchestrator.resources; "
            "print('pydantic' in sys.modules)")
    repo = Path(__file__).resolve().parents[2]  # this checkout, whatever is installed
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=repo)
    assert out.stdout.strip() == "False"


# The examples in docs/concepts/ are run by tests/docs/test_docs_examples.py.
