"""A test send: the campaign's message to one contact the marketer picked, right now, through the same gate."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.campaigns.models import Campaign
from apps.campaigns.placeholders import template_values
from apps.campaigns.send_body import campaign_send_body
from apps.campaigns.services.campaigns import LaunchRefused
from apps.campaigns.services.claim import CONTACT_FIELDS, whatsapp_addresses
from apps.contacts.gate import REASON_TEXT, consent_gate, contact_identities, refusal_code
from apps.contacts.models import Contact
from apps.conversations.providers import SANDBOX_OFF, SANDBOX_OFF_MESSAGE, get_client, sandbox_refused
from apps.core.tenancy import ensure_same_merchant
from apps.meta.errors import GraphError


def campaign_test_send(*, campaign: Campaign, contact: Contact) -> str:
    """Send the campaign's message to one contact the marketer picked (usually themselves) right now.

    The same gate applies: a test send never reaches someone without marketing consent.
    """
    try:
        ensure_same_merchant(merchant_id=campaign.merchant_id, contact=contact)
    except ValidationError:
        raise LaunchRefused("contact_not_found", "No contact with this id.") from None
    if sandbox_refused(campaign.channel):
        raise LaunchRefused(SANDBOX_OFF, SANDBOX_OFF_MESSAGE)
    if not campaign.template.is_sendable:
        raise LaunchRefused("template_not_approved", f"The template is {campaign.template.status}, not approved.")
    reason = consent_gate(merchant=campaign.merchant, channel=campaign.channel.kind, contact_ids=[contact.pk])[
        contact.pk
    ]
    if reason:
        raise LaunchRefused(refusal_code(reason), f"This contact cannot receive marketing: {REASON_TEXT[reason]}.")
    row = Contact.objects.filter(pk=contact.pk).values(*CONTACT_FIELDS).get()
    values = template_values(
        template=campaign.template, contact=row, params=campaign.params, fallbacks=campaign.fallbacks
    )
    if values is None:
        raise LaunchRefused("missing_variable", "A template variable has no value or fallback for this contact.")
    identities = contact_identities(merchant=campaign.merchant, contact_ids=[contact.pk])
    to = whatsapp_addresses({contact.pk: row}, identities)[contact.pk]
    payload = campaign_send_body(template=campaign.template, to=to, values=values, opaque=f"charla-test:{campaign.pk}")
    try:
        return get_client(campaign.channel).send(payload).provider_message_id
    except GraphError as exc:
        raise LaunchRefused("provider_error", f"The provider refused the message: {exc.message}") from None
