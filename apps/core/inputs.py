"""The one place that decides what untrusted text, numbers and JSON may look like before they go further.

Everything a stranger can send (API bodies and query strings, the widget, sockets, Meta's webhooks)
goes through here at the edge, so the rest of the code can trust what it holds:

- numbers are ASCII digits only: `"²".isdigit()` is True but `int("²")` raises, and `"٣"` would
  quietly become 3;
- text holds no NUL (PostgreSQL refuses it in text and jsonb) and no lone surrogate (it cannot be
  encoded to UTF-8): such text is refused, naming the field. Other C0 controls are storable and so
  accepted from callers, who can be told the API's rules (the schema states them); text we cannot send
  back (Meta's traffic) is cleaned of them as well (`text_clean`);
- JSON is bounded in size and depth before the parser sees it (a deep document makes Python's
  parser, and everything that walks the result, hit the recursion limit), and holds no NaN or
  infinity (jsonb refuses them).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings

BIGINT_MAX = 2**63 - 1
JSON_MAX_DEPTH = 32

_DIGITS = re.compile(r"[0-9]+")
_NON_DIGITS = re.compile(r"[^0-9]+")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: linear, no per-character branch
_JSON_BRACKET = re.compile(r"[\[\]{}]")


class InputError(ValueError):
    """Input refused at the edge. `field` names the top-level key or parameter at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --------------------------------------------------------------------------- numbers
def is_ascii_digits(value: str) -> bool:
    return _DIGITS.fullmatch(value) is not None


def ascii_digits(value: str) -> str:
    """Only the ASCII digits of `value` ("+34 600-111" -> "34600111")."""
    return _NON_DIGITS.sub("", value)


def ascii_int(value: Any, *, maximum: int = BIGINT_MAX) -> int | None:
    """A non-negative integer written in ASCII digits (surrounding spaces allowed) and at most `maximum`;
    None for anything else, including booleans and Unicode digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= maximum else None
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not is_ascii_digits(value) or len(value) > len(str(maximum)):
        return None
    number = int(value)
    return number if number <= maximum else None


# --------------------------------------------------------------------------- text
def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Must not contain NUL characters."
    return "Must not contain unpaired surrogate characters."


def text_check(value: str, *, field: str | None = None) -> str:
    """`value` unchanged, or InputError naming `field` when it holds what text may not."""
    problem = text_problem(value)
    if problem:
        raise InputError(problem, field=field)
    return value


def text_clean(value: str) -> str:
    """`value` without the characters text may not hold: for text we cannot send back (Meta's traffic)."""
    return _FORBIDDEN.sub("", value)


# --------------------------------------------------------------------------- JSON
def json_loads(
    raw: bytes | str, *, strip_controls: bool = False, max_bytes: int | None = None, check_strings: bool = True
) -> Any:
    """Parse a JSON document within the size and depth bounds.

    Strings (keys and values) with forbidden characters are refused, or cleaned when `strip_controls`
    (for documents whose sender cannot be asked to fix them). `check_strings=False` leaves them to the
    caller, which checks only the parts it reads (`json_strings_check`): the API ignores unknown
    properties, so what is in them must not refuse the call. Raises InputError.
    """
    limit = settings.INPUT_JSON_MAX_BYTES if max_bytes is None else max_bytes
    if len(raw) > limit:
        raise InputError(f"The JSON document is larger than {limit} bytes.")
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("The JSON document is not UTF-8.") from exc
    _depth_check(raw)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except InputError:
        raise
    except ValueError as exc:  # JSONDecodeError, and too many digits for an int
        raise InputError(f"The JSON document is malformed: {exc}") from exc
    if strip_controls:
        return _strings_clean(data)
    return json_strings_check(data, field=None) if check_strings else data


def _depth_check(text: str) -> None:
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > JSON_MAX_DEPTH:
            raise InputError(f"The JSON document is nested deeper than {JSON_MAX_DEPTH} levels.")


def _refuse_constant(name: str) -> float:
    raise InputError(f"The JSON document holds {name}, which is not a number JSON allows.")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise InputError(f"The JSON number {text[:40]} is out of range.")
    return number


def json_strings_check(data: Any, *, field: str | None) -> Any:
    """`data` unchanged when every string in it (keys included) can be stored; InputError naming `field`
    (or the top-level key) otherwise."""
    if isinstance(data, str):
        return text_check(data, field=field)
    if isinstance(data, list):
        for item in data:
            json_strings_check(item, field=field)
    elif isinstance(data, dict):
        for key, value in data.items():
            name = field if field is not None else text_clean(key)
            text_check(key, field=name)
            json_strings_check(value, field=name)
    return data


def _strings_clean(data: Any) -> Any:
    if isinstance(data, str):
        return text_clean(data)
    if isinstance(data, list):
        return [_strings_clean(item) for item in data]
    if isinstance(data, dict):
        return {text_clean(key): _strings_clean(value) for key, value in data.items()}
    return data
