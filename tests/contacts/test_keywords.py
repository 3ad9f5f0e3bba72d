import pytest

from apps.contacts.keywords import keyword_handle_inbound, keyword_normalize
from apps.contacts.models import ConsentEvent, ConsentKeyword, ConsentState
from tests.factories.contacts import ContactFactory, grant

pytestmark = pytest.mark.django_db

OPT_OUTS = ["STOP", "stop", "  Stop  ", "STOP!", "stop.", "Stop!!!", "STOPALL", "STOP ALL", "stop   all",
            "UNSUBSCRIBE", "Cancel", "END", "quit", "REVOKE", "OPTOUT", "OPT-OUT", "opt out", "Opt Out.",
            "STOP_PROMOTIONS", "BAJA", "¡Baja!", "bája", "\tstop\n", "\uff33\uff34\uff2f\uff30"]  # fmt: skip
NOT_KEYWORDS = ["STOP please", "please stop", "stopp", "st op", "don't stop", "STOP-ALL-NOW", "", "   ", "🛑",
                "stop stop", "help me", "end of story", "I want to unsubscribe", "cancel my order"]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  Stop! ", "stop"), ("¡BAJA!", "baja"), ("Opt Out.", "opt out"), ("STÓP", "stop"), ("opt-out", "opt-out"),
     ("Stop   ALL?", "stop all"), ("STOP please", "stop please")],
)  # fmt: skip
def test_normalize(text, expected):
    assert keyword_normalize(text) == expected


@pytest.mark.parametrize("text", OPT_OUTS)
def test_opt_out_words_revoke_marketing_on_that_channel(merchant, text):
    contact = ContactFactory(merchant=merchant)
    grant(contact, channel="whatsapp")
    grant(contact, channel="messenger")
    result = keyword_handle_inbound(
        merchant=merchant, contact=contact, channel="whatsapp", text=text, message_id="wamid.1"
    )
    assert result.kind == "opt_out"
    assert "no longer" in result.reply_text or "Ya no" in result.reply_text
    assert ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status == "revoked"
    assert ConsentState.objects.get(contact=contact, channel="messenger", purpose="marketing").status == "granted"
    event = ConsentEvent.objects.filter(contact=contact).last()
    assert (event.action, event.source, event.evidence_message_id) == ("revoke", "keyword", "wamid.1")
    assert text.strip()[:10] in event.wording


@pytest.mark.parametrize("text", NOT_KEYWORDS)
def test_sentences_and_other_text_are_not_keywords(merchant, text):
    contact = ContactFactory(merchant=merchant)
    grant(contact)
    assert (
        keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text=text, message_id="m")
        is None
    )
    assert ConsentState.objects.get(contact=contact).status == "granted"
    assert ConsentEvent.objects.count() == 1


@pytest.mark.parametrize("text", ["START", "unstop", "Alta", "start!"])
def test_opt_in_words_grant_marketing_back(merchant, text):
    contact = ContactFactory(merchant=merchant)
    keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text="STOP", message_id="m1")
    result = keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text=text, message_id="m2")
    assert result.kind == "opt_in"
    assert ConsentState.objects.get(contact=contact).status == "granted"
    assert ConsentEvent.objects.filter(contact=contact).last().evidence_message_id == "m2"


def test_yes_confirms_a_pending_double_opt_in(merchant):
    merchant.settings = {"double_opt_in": True}
    merchant.save()
    contact = ContactFactory(merchant=merchant)
    grant(contact)
    assert ConsentState.objects.get(contact=contact).status == "pending"
    result = keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text="Yes!", message_id="m")
    assert result.kind == "opt_in"
    assert ConsentState.objects.get(contact=contact).status == "granted"
    assert ConsentEvent.objects.filter(contact=contact).last().action == "confirm"


def test_a_plain_yes_in_a_support_chat_subscribes_nobody(merchant):
    contact = ContactFactory(merchant=merchant)
    assert (
        keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text="yes", message_id="m")
        is None
    )
    assert not ConsentEvent.objects.exists()


