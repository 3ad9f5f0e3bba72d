import factory
from django.contrib.auth import get_user_model

from apps.core.roles import Role
from apps.merchants.models import Membership, Merchant
from apps.merchants.services import api_key_create

PASSWORD = "Correct-horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    timezone = "Europe/Madrid"
    locale = "es"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    merchant = factory.SubFactory(MerchantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.AGENT


def api_key_for(merchant, name: str = "tests", scopes: tuple[str, ...] = ("admin",)) -> str:
    return api_key_create(merchant=merchant, name=name, scopes=list(scopes), created_by=None).plain
