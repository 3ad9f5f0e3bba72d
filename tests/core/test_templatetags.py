"""The template filters the inbox uses: initials avatars and relative times."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import timezone

from apps.core.templatetags.charla_avatar import AVATAR_COLOURS, avatar_colour, initials
from apps.core.templatetags.charla_time import relative_label


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


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (dt.timedelta(seconds=30), "now"),
        (dt.timedelta(minutes=5), "5 min"),
        (dt.timedelta(hours=3, minutes=59), "3 h"),
        (dt.timedelta(days=2), "2 d"),
        (dt.timedelta(days=15), "2 w"),
        (dt.timedelta(days=65), "2 mo"),
        (dt.timedelta(days=800), "2 y"),
        (dt.timedelta(seconds=-90), "now"),
    ],
)
def test_relative_label(ago, expected):
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assert relative_label(now - ago, now=now) == expected


def test_relative_time_renders_a_time_element_with_the_iso_moment():
    moment = timezone.now() - dt.timedelta(minutes=5)
    html = Template("{% load charla_time %}{{ moment|relative_time }}|{{ nothing|relative_time }}").render(
        Context({"moment": moment})
    )
    iso = moment.astimezone(dt.UTC).isoformat()
    assert html.startswith(f'<time datetime="{iso}" title="') and html.endswith(">5 min</time>|")
