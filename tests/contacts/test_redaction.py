"""The pure part of erasure: finding the person in text and JSON, and taking them out."""

from apps.contacts.redaction import DROPPED, ERASED, traces_build
from apps.contacts.suppression import suppression_hash

TRACES = traces_build(
    names=["Ana López"], phones=["+34600111001"], emails=["Ana@Example.test"], identities=[("whatsapp", "34600111001")]
)


def test_identifiers_are_found_in_any_case_and_with_or_without_plus():
    assert TRACES.mentions("call +34600111001") and TRACES.mentions("wa 34600111001")
    assert TRACES.mentions("mail ANA@example.TEST")
    assert not TRACES.mentions("Ana López wrote")  # a name alone does not tie a row to the person
    assert not TRACES.mentions("+3460011100")  # a shorter number is another number


def test_scrub_removes_identifiers_and_name_words():
    text = "Ana López (+34600111001, ana@example.test) asked; ANA again"
    assert TRACES.scrub(text) == f"{ERASED} ({ERASED}, {ERASED}) asked; {ERASED} again"


def test_tokenize_replaces_identifiers_by_the_suppression_token():
    token = f"erased:{suppression_hash('phone', '+34600111001')}"
    assert TRACES.tokenize("user_preferences:34600111001:1700000000:stop") == (
        f"user_preferences:{token}:1700000000:stop"
    )
    assert TRACES.tokenize("wamid.ABC") == "wamid.ABC"


def test_prune_drops_the_persons_items_and_keeps_everyone_elses():
    value = {
        "contacts": [{"profile": {"name": "Ana López"}, "wa_id": "34600111001"}, {"wa_id": "34699000000"}],
        "messages": [{"from": "34600111001", "text": {"body": "hi"}}, {"from": "34699000000", "text": {"body": "yo"}}],
        "statuses": [{"recipient_id": "34600111001", "status": "read"}],
        "metadata": {"phone_number_id": "2093847"},
    }
    assert TRACES.prune_json(value) == {
        "contacts": [{"wa_id": "34699000000"}],
        "messages": [{"from": "34699000000", "text": {"body": "yo"}}],
        "statuses": [],
        "metadata": {"phone_number_id": "2093847"},
    }
    assert TRACES.prune_json({"sender": {"id": "34600111001"}}) is DROPPED


def test_short_values_are_no_identifiers_and_names_match_whole_words():
    traces = traces_build(names=["Al"], phones=["+1"], emails=[], identities=[("webchat", "abc")])
    assert traces.identifiers == [] and traces.names == ("al",)
    assert traces.scrub("Al said +1, also abc") == f"{ERASED} said +1, also abc"


def test_prune_drops_a_profile_carrying_any_of_the_familys_names_but_not_a_mere_mention():
    traces = traces_build(names=["Ana López", "Ana L"], phones=[], emails=[], identities=[])
    value = {"contacts": [{"profile": {"name": "ana l"}}, {"profile": {"name": "Anabel"}}], "text": "Ana López said"}
    assert traces.prune_json(value) == {"contacts": [{"profile": {"name": "Anabel"}}], "text": "Ana López said"}
