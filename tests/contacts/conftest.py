# The erasure sweep drives real signed webhooks and media downloads: reuse the conversations fakes.
from tests.conversations.conftest import post_webhook  # noqa: F401 - fixture re-export