@pytest.mark.parametrize("text", ["YES", "yes", "Yes!", "SÍ", "sí", "Si", "¡Sí!"])
def test_yes_after_an_opt_out_is_an_ordinary_message(merchant, text):
    contact = ContactFactory(merchant=merchant)
    grant(contact)
    keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text="stop", message_id="m1")
    result = keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text=text, message_id="m2")
    assert result is None
    assert ConsentState.objects.get(contact=contact).status == "revoked"
    assert list(ConsentEvent.objects.filter(contact=contact).values_list("action", flat=True)) == ["grant", "revoke"]


@pytest.mark.parametrize("text", ["yes", "SÍ"])
def test_yes_to_a_granted_contact_records_nothing(merchant, text):
    contact = ContactFactory(merchant=merchant)
    grant(contact)
    assert (
        keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text=text, message_id="m")
        is None
    )
    assert ConsentEvent.objects.filter(contact=contact).count() == 1


def test_si_confirms_a_pending_double_opt_in_with_a_spanish_reply(merchant):
    merchant.settings = {"double_opt_in": True}
    merchant.save()
    contact = ContactFactory(merchant=merchant)
    grant(contact)
    result = keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text="Sí", message_id="m")
    assert (result.kind, result.reply_text.startswith("Recibirás")) == ("opt_in", True)
    assert ConsentState.objects.get(contact=contact).status == "granted"
    assert ConsentEvent.objects.filter(contact=contact).last().action == "confirm"


def test_yes_confirms_only_the_pending_channel(merchant):
    merchant.settings = {"double_opt_in": True}
    merchant.save()
    contact = ContactFactory(merchant=merchant)
    grant(contact, channel="messenger")
    assert (
        keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text="yes", message_id="m")
        is None
    )
    assert ConsentState.objects.get(contact=contact, channel="messenger").status == "pending"
    assert not ConsentState.objects.filter(contact=contact, channel="whatsapp").exists()


def test_the_merchants_own_opt_in_word_grants_after_a_revoke(merchant):
    ConsentKeyword.objects.create(merchant=merchant, word="suscribir", kind="opt_in", language="es")
    contact = ContactFactory(merchant=merchant)
    keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text="STOP", message_id="m1")
    result = keyword_handle_inbound(
        merchant=merchant, contact=contact, channel="whatsapp", text="Suscribir", message_id="m2"
    )
    assert result.kind == "opt_in"
    assert ConsentState.objects.get(contact=contact).status == "granted"
    assert ConsentEvent.objects.filter(contact=contact).last().action == "grant"


@pytest.mark.parametrize("text", ["HELP", "info", "Ayuda?"])
def test_help_answers_with_the_merchants_help_text_and_records_nothing(merchant, text):
    merchant.settings = {"help_text": "Acme help: call 900 100 200"}
    merchant.save()
    contact = ContactFactory(merchant=merchant)
    result = keyword_handle_inbound(merchant=merchant, contact=contact, channel="webchat", text=text, message_id="m")
    assert (result.kind, result.reply_text) == ("help", "Acme help: call 900 100 200")
    assert not ConsentEvent.objects.exists()


def test_spanish_keyword_gets_a_spanish_reply(merchant):
    contact = ContactFactory(merchant=merchant)
    result = keyword_handle_inbound(merchant=merchant, contact=contact, channel="whatsapp", text="BAJA", message_id="m")
    assert result.reply_text.startswith("Ya no recibirás")


def test_merchant_words_are_keywords_for_that_merchant_only(merchant, other_merchant):
    ConsentKeyword.objects.create(merchant=merchant, word="para", kind="opt_out", language="es")
    mine, theirs = ContactFactory(merchant=merchant), ContactFactory(merchant=other_merchant)
    assert (
        keyword_handle_inbound(merchant=merchant, contact=mine, channel="whatsapp", text="PARA", message_id="m").kind
        == "opt_out"
    )
    assert (
        keyword_handle_inbound(merchant=other_merchant, contact=theirs, channel="whatsapp", text="PARA", message_id="m")
        is None
    )


def test_the_same_provider_message_twice_appends_one_event(merchant):
    contact = ContactFactory(merchant=merchant)
    for _ in range(2):
        result = keyword_handle_inbound(
            merchant=merchant, contact=contact, channel="whatsapp", text="STOP", message_id="wamid.X"
        )
        assert result.kind == "opt_out"
    assert ConsentEvent.objects.count() == 1
