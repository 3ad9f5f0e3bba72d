"""templates/core/form_fields.html: every id a widget's aria-describedby names (as Django renders it) exists,
so screen readers announce help texts and errors."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _ids_described(html: str, widget_id: str) -> list[str]:
    tag = re.search(rf'<input[^>]*\bid="{widget_id}"[^>]*>', html).group(0)
    return re.search(r'aria-describedby="([^"]*)"', tag).group(1).split()


def test_help_text_and_error_are_named_by_the_widget_and_present(member_client, admin_membership):
    client = member_client(admin_membership)
    data = {"name": "Bad", "timezone": "Nowhere/Atlantis", "day_0": "09:00-17:00"}
    html = client.post(reverse("tickets:hours_list"), data).content.decode()
    assert 'id="id_timezone"' in html and 'aria-invalid="true"' in html
    assert _ids_described(html, "id_timezone") == ["id_timezone_helptext", "id_timezone_error"]
    assert '<small id="id_timezone_helptext">IANA time zone, e.g. Europe/Madrid.</small>' in html
    assert re.search(r'<div id="id_timezone_error"><p class="field-error">[^<]+</p></div>', html)


def test_a_checkbox_comes_before_its_label_on_one_line():
    from django import forms
    from django.template.loader import render_to_string

    class Choice(forms.Form):
        name = forms.CharField()
        agree = forms.BooleanField(label="I agree", required=False)

    html = render_to_string("core/form_fields.html", {"form": Choice()})
    assert re.search(
        r'<div class="field checkbox">\s*<input type="checkbox" name="agree" id="id_agree">'
        r'<label for="id_agree">I agree</label>',
        html,
    )
    assert re.search(r'<div class="field">\s*<label for="id_name">Name</label>\s*<input type="text" name="name"', html)
