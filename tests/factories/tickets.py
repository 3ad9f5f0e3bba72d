import factory

from apps.tickets.models import BusinessHours, Macro, SlaPolicy, Team, TicketPriority
from apps.tickets.services import ticket_create
from tests.factories.merchants import MerchantFactory

SPLIT_WEEKDAYS = [
    {"weekday": d, "start": s, "end": e} for d in range(5) for s, e in (("09:00", "13:00"), ("15:00", "19:00"))
]


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class BusinessHoursFactory(factory.django.DjangoModelFactory):
    """Madrid, Monday-Friday 09:00-13:00 and 15:00-19:00."""

    class Meta:
        model = BusinessHours

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Hours {n}")
    timezone = "Europe/Madrid"
    periods = factory.LazyFunction(lambda: list(SPLIT_WEEKDAYS))
    holidays = factory.LazyFunction(list)
    is_default = True


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlaPolicy

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Policy {n}")
    priority = TicketPriority.NORMAL
    first_response_minutes = 60
    next_response_minutes = 120
    resolution_minutes = 480
    warn_before_minutes = 15


class MacroFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Macro

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Macro {n}")


def make_ticket(merchant, **kwargs):
    """A ticket through the service (number, SLA clocks and timeline as in production)."""
    kwargs.setdefault("subject", "Broken delivery")
    return ticket_create(merchant=merchant, **kwargs)
