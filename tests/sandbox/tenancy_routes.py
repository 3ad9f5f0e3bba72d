"""Routes of the sandbox app for tests/test_tenancy_sweep.py (tests/settings.py turns the sandbox on).

The phone's pages take the owner's contact id; the owner also has a sandbox channel and a message on it,
so a leak of either would show SWEEP-SECRET.
"""

from tests.factories.contacts import ContactFactory, IdentityFactory
from tests.factories.conversations import ChannelFactory
from tests.factories.sandbox import SandboxMessageFactory

SECRET = "SWEEP-SECRET"


def _contact(owner):
    contact = ContactFactory(merchant=owner, name=SECRET)
    identity = IdentityFactory(contact=contact)
    channel = ChannelFactory(merchant=owner, name=SECRET, sandbox=True)
    SandboxMessageFactory(channel=channel, address=identity.external_id)
    return {"contact_id": contact.pk}


ROUTES = {
    "sandbox:thread": _contact,
    "sandbox:thread_messages": _contact,
    "sandbox:reply": _contact,
}

GRAPH = "the fake Graph API: addressed by a sandbox channel's number or page id and authorised by its token, as Meta's"
EXEMPT = {
    "sandbox:graph_messages": GRAPH,
    "sandbox:graph_media": GRAPH,
    "sandbox:graph_attachments": GRAPH,
    "sandbox:graph_node": GRAPH,
}
