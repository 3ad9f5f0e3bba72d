"""What an erased person leaves in free text and JSON, and how it is taken out (pure: no database).

Identifiers (phone, e-mail, channel ids) name the person on their own: a row that mentions one is
about them, wherever it is. Name words are too common for that ("Ana" is in "banana"), so they are
only scrubbed from rows already tied to the person (their messages, tickets, admin log entries).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from apps.contacts.suppression import hash_kind, identifier_normalize, suppression_hash

ERASED = "[erased]"
MIN_IDENTIFIER = 5  # shorter values (a stray "+1") would match unrelated rows
MIN_NAME_WORD = 3


class _Dropped:
    """Marks a JSON node that is about the person: its nearest enclosing list drops it."""


DROPPED = _Dropped()


@dataclass(frozen=True)
class Traces:
    """The strings an erased person can be found by, and the suppression token each identifier becomes."""

    tokens: dict[str, str] = field(default_factory=dict)  # identifier (lower case) -> "erased:<hash>"
    names: tuple[str, ...] = ()  # full names, then their words (lower case, longest first)
    full_names: frozenset[str] = frozenset()

    @property
    def identifiers(self) -> list[str]:
        return sorted(self.tokens, key=len, reverse=True)

    def mentions(self, text: str) -> bool:
        lowered = text.lower()
        return any(identifier in lowered for identifier in self.tokens)

    def scrub(self, text: str) -> str:
        """Every identifier and (whole-word) name replaced by ERASED."""
        text = self._replace(text, self.identifiers, lambda _: ERASED)
        return self._replace(text, list(self.names), lambda _: ERASED, whole_words=True)

    def tokenize(self, text: str) -> str:
        """Every identifier replaced by its suppression token: still comparable, no longer readable."""
        return self._replace(text, self.identifiers, lambda found: self.tokens[found.lower()])

    def scrub_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self.scrub_json(item) for item in value]
        if isinstance(value, dict):
            return {self.scrub(str(key)): self.scrub_json(item) for key, item in value.items()}
        return value

    def prune_json(self, value: Any) -> Any:
        """`value` without the parts about the person: an object holding an identifier (a message's
        "from", a status's "recipient_id") is about them, and is dropped from the list that holds it.
        Returns DROPPED when nothing encloses it."""
        if isinstance(value, dict):
            pruned = {key: self.prune_json(item) for key, item in value.items()}
            return DROPPED if any(item is DROPPED for item in pruned.values()) else pruned
        if isinstance(value, list):
            return [item for item in map(self.prune_json, value) if item is not DROPPED]
        if isinstance(value, str | int) and not isinstance(value, bool) and self._names_person(str(value)):
            return DROPPED
        return value

    def _names_person(self, text: str) -> bool:
        return self.mentions(text) or text.strip().lower() in self.full_names

    @staticmethod
    def _replace(text: str, needles: list[str], replacement, whole_words: bool = False) -> str:
        if not text or not needles:
            return text
        alternatives = "|".join(re.escape(needle) for needle in needles)
        pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)" if whole_words else alternatives, re.IGNORECASE)
        return pattern.sub(lambda match: replacement(match.group(0)), text)


def traces_build(*, names: Iterable[str], phones: Iterable[str], emails: Iterable[str],
                 identities: Iterable[tuple[str, str]]) -> Traces:  # fmt: skip
    """Traces of one person (a contact and the contacts merged into it)."""
    tokens: dict[str, str] = {}
    for kind, values in (("phone", phones), ("email", emails)):
        for value in values:
            _add(tokens, kind, value)
    for kind, external_id in identities:
        _add(tokens, hash_kind(kind), external_id)
    names = [name.strip().lower() for name in names if name and name.strip()]
    return Traces(tokens=tokens, names=_name_variants(names), full_names=frozenset(names))


def _add(tokens: dict[str, str], kind: str, value: str) -> None:
    value = (value or "").strip()
    if len(value) < MIN_IDENTIFIER:
        return
    token = f"erased:{suppression_hash(kind, value)}"
    forms = {value, identifier_normalize(kind, value)}
    if kind == "phone":
        forms.add(value.lstrip("+"))  # a wa_id is the phone without "+"
    for form in forms:
        if len(form) >= MIN_IDENTIFIER:
            tokens[form.lower()] = token


def _name_variants(full: list[str]) -> tuple[str, ...]:
    """Full names, then their words, longest first (a longer match wins in the regex alternation)."""
    words = {word for name in full for word in re.split(r"\W+", name) if len(word) >= MIN_NAME_WORD}
    return tuple(dict.fromkeys([*sorted(full, key=len, reverse=True), *sorted(words, key=len, reverse=True)]))
