"""Demo data for `make run`: idempotent, so a second run changes nothing.

Domain apps add their own demo rows with `register_demo_seeder(fn)` from AppConfig.ready();
each seeder receives the demo merchant and its members and must itself be idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.core.demo_data import SHOP_NAME
from apps.core.roles import Role

DEMO_SLUG = "demo"
DEMO_PASSWORD = "charla-demo-2026"
DEMO_USERS = {
    Role.ADMIN: "admin@demo.charla.test",
    Role.AGENT: "agent@demo.charla.test",
    Role.MARKETER: "marketer@demo.charla.test",
}


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


DemoSeeder = Callable[..., None]
_seeders: list[DemoSeeder] = []


def register_demo_seeder(seeder: DemoSeeder) -> None:
    if seeder not in _seeders:
        _seeders.append(seeder)


@transaction.atomic
def demo_seed() -> list[DemoLogin]:
    from apps.merchants.models import Membership, Merchant

    User = get_user_model()
    merchant, _ = Merchant.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={"name": SHOP_NAME, "timezone": "Europe/Madrid", "locale": "es"},
    )
    members = {}
    for role, email in DEMO_USERS.items():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, full_name=f"Demo {role.label}")
            user.set_password(DEMO_PASSWORD)
            user.save()
        membership, _ = Membership.objects.get_or_create(merchant=merchant, user=user, defaults={"role": role})
        members[role] = membership
    for seeder in _seeders:
        seeder(merchant=merchant, members=members)
    return demo_logins()


def demo_logins() -> list[DemoLogin]:
    """The demo's sign-ins (no database needed: `make run` prints them once its processes answer)."""
    return [DemoLogin(role=str(role), email=email, password=DEMO_PASSWORD) for role, email in DEMO_USERS.items()]


def demo_logins_text() -> str:
    return "\n".join(f"  {login.role:<9} {login.email}  /  {login.password}" for login in demo_logins())
