# The erasure sweep drives real signed webhooks and media downloads: reuse the conversations fakes.
from tests.conversations.conftest import post_webhook  # noqa: F401 - fixture re-export
from tests.conversations.fake_graph import fake_graph  # noqa: F401 - fixture re-export
