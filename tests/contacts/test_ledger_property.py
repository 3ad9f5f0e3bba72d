"""Property: whatever the sequence of grants, revokes and confirmations (with double opt-in on or
off, sources of every kind, and events arriving out of time order), the derived ConsentState is
what the last effective event says, and the ledger holds every event in order.

Meta's user_preferences carry whole seconds, so such an event happened within the second after its
timestamp; where a revoke and a grant could have happened in either order, the revoke wins."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.contacts.gate import consent_gate
from apps.contacts.models import ConsentEvent, ConsentState
from apps.contacts.services import consent_record
from tests.factories.contacts import ContactFactory

SOURCES = ["web_form", "widget", "keyword", "provider_preference", "provider_error", "import", "api", "agent"]
FORM_SOURCES = {"web_form", "widget"}
WHOLE_SECOND_SOURCES = {"provider_preference"}

event_strategy = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["grant", "revoke", "confirm"]),
        "source": st.sampled_from(SOURCES),
        "double_opt_in": st.booleans(),
        # offset from a clock moving 2 s a step: some arrive late, many share a second with a neighbour
        "seconds": st.integers(min_value=-4, max_value=4),
        "millis": st.sampled_from([0, 0, 300, 700, 999]),
        "channel": st.sampled_from(["whatsapp", "email"]),
    }
)


def expected_after(status: str, action: str, pending_first: bool) -> str:
    """The spec, written independently of the service: revoke wins; confirm turns pending into granted;
    a grant is granted unless double opt-in holds a new form grant as pending."""
    if action == "revoke":
        return "revoked"
    if action == "confirm":
        return "granted" if status == "pending" else status
    if status == "granted":
        return "granted"
    return "pending" if pending_first else "granted"


def takes_effect(spec: dict, at, last: dict | None) -> bool:
    """Written from the rule, not the code: a grant is effective only once it surely follows a revoke;
    a revoke is effective unless it surely precedes a grant; otherwise the later (or tied) event wins."""
    if last is None:
        return True
    window = timedelta(seconds=1)
    last_end = last["at"] + (window if last["source"] in WHOLE_SECOND_SOURCES else timedelta(0))
    end = at + (window if spec["source"] in WHOLE_SECOND_SOURCES else timedelta(0))
    if spec["action"] == "revoke" and last["action"] != "revoke":
        return end >= last["at"]
    if spec["action"] != "revoke" and last["action"] == "revoke":
        return at > last_end
    return at >= last["at"]


@pytest.mark.django_db
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event_strategy, min_size=1, max_size=12))
def test_state_is_what_the_last_effective_event_says(merchant, events):
    contact = ContactFactory(merchant=merchant, phone="")
    base = timezone.now() - timedelta(days=1)
    model = {}  # channel -> (status, last effective event's spec with its "at")
    for step, spec in enumerate(events):
        at = base + timedelta(seconds=step * 2 + spec["seconds"], milliseconds=spec["millis"])
        event = consent_record(
            merchant=merchant, contact=contact, channel=spec["channel"], purpose="marketing", action=spec["action"],
            source=spec["source"], wording="Offers from Acme", occurred_at=at, double_opt_in=spec["double_opt_in"],
        )  # fmt: skip
        status, last = model.get(spec["channel"], ("none", None))
        if takes_effect(spec, at, last):
            pending_first = spec["double_opt_in"] and spec["source"] in FORM_SOURCES
            status, last = expected_after(status, spec["action"], pending_first), {**spec, "at": at}
        model[spec["channel"]] = (status, last)
        assert event.resulting_status == status

    states = {s.channel: s for s in ConsentState.objects.filter(contact=contact)}
    assert {ch: s.status for ch, s in states.items()} == {ch: v[0] for ch, v in model.items()}
    for channel, state in states.items():
        # the state points at the last effective event of that channel
        assert state.last_event.occurred_at == model[channel][1]["at"]
        assert state.last_event.resulting_status == state.status
    assert ConsentEvent.objects.filter(contact=contact).count() == len(events)
    contact.email = "p@example.test"
    contact.save()
    gate = consent_gate(merchant=merchant, channel="email", contact_ids=[contact.pk])[contact.pk]
    email_status = model.get("email", ("none", None))[0]
    assert (gate is None) == (email_status == "granted")
