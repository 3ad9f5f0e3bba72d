"""The Content-Security-Policy header, and templates that need nothing it refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories.conversations import ChannelFactory

pytestmark = pytest.mark.django_db
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Inline scripts, on*= handlers, htmx's hx-on handlers (evaluated code all the same), javascript: URLs, styles.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\s(?:data-)?hx-on[\w:.-]*\s*=|javascript:|\sstyle\s*=|<style",
    re.IGNORECASE,
)


def test_portal_pages_carry_the_policy(client):
    response = client.get(reverse("login"))
    assert response["Content-Security-Policy"] == POLICY


def test_the_api_docs_relax_styles_only(client):
    policy = client.get(reverse("api-docs"))["Content-Security-Policy"]
    assert policy == POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    script = client.get(reverse("api-docs") + "?script")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_a_response_with_its_own_policy_keeps_it(api, merchant, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.conversations import uploads
    from apps.conversations.services import message_send
    from tests.factories.conversations import ConversationFactory

    settings.MEDIA_ROOT = tmp_path
    conversation = ConversationFactory(merchant=merchant, channel=ChannelFactory(merchant=merchant, kind="webchat"))
    upload = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    message = message_send(conversation=conversation, author=None, text="f", is_note=True,
                           attachments=[uploads.attachment_summary(upload, "document")])  # fmt: skip
    attachment = uploads.attachment_store(message=message, upload=upload, media_type="document")
    response = api.get(f"/api/v1/attachments/{attachment.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_no_template_has_an_inline_script_handler_or_style():
    roots = [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR, "apps").glob("*/templates")]
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)}"
        for root in roots
        for path in root.rglob("*.html")
        for match in INLINE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
