"""The inbox's initials avatars (relative times: tests/core/test_timefmt.py and test_charla_time.py)."""

from __future__ import annotations

import pytest

from apps.core.templatetags.charla_avatar import AVATAR_COLOURS, avatar_colour, initials


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ana Lucía Torres", "AT"),
        ("ana", "AN"),
        ("+34 600 111 222", "22"),
        ("ana@shop.test", "AN"),
        ("Visitor #12", "VI"),
        ("", "?"),
        (None, "?"),
        ("  ·  ", "?"),
    ],
)
def test_initials(name, expected):
    assert initials(name) == expected


def test_avatar_colour_is_stable_in_range_and_spreads_neighbours():
    colours = [avatar_colour(pk) for pk in range(1, 9)]
    assert all(0 <= c < AVATAR_COLOURS for c in colours)
    assert len(set(colours)) >= 4
    assert avatar_colour(7) == avatar_colour("7") == colours[6]
    assert avatar_colour(None) == 0
