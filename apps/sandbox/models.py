"""What passed between the shop and the sandbox's pretend customers, as Meta would have carried it."""

from __future__ import annotations

from django.db import models

from apps.conversations.models import Channel
from apps.core.tenancy import MerchantOwned


class Direction(models.TextChoices):
    TO_CUSTOMER = "to_customer", "Shop to customer"  # a send the fake Graph API accepted
    FROM_CUSTOMER = "from_customer", "Customer to shop"  # a webhook the phone page delivered


class SandboxMessage(MerchantOwned):
    """One message on a sandbox channel. `payload` is the exact send body (to the customer) or the message item
    of the simulated webhook (from the customer), so the phone page renders what Meta would have shown."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=20, choices=Direction.choices)
    address = models.CharField(max_length=128)  # the customer: wa_id, business-scoped user id or PSID
    kind = models.CharField(max_length=20)  # Meta's `type`: text, template, image, interactive, ...
    payload = models.JSONField(default=dict)
    provider_message_id = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=20, blank=True)  # to the customer: sent, delivered, read
    created_at = models.DateTimeField(auto_now_add=True)

    same_merchant_fields = ("channel",)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["channel", "address", "id"], name="sandbox_thread")]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.address}"
