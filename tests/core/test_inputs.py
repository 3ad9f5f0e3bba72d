"""The edge module on its own: what numbers, text and JSON it lets through, and what it refuses."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core import inputs

FORBIDDEN = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\ud800", "\udfff"]
UNSTORABLE = ["\x00", "\ud800", "\udfff"]


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "value", ["²", "³", "٣", "\uff11\uff12", "1²", "-1", "+1", "1.0", "", " ", "1_000", "0x10", True, None]
)
def test_ascii_int_refuses_everything_but_ascii_digits(value):
    assert inputs.ascii_int(value) is None


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("42", 42), (" 7 ", 7), (12, 12), ("007", 7)])
def test_ascii_int_reads_ascii_digits(value, expected):
    assert inputs.ascii_int(value) == expected


def test_ascii_int_refuses_numbers_past_the_database_range():
    assert inputs.ascii_int(str(inputs.BIGINT_MAX)) == inputs.BIGINT_MAX
    assert inputs.ascii_int(str(inputs.BIGINT_MAX + 1)) is None
    assert inputs.ascii_int("9" * 5000) is None  # past Python's own int-string limit: no ValueError
    assert inputs.ascii_int(-1) is None


@given(st.text(max_size=30))
def test_ascii_int_never_raises_and_agrees_with_the_ascii_rule(value):
    number = inputs.ascii_int(value)
    stripped = value.strip()
    if stripped and all(c in "0123456789" for c in stripped) and int(stripped) <= inputs.BIGINT_MAX:
        assert number == int(stripped)
    else:
        assert number is None


def test_ascii_digits_keeps_only_ascii_digits():
    assert inputs.ascii_digits("+34 600-111²٣") == "34600111"
    assert inputs.is_ascii_digits("34600111") and not inputs.is_ascii_digits("3460011²")


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize("char", UNSTORABLE)
def test_text_with_nul_or_a_lone_surrogate_is_refused_and_cleanable(char):
    assert inputs.text_problem(f"a{char}b") is not None
    assert inputs.text_clean(f"a{char}b") == "ab"
    with pytest.raises(inputs.InputError) as caught:
        inputs.text_check(f"a{char}b", field="name")
    assert caught.value.field == "name"


@pytest.mark.parametrize("char", sorted(set(FORBIDDEN) - set(UNSTORABLE)))
def test_other_control_characters_are_storable_and_only_cleaned_from_text_we_cannot_send_back(char):
    assert inputs.text_problem(f"a{char}b") is None
    assert inputs.text_check(f"a{char}b", field="name") == f"a{char}b"
    assert inputs.text_clean(f"a{char}b") == "ab"


def test_text_problem_names_what_cannot_be_stored():
    assert inputs.text_problem("a\x00") == "Must not contain NUL characters."
    assert inputs.text_problem("a\ud800") == "Must not contain unpaired surrogate characters."


@pytest.mark.parametrize("text", ["plain", "tab\there", "lines\r\nand\n", "emoji 🎉 ñ ²", ""])
def test_ordinary_text_passes_unchanged(text):
    assert inputs.text_problem(text) is None
    assert inputs.text_check(text) == text == inputs.text_clean(text)


@given(st.text())
def test_cleaned_text_always_passes(text):
    assert inputs.text_problem(inputs.text_clean(text)) is None


# --------------------------------------------------------------------------- JSON
def test_json_within_bounds_parses():
    doc = {"a": [1, 2.5, {"b": "tab\t"}], "c": None, "d": True}
    assert inputs.json_loads(json.dumps(doc).encode()) == doc


def test_json_nested_past_the_bound_is_refused_before_parsing():
    deep = "[" * 10_000 + "]" * 10_000
    with pytest.raises(inputs.InputError, match="nested deeper than 32 levels"):
        inputs.json_loads(deep)
    at_bound = "[" * inputs.JSON_MAX_DEPTH + "]" * inputs.JSON_MAX_DEPTH
    assert inputs.json_loads(at_bound) is not None


def test_brackets_inside_strings_do_not_count_as_depth():
    doc = {"text": "[" * 1000 + '\\"{' * 100}
    assert inputs.json_loads(json.dumps(doc)) == doc


def test_json_larger_than_the_setting_is_refused(settings):
    settings.INPUT_JSON_MAX_BYTES = 100
    with pytest.raises(inputs.InputError, match="larger than 100 bytes"):
        inputs.json_loads(json.dumps({"a": "x" * 100}))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"a": NaN}', "NaN"),
        ('{"a": Infinity}', "Infinity"),
        ('{"a": 1e400}', "out of range"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("{not json", "malformed"),
        ('{"a": ' + "1" * 5000 + "}", "malformed"),
    ],
)
def test_json_that_postgresql_or_python_cannot_hold_is_refused(raw, message):
    with pytest.raises(inputs.InputError, match=message):
        inputs.json_loads(raw)


def test_json_strings_with_nul_are_refused_naming_the_top_level_key():
    with pytest.raises(inputs.InputError) as caught:
        inputs.json_loads('{"attributes": {"note": ["ok", "bad\\u0000"]}}')
    assert (caught.value.field, caught.value.message) == ("attributes", "Must not contain NUL characters.")
    with pytest.raises(inputs.InputError) as caught:
        inputs.json_loads('{"ke\\u0000y": 1}')
    assert caught.value.field == "key"


def test_json_strings_are_cleaned_when_the_sender_cannot_be_refused():
    raw = '{"text": "hi\\u0000 there\\ud800", "k\\u0001": ["\\u001b[31m"]}'
    assert inputs.json_loads(raw, strip_controls=True) == {"text": "hi there", "k": ["[31m"]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200)
@given(json_values)
def test_any_json_document_is_parsed_or_refused_with_input_error(value):
    raw = json.dumps(value)
    try:
        parsed = inputs.json_loads(raw, strip_controls=True)
    except inputs.InputError as exc:
        assert "nested deeper" in exc.message
        return
    assert all(inputs.text_problem(s) is None for s in _strings(parsed))


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_input_error(raw):
    with contextlib.suppress(inputs.InputError):
        inputs.json_loads(raw)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
