"""Inbound media through the real webhook, worker task and guard: a signed webhook cannot make us fetch
(and hand back) what an internal address answers. Issue 12, item 1."""

import pytest
from django.conf import settings as django_settings

from apps.conversations.models import Attachment, Message
from tests.conversations.conftest import sign
from tests.samples import FB_PAGE_ID, FB_PSID

pytestmark = pytest.mark.django_db

PSID, PAGE = FB_PSID, FB_PAGE_ID
JPEG = b"\xff\xd8\xff\xe0" + b"j" * 600


@pytest.fixture(autouse=True)
def guard_on(settings):
    settings.CHARLA_OUTBOUND_ALLOW_PRIVATE = False


@pytest.fixture
def deliver(client, fb_channel, eager, django_capture_on_commit_callbacks):
    """deliver(url) -> Attachment: Meta's signed webhook with one image, processed and fetched as in production."""

    def send(url: str) -> Attachment:
        import json

        body = json.dumps(_image_webhook(url)).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/webhooks/messenger/{fb_channel.pk}/",
                data=body,
                content_type="application/json",
                HTTP_X_HUB_SIGNATURE_256=sign(body, fb_channel.app_secret),
            )
        assert response.status_code == 200
        return Attachment.objects.get(message__provider_message_id="m_IMG")

    return send


def _image_webhook(url: str) -> dict:
    message = {"mid": "m_IMG", "attachments": [{"type": "image", "payload": {"url": url}}]}
    messaging = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1764057601000, "message": message}
    return {"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [messaging]}]}


@pytest.fixture
def internal(fake_hosts):
    """A service only the server's own network can reach (an admin page, the metadata endpoint...)."""
    host = fake_hosts()
    host.route("/secret", body=b"aws-secret-access-key=XYZ", headers={"Content-Type": "text/plain"})
    return host


@pytest.mark.parametrize(
    "url, error",
    [
        ("http://127.0.0.1:{port}/secret", "only https URLs are fetched, not http"),
        ("https://127.0.0.1:{port}/secret", "127.0.0.1:{port} is not a host we fetch from"),
        ("https://169.254.169.254/latest/meta-data/iam/", "169.254.169.254 is not a host we fetch from"),
        ("https://localhost:{port}/secret", "localhost:{port} is not a host we fetch from"),
        ("https://rebind.fbcdn.net:{port}/secret", "rebind.fbcdn.net resolves to a non-public address (127.0.0.1)"),
        ("https://scontent.xx.fbcdn.net/to-internal", "rebind.fbcdn.net resolves to a non-public address (127.0.0.1)"),
        ("https://scontent.xx.fbcdn.net/to-metadata", "only https URLs are fetched, not http"),
    ],
)
def test_webhook_attachment_pointing_inside_is_never_fetched(deliver, internal, fake_hosts, fake_network, url, error):
    cdn = fake_hosts()
    cdn.route("/to-internal", status=302, headers={"Location": f"https://rebind.fbcdn.net:{internal.port}/secret"})
    cdn.route("/to-metadata", status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    fake_network.resolves_to("rebind.fbcdn.net", "127.0.0.1")
    attachment = deliver(url.format(port=internal.port))
    error = error.format(port=internal.port)
    assert internal.connections == 0
    assert (attachment.status, attachment.error, attachment.attempts) == ("failed", error, 1)  # not retried
    assert not attachment.file
    (item,) = Message.objects.get(provider_message_id="m_IMG").attachments
    assert (item["status"], item["error"], item["url"]) == ("failed", error, "")


def test_webhook_attachment_on_metas_cdn_is_stored_and_downloadable_by_api(deliver, fake_hosts, fake_network, api):
    assert django_settings.DEBUG is False  # production mode: no /media/ serving to lean on
    cdn = fake_hosts()
    cdn.route("/v/t1/photo.jpg", body=JPEG, headers={"Content-Type": "image/jpeg"})
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    attachment = deliver("https://scontent.xx.fbcdn.net/v/t1/photo.jpg?oh=1")
    assert attachment.status == "stored" and attachment.file.read() == JPEG
    conversation_id = attachment.message.conversation_id
    (item,) = api.get(f"/api/v1/conversations/{conversation_id}/messages/").json()["results"][0]["attachments"]
    assert item["url"] == f"/api/v1/attachments/{attachment.pk}/file/"
    response = api.get(item["url"])
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == f'attachment; filename="{attachment.filename}"'


def test_webhook_attachment_over_the_size_cap_fails(deliver, fake_hosts, fake_network, settings):
    settings.CHARLA_OUTBOUND_MAX_BYTES = 1000
    cdn = fake_hosts()
    cdn.route("/v/huge.jpg", body=b"\xff\xd8\xff" + b"x" * 5000, headers={"Content-Type": "image/jpeg"})
    fake_network.public("scontent.xx.fbcdn.net", cdn)
    attachment = deliver("https://scontent.xx.fbcdn.net/v/huge.jpg")
    assert (attachment.status, attachment.error) == ("failed", "the answer is larger than 1000 bytes")
    assert not attachment.file


def test_whatsapp_media_url_off_metas_hosts_is_refused(fake_graph, internal, merchant):
    from django.utils import timezone

    from apps.conversations.services import attachment_fetch, message_receive
    from tests.factories.contacts import ContactFactory
    from tests.factories.conversations import ChannelFactory

    channel = ChannelFactory(merchant=merchant, kind="whatsapp")  # the fake Graph runs on http://127.0.0.1
    fake_graph.queue(200, {"url": f"{internal.url}/secret", "mime_type": "image/jpeg", "id": "9"})
    message = message_receive(
        channel=channel, contact=ContactFactory(merchant=merchant), provider_message_id="wamid.ssrf", kind="media",
        body="", attachments=[{"type": "image", "media_id": "9"}], received_at=timezone.now(),
    )  # fmt: skip
    attachment = Attachment.objects.get(message=message)
    assert attachment_fetch(attachment_id=attachment.pk, final_attempt=False) == "failed"
    attachment.refresh_from_db()
    assert attachment.error == f"127.0.0.1:{internal.port} is not a host we fetch from"
    assert internal.connections == 0
    assert [get["path"] for get in fake_graph.gets] == ["/v21.0/9"]
