"""Initials avatars: `{% load charla_avatar %}`, `{{ name|initials }}` and `{{ pk|avatar_colour }}`.

The colour is one of AVATAR_COLOURS (classes in portal.css, all AA-contrast with white text), picked by
a multiplicative hash of the id so neighbouring ids get different colours and a contact keeps its own.
"""

from __future__ import annotations

from django import template

register = template.Library()

AVATAR_COLOURS = 8
_KNUTH = 2654435761


@register.filter
def initials(name: object) -> str:
    text = str(name or "")
    if not any(ch.isalpha() for ch in text):  # a phone number: its last two digits tell contacts apart
        digits = [ch for ch in text if ch.isdigit()]
        return "".join(digits[-2:]) or "?"
    words = [w for w in text.split() if w[:1].isalpha()]
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[-1][0]).upper()


@register.filter
def avatar_colour(pk: object) -> int:
    number = int(pk) if str(pk).isdigit() else 0
    return ((number * _KNUTH) % 2**32) % AVATAR_COLOURS
