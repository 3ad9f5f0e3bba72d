"""The inbox's blocked composer asks conversations' extension points for templates: ours answer."""

import pytest

from apps.campaigns import selectors
from apps.campaigns.models import TemplateStatus
from apps.conversations import extension_points
from tests.factories.campaigns import TemplateFactory
from tests.factories.conversations import ChannelFactory

pytestmark = pytest.mark.django_db


def test_registered_from_ready():
    assert selectors.template_list_usable in extension_points.template_listers()


def test_lists_the_merchants_approved_templates_for_the_channel_kind_only(merchant, other_merchant):
    channel = ChannelFactory(merchant=merchant)
    approved = TemplateFactory(merchant=merchant, name="order_update", body="Hi {{first_name}}, order {{order}}")
    second = TemplateFactory(merchant=merchant, name="another_one", language="en")
    for status in (TemplateStatus.PENDING, TemplateStatus.REJECTED, TemplateStatus.PAUSED, TemplateStatus.DISABLED):
        TemplateFactory(merchant=merchant, name=f"not_{status}", status=status)
    TemplateFactory(merchant=merchant, name="web_only", channel_kind="webchat")
    TemplateFactory(merchant=other_merchant, name="theirs")

    listed = [fn(merchant=merchant, channel=channel) for fn in extension_points.template_listers()]
    ours = listed[extension_points.template_listers().index(selectors.template_list_usable)]

    assert [t.id for t in ours] == [second.id, approved.id]  # by name
    found = ours[1]
    assert (found.name, found.language, found.body) == ("order_update", "es_ES", approved.body)
    assert found.variables == ["first_name", "order"]


def test_nothing_for_a_merchant_without_approved_templates(merchant, other_merchant):
    TemplateFactory(merchant=other_merchant, name="theirs")
    TemplateFactory(merchant=merchant, name="waiting", status=TemplateStatus.PENDING)
    assert selectors.template_list_usable(merchant=merchant, channel=ChannelFactory(merchant=merchant)) == []


def test_one_query(merchant, django_assert_max_num_queries):
    TemplateFactory.create_batch(3, merchant=merchant)
    channel = ChannelFactory(merchant=merchant)
    with django_assert_max_num_queries(1):
        assert len(selectors.template_list_usable(merchant=merchant, channel=channel)) == 3
