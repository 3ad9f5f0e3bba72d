from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.campaigns.segment_rules import rules_clean, rules_queryset
from apps.campaigns.selectors import audience_preview
from apps.contacts.models import Contact
from tests.factories.contacts import ContactFactory, IdentityFactory, grant

pytestmark = pytest.mark.django_db


def names(merchant, rules):
    return sorted(rules_queryset(merchant=merchant, rules=rules).values_list("name", flat=True))


@pytest.fixture
def people(merchant, other_merchant):
    ana = ContactFactory(merchant=merchant, name="ana", tags=["vip", "es"], attributes={"plan": "pro", "orders": 7})
    ben = ContactFactory(merchant=merchant, name="ben", tags=["vip"], attributes={"plan": "free", "orders": 1})
    cai = ContactFactory(merchant=merchant, name="cai", tags=["es"], attributes={})
    ContactFactory(merchant=merchant, name="erased", tags=["vip"], erased_at=timezone.now())
    ContactFactory(merchant=other_merchant, name="foreign", tags=["vip", "es"])
    return ana, ben, cai


def test_tags_any_all_none(merchant, people):
    assert names(merchant, {"tags_any": ["vip", "es"]}) == ["ana", "ben", "cai"]
    assert names(merchant, {"tags_all": ["vip", "es"]}) == ["ana"]
    assert names(merchant, {"tags_any": ["vip"], "tags_none": ["es"]}) == ["ben"]
    assert names(merchant, {}) == ["ana", "ben", "cai"]  # never erased ones, never another merchant's


def test_attribute_comparisons(merchant, people):
    assert names(merchant, {"attributes": [{"key": "plan", "op": "eq", "value": "pro"}]}) == ["ana"]
    assert names(merchant, {"attributes": [{"key": "orders", "op": "gte", "value": 2}]}) == ["ana"]
    assert names(merchant, {"attributes": [{"key": "plan", "op": "ne", "value": "pro"}]}) == ["ben", "cai"]
    assert names(merchant, {"attributes": [{"key": "plan", "op": "missing"}]}) == ["cai"]
    assert names(merchant, {"attributes": [{"key": "plan", "op": "contains", "value": "FR"}]}) == ["ben"]


def test_identity_seen_created_and_consent(merchant, people):
    ana, ben, cai = people
    IdentityFactory(merchant=merchant, contact=ana)
    grant(ben)
    Contact.objects.filter(pk=ana.pk).update(last_seen_at=timezone.now() - timedelta(days=2))
    Contact.objects.filter(pk=cai.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert names(merchant, {"has_identity": "whatsapp"}) == ["ana"]
    assert names(merchant, {"last_seen_within_days": 7}) == ["ana"]
    assert names(merchant, {"last_seen_over_days": 7}) == ["ben", "cai"]
    assert names(merchant, {"created_within_days": 30}) == ["ana", "ben"]
    assert names(merchant, {"consent": {"channel": "whatsapp", "status": ["granted"]}}) == ["ben"]
    assert names(merchant, {"consent": {"channel": "whatsapp", "status": ["none"]}}) == ["ana", "cai"]


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        ({"tags_any": "vip"}, "tags_any: give a list"),
        ({"tags_all": []}, "tags_all: give a list"),
        ({"colour": "red"}, "colour: unknown rule"),
        ({"attributes": [{"key": "plan__contains", "op": "eq", "value": 1}]}, "attributes: key must be"),
        ({"attributes": [{"key": "plan", "op": "like", "value": 1}]}, "attributes: op must be"),
        ({"attributes": [{"key": "plan", "op": "eq"}]}, "needs a value"),
        ({"has_identity": "sms"}, "has_identity: must be"),
        ({"last_seen_within_days": -1}, "last_seen_within_days: give a whole number"),
        ({"created_after": "yesterday"}, "created_after: give an ISO 8601"),
        ({"consent": {"channel": "pigeon"}}, "consent: channel must be"),
        ([1, 2], "rules must be an object"),
    ],
)
def test_bad_rules_name_the_rule_and_the_reason(rules, reason):
    with pytest.raises(ValidationError) as caught:
        rules_clean(rules)
    assert reason in caught.value.message_dict["rules"][0]


def test_audience_preview_counts_the_exclusions(merchant):
    for _ in range(3):
        grant(IdentityFactory(merchant=merchant, contact=ContactFactory(merchant=merchant, tags=["x"])).contact)
    ContactFactory(merchant=merchant, tags=["x"])  # phone only: reachable on WhatsApp, no consent
    ContactFactory(merchant=merchant, tags=["x"], phone="")  # no address at all
    preview = audience_preview(merchant=merchant, rules={"tags_any": ["x"]})
    assert preview == {"count": 5, "excluded": {"no_consent": 1, "no_identity": 1}, "reachable": 3}


@pytest.mark.parametrize("key", ["has_key", "isnull", "regex", "contains", "icontains", "IsNull", "a__b", "plan__gt"])
def test_attribute_keys_that_read_as_query_operators_are_refused(api, merchant, key):
    rules = {"attributes": [{"key": key, "op": "eq", "value": "plan"}]}
    response = api.post("/api/v1/segments/", {"name": "x", "rules": rules}, format="json")
    assert response.status_code == 400
    (message,) = response.json()["error"]["fields"]["rules"]
    assert message.startswith("attributes: ")
    assert ("reserved word" in message) == ("__" not in key)


@pytest.mark.parametrize("key", ["has_key", "isnull", "regex"])
def test_the_query_reads_an_attribute_key_as_data_even_past_the_allow_list(merchant, monkeypatch, key):
    # Defence in depth: were a lookup-named key ever let through, it would filter that attribute, not
    # run the lookup (`attributes__has_key="plan"` would match every contact with a plan).
    monkeypatch.setattr("apps.campaigns.segment_rules.RESERVED_ATTRIBUTE_KEYS", frozenset())
    ContactFactory(merchant=merchant, name="data", attributes={key: "plan"})
    ContactFactory(merchant=merchant, name="plan", attributes={"plan": "pro"})
    ContactFactory(merchant=merchant, name="none", attributes={})
    assert names(merchant, {"attributes": [{"key": key, "op": "eq", "value": "plan"}]}) == ["data"]
    assert names(merchant, {"attributes": [{"key": key, "op": "eq", "value": True}]}) == []
    assert names(merchant, {"attributes": [{"key": key, "op": "contains", "value": "LA"}]}) == ["data"]
    assert names(merchant, {"attributes": [{"key": key, "op": "missing"}]}) == ["none", "plan"]
