"""Browsers find an icon: linked from every page and answered at /favicon.ico (no more 404s)."""

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, static("core/favicon.svg"))


def test_the_icon_is_an_svg_in_static():
    path = finders.find("core/favicon.svg")
    with open(path, encoding="utf-8") as icon:
        assert icon.read().startswith('<svg xmlns="http://www.w3.org/2000/svg"')


def test_every_page_links_the_icon(client):
    html = client.get(reverse("login")).content.decode()
    assert f'<link rel="icon" href="{static("core/favicon.svg")}" type="image/svg+xml">' in html
