"""Django admin as a merchant admin: only their own merchants' rows, everywhere the admin can reach.

Two merchants get one row of every registered model (`build_world`). Alpha's admin is also an agent
of Beta, so a role in Beta must not open Beta's rows. Every sweep walks `admin.site._registry`, so a
model registered later is covered (and `test_every_scoped_model_has_a_row_in_each_world` fails
until `build_world` makes one of it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.db.models import Model
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import Delivery
from apps.contacts.models import ConsentEvent, ConsentKeyword, ConsentState, ContactImport, Suppression
from apps.conversations.models import (
    AgentPresence,
    Attachment,
    ConversationLifecycleEvent,
    LiveEvent,
    LiveEventSeq,
    WebhookEvent,
)
from apps.core.admin import MerchantScopedMixin
from apps.core.demo import DEMO_PASSWORD, DEMO_USERS, demo_seed
from apps.core.roles import Role
from apps.core.tenancy import MerchantOwned
from apps.merchants.models import ApiKey, Invitation, Membership, Merchant
from apps.merchants.services import api_key_create
from apps.tickets.models import (
    Macro,
    SavedFilter,
    SlaEvent,
    SlaEventKind,
    SlaMetric,
    Team,
    TeamMember,
    TicketComment,
    TicketConversation,
    TicketCounter,
    TicketEvent,
)
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import AttributeDefinitionFactory, ContactFactory, IdentityFactory, grant
from tests.factories.conversations import CannedResponseFactory, ChannelFactory, ConversationFactory, MessageFactory
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory
from tests.factories.sandbox import SandboxMessageFactory
from tests.factories.tickets import BusinessHoursFactory, MacroFactory, SlaPolicyFactory, TeamFactory, make_ticket

OUR_APPS = {"accounts", "merchants", "contacts", "conversations", "tickets", "campaigns", "sandbox"}
SECRET = "BETA-SECRET"
User = get_user_model()


def build_world(merchant: Merchant, admin: Membership, label: str) -> dict[type[Model], Model]:
    """One row of every registered Charla model for this merchant, keyed by model."""
    user = admin.user
    contact = ContactFactory(merchant=merchant, name=f"{label} contact")
    channel = ChannelFactory(merchant=merchant, name=f"{label} channel")
    conversation = ConversationFactory(merchant=merchant, channel=channel, contact=contact)
    message = MessageFactory(conversation=conversation, body=f"{label} message")
    campaign = CampaignFactory(merchant=merchant, channel=channel, name=f"{label} campaign")
    team = TeamFactory(merchant=merchant, name=f"{label} team")
    ticket = make_ticket(merchant, subject=f"{label} ticket", contact=contact, conversations=[conversation])
    event = grant(contact)
    world = [
        merchant, user, admin, contact, channel, conversation, message, campaign, campaign.template,
        campaign.segment, team, ticket, event, IdentityFactory(contact=contact),
        ConsentState.objects.get(contact=contact),
        Invitation.objects.create(merchant=merchant, email=f"invitee@{merchant.slug}.test", role=Role.AGENT,
                                  token_hash=secrets.token_hex(32), expires_at=timezone.now() + timedelta(days=1)),
        api_key_create(merchant=merchant, name=f"{label} key", scopes=["admin"], created_by=user),
        Suppression.objects.create(merchant=merchant, kind="phone", value_hash=secrets.token_hex(32)),
        ConsentKeyword.objects.create(merchant=merchant, word=f"stop{merchant.pk}", kind="opt_out"),
        AttributeDefinitionFactory(merchant=merchant, label=f"{label} attribute"),
        ContactImport.objects.create(merchant=merchant, filename=f"{label}.csv"),
        Attachment.objects.create(merchant=merchant, message=message, filename=f"{label}.txt"),
        CannedResponseFactory(merchant=merchant, title=f"{label} reply"),
        LiveEventSeq.objects.create(merchant=merchant, value=1),
        LiveEvent.objects.create(merchant=merchant, seq=1, kind=f"{label}.event", conversation=conversation),
        ConversationLifecycleEvent.objects.create(merchant=merchant, conversation=conversation, kind="resolved"),
        AgentPresence.objects.create(merchant=merchant, user=user),
        WebhookEvent.objects.create(merchant=merchant, channel=channel, provider="whatsapp", body=f"{label} body"),
        Delivery.objects.create(merchant=merchant, campaign=campaign, contact=contact),
        TeamMember.objects.create(merchant=merchant, team=team, user=user),
        BusinessHoursFactory(merchant=merchant, name=f"{label} hours"),
        SlaPolicyFactory(merchant=merchant, name=f"{label} policy"),
        MacroFactory(merchant=merchant, name=f"{label} macro"),
        TicketComment.objects.create(merchant=merchant, ticket=ticket, body=f"{label} comment"),
        SlaEvent.objects.create(merchant=merchant, ticket=ticket, metric=SlaMetric.values[0],
                                kind=SlaEventKind.values[0], due_at=timezone.now()),
        SavedFilter.objects.create(merchant=merchant, user=user, name=f"{label} filter"),
        TicketEvent.objects.filter(ticket=ticket).first(),
        TicketConversation.objects.get(ticket=ticket),
        TicketCounter.objects.get(merchant=merchant),
        SandboxMessageFactory(channel=channel, address=f"{label} address"),
    ]  # fmt: skip
    return {type(obj): obj for obj in world}


@dataclass
class Worlds:
    alpha: Merchant
    beta: Merchant
    alpha_admin: Membership
    mine: dict[type[Model], Model]
    theirs: dict[type[Model], Model]


@pytest.fixture
def worlds(db) -> Worlds:
    alpha = MerchantFactory(name="Alpha Shop", slug="alpha")
    beta = MerchantFactory(name="Beta Shop", slug="beta")  # named in the portal menu: Alpha's admin is a member
    alpha_admin = MembershipFactory(merchant=alpha, role=Role.ADMIN)
    beta_admin = MembershipFactory(merchant=beta, role=Role.ADMIN, user__full_name=f"{SECRET} Admin")
    MembershipFactory(merchant=beta, user=alpha_admin.user, role=Role.AGENT)  # an agent there, not an admin
    return Worlds(
        alpha, beta, alpha_admin, build_world(alpha, alpha_admin, "Alpha"), build_world(beta, beta_admin, SECRET)
    )


@pytest.fixture
def alpha_client(worlds) -> Client:
    client = Client()
    client.force_login(worlds.alpha_admin.user)
    return client


def scoped_registry() -> list[tuple[type[Model], admin.ModelAdmin]]:
    return [(model, ma) for model, ma in admin.site._registry.items() if model._meta.app_label in OUR_APPS]


def url(model: type[Model], view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def rows_of(model: type[Model], merchant: Merchant):
    """The merchant's rows, read without the admin's scoping (the oracle the admin is checked against)."""
    if model is Merchant:
        return Merchant.objects.filter(pk=merchant.pk)
    if model is User:
        return User.objects.filter(memberships__merchant=merchant)
    return model._default_manager.filter(merchant=merchant)


def snapshot(merchant: Merchant) -> dict[str, list[dict]]:
    models = [m for m in apps.get_models() if issubclass(m, MerchantOwned) or m in (Merchant, User)]
    return {m._meta.label: list(rows_of(m, merchant).order_by("pk").values()) for m in models}


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def body(response) -> str:
    return response.content.decode()


def test_every_registered_admin_is_scoped_or_hidden_from_merchant_admins(worlds):
    request = admin_request(worlds.alpha_admin.user)
    unscoped = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in OUR_APPS:
            inlines = [inline for inline in model_admin.inlines if not issubclass(inline, MerchantScopedMixin)]
            if not isinstance(model_admin, MerchantScopedMixin) or inlines:
                unscoped.append(model._meta.label)
        elif model_admin.has_module_permission(request) or model_admin.has_view_permission(request):
            unscoped.append(model._meta.label)  # a platform model (auth.Group) a merchant admin could open
    assert unscoped == []


def test_every_scoped_model_has_a_row_in_each_world(worlds):
    registered = {model for model, _ in scoped_registry()}
    assert registered - set(worlds.mine) == set()
    assert registered - set(worlds.theirs) == set()
    assert all(worlds.theirs[model] in rows_of(model, worlds.beta) for model in registered)


def test_changelists_list_own_rows_and_none_of_another_merchant(worlds, alpha_client):
    failures = []
    for model, _ in scoped_registry():
        response = alpha_client.get(url(model, "changelist"))
        if response.status_code != 200:
            failures.append(f"{model._meta.label}: {response.status_code}")
            continue
        listed = {obj.pk for obj in response.context["cl"].result_list}
        if worlds.mine[model].pk not in listed:
            failures.append(f"{model._meta.label}: own row missing")
        if listed & set(
            rows_of(model, worlds.beta).exclude(pk__in=rows_of(model, worlds.alpha)).values_list("pk", flat=True)
        ):
            failures.append(f"{model._meta.label}: lists Beta's rows")
        if SECRET in body(response):
            failures.append(f"{model._meta.label}: Beta's data in the page")
    assert failures == []


def test_superuser_lists_every_merchants_rows(worlds, admin_client):
    missing = []
    for model, _ in scoped_registry():
        listed = {obj.pk for obj in admin_client.get(url(model, "changelist")).context["cl"].result_list}
        if not {worlds.mine[model].pk, worlds.theirs[model].pk} <= listed:
            missing.append(model._meta.label)
    assert missing == []


def _outcome(client: Client, method: str, address: str) -> tuple:
    """Where the user is sent, the status, the messages queued for them and whether the secret shows.

    Not `follow=True`: the admin index a refusal redirects to costs more than the refusal itself, and
    the message it would show is the one queued by this request (the messages cookie is dropped first,
    so nothing queued earlier in the walk is counted)."""
    data = {"post": "yes", "name": "x"} if method == "post" else None
    client.cookies.pop("messages", None)
    response = getattr(client, method)(address, data)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    location = response.headers.get("Location")
    return location, response.status_code, shown, SECRET in body(response)


def _missing_pk(model: type[Model]) -> int:
    return (model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


# The walk below makes about 900 admin requests: in four parts, it spreads over the parallel test processes.
WALK_PARTS = 4


@pytest.mark.parametrize("part", range(WALK_PARTS))
def test_another_merchants_change_delete_and_history_pages_answer_as_for_a_missing_row(part, worlds, alpha_client):
    """Django's answer for a row outside the queryset: a redirect to the index saying it does not exist,
    or 403 where the merchant admin may not use that view at all; never the row, and the same either way."""
    before = snapshot(worlds.beta)
    request = admin_request(worlds.alpha_admin.user)
    failures = []
    for model, model_admin in scoped_registry()[part::WALK_PARTS]:
        pk = worlds.theirs[model].pk
        allowed = {
            ("change", "get"): True,
            ("change", "post"): model_admin.has_change_permission(request),
            ("delete", "get"): model_admin.has_delete_permission(request),
            ("delete", "post"): model_admin.has_delete_permission(request),
            ("history", "get"): True,
            ("history", "post"): True,
        }
        missing = f"{model._meta.verbose_name} with ID “{{}}” doesn’t exist. Perhaps it was deleted?"  # noqa: RUF001 (Django's text)
        for (view, method), may in allowed.items():
            outcome = _outcome(alpha_client, method, url(model, view, pk))
            absent = _missing_pk(model)
            expected = (reverse("admin:index"), 302, [missing.format(pk)], False) if may else (None, 403, [], False)
            if outcome != expected:
                failures.append(f"{method} {model._meta.label} {view}: {outcome}")
            as_missing = (*expected[:2], [missing.format(absent)] if may else [], False)
            if _outcome(alpha_client, method, url(model, view, absent)) != as_missing:
                failures.append(f"{method} {model._meta.label} {view}: a missing row answers otherwise")
        content_type = ContentType.objects.get_for_model(model).pk
        for pk_ in (pk, _missing_pk(model)):  # "view on site" of a model without a public page
            if alpha_client.get(reverse("admin:view_on_site", args=[content_type, pk_])).status_code != 404:
                failures.append(f"{model._meta.label} view_on_site: not 404")
        own = alpha_client.get(url(model, "change", worlds.mine[model].pk))
        if own.status_code != 200:
            failures.append(f"{model._meta.label}: own change page {own.status_code}")
    assert failures == []
    assert snapshot(worlds.beta) == before


def test_another_merchants_member_password_page_is_refused(worlds, alpha_client):
    beta_user = worlds.theirs[User]
    response = alpha_client.post(
        reverse("admin:auth_user_password_change", args=[beta_user.pk]),
        {"password1": "Taken-over-42", "password2": "Taken-over-42"},
    )
    assert response.status_code == 403
    beta_user.refresh_from_db()
    assert beta_user.check_password(PASSWORD)


def test_autocomplete_answers_only_own_rows(worlds, alpha_client):
    checked = []
    for model, model_admin in scoped_registry():
        for field_name in model_admin.autocomplete_fields:
            related = model._meta.get_field(field_name).related_model
            response = alpha_client.get(
                reverse("admin:autocomplete"),
                {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field_name},
            )
            assert response.status_code == 200, (model, field_name)
            ids = {int(result["id"]) for result in response.json()["results"]}
            beta_only = set(
                rows_of(related, worlds.beta)
                .exclude(pk__in=rows_of(related, worlds.alpha))
                .values_list("pk", flat=True)
            )
            assert worlds.mine[related].pk in ids, (model, field_name)
            assert ids & beta_only == set(), (model, field_name)
            assert SECRET not in body(response)
            checked.append(f"{model._meta.model_name}.{field_name}")
    assert checked == ["membership.user", "membership.merchant"]


def test_actions_posted_with_another_merchants_ids_change_nothing(worlds, alpha_client):
    before = snapshot(worlds.beta)
    posted = []
    for model, model_admin in scoped_registry():
        for action in model_admin.get_actions(admin_request(worlds.alpha_admin.user)):
            data = {"action": action, ACTION_CHECKBOX_NAME: [worlds.theirs[model].pk], "index": 0}
            for confirmed in ({}, {"post": "yes"}):  # a confirmation page (delete_selected) and the action itself
                response = alpha_client.post(url(model, "changelist"), data | confirmed, follow=True)
                assert response.status_code == 200, (model, action)
                assert SECRET not in body(response), (model, action)
            posted.append(f"{model._meta.model_name}:{action}")
    assert "apikey:revoke" in posted and "webhookevent:replay" in posted and "channel:delete_selected" in posted
    assert snapshot(worlds.beta) == before


def test_an_action_on_own_rows_still_works(worlds, alpha_client):
    key = worlds.mine[ApiKey]
    data = {"action": "revoke", ACTION_CHECKBOX_NAME: [key.pk, worlds.theirs[ApiKey].pk], "index": 0}
    alpha_client.post(url(ApiKey, "changelist"), data)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert ApiKey.objects.get(pk=worlds.theirs[ApiKey].pk).revoked_at is None


def _choice_fields(form):
    return {
        name: field
        for name, field in form.fields.items()
        if isinstance(field, ModelChoiceField | ModelMultipleChoiceField)
    }


def test_add_forms_offer_only_own_rows_and_refuse_another_merchants_ids(worlds, alpha_client):
    failures, checked = [], 0
    for model, _ in scoped_registry():
        page = alpha_client.get(url(model, "add"))
        if page.status_code == 403:
            continue
        fields = _choice_fields(page.context["adminform"].form)
        for name, field in fields.items():
            related = field.queryset.model
            choices = set(field.queryset.values_list("pk", flat=True))
            if worlds.theirs[related].pk in choices or worlds.mine[related].pk not in choices:
                failures.append(f"{model._meta.label}.{name}: choices {choices}")
        data = {name: worlds.theirs[field.queryset.model].pk for name, field in fields.items()}
        count = model._default_manager.count()
        response = alpha_client.post(url(model, "add"), data)
        errors = response.context["adminform"].form.errors if response.status_code == 200 else {}
        for name in fields:
            if "Select a valid choice" not in " ".join(errors.get(name, [])):
                failures.append(f"{model._meta.label}.{name}: accepted Beta's id ({response.status_code})")
        if model._default_manager.count() != count:
            failures.append(f"{model._meta.label}: a row was added")
        checked += len(fields)
    assert failures == []
    assert checked >= 20  # merchant and cross-row links of every addable model


def _team_add_data(merchant: Merchant, user) -> dict:
    return {
        "name": "Escalations",
        "merchant": merchant.pk,
        "memberships-TOTAL_FORMS": 1,
        "memberships-INITIAL_FORMS": 0,
        "memberships-0-user": user.pk,
    }


def test_add_with_an_inline_row_belongs_to_the_admins_merchant(worlds, alpha_client):
    user = worlds.alpha_admin.user
    response = alpha_client.post(url(Team, "add"), _team_add_data(worlds.alpha, user))
    assert response.status_code == 302
    team = Team.objects.get(name="Escalations")
    assert team.merchant == worlds.alpha
    assert list(TeamMember.objects.filter(team=team).values_list("merchant_id", "user_id")) == [
        (worlds.alpha.pk, user.pk)
    ]


def test_an_inline_row_linking_another_merchants_member_is_refused(worlds, alpha_client):
    response = alpha_client.post(url(Team, "add"), _team_add_data(worlds.alpha, worlds.theirs[User]))
    assert response.status_code == 200
    [formset] = response.context["inline_admin_formsets"]
    assert formset.formset.errors[0]["user"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert not Team.objects.filter(name="Escalations").exists()


def test_relation_filters_offer_only_the_admins_own_merchants(worlds, alpha_client):
    gamma = MerchantFactory(name="Gamma Shop", slug="gamma")
    MembershipFactory(merchant=gamma, user=worlds.alpha_admin.user, role=Role.ADMIN)
    grant(ContactFactory(merchant=gamma))
    response = alpha_client.get(url(ConsentEvent, "changelist"))
    [merchant_filter] = [spec for spec in response.context["cl"].filter_specs if spec.field_path == "merchant"]
    assert merchant_filter.lookup_choices == [(worlds.alpha.pk, "Alpha Shop"), (gamma.pk, "Gamma Shop")]


def test_an_admin_of_one_merchant_gets_no_merchant_filter(worlds, alpha_client):
    response = alpha_client.get(url(ConsentEvent, "changelist"))
    assert [spec.field_path for spec in response.context["cl"].filter_specs] == [
        "channel",
        "purpose",
        "action",
        "source",
    ]


@pytest.mark.parametrize("model", [ConsentEvent, TicketEvent, Delivery, Membership, ConversationLifecycleEvent])
def test_ledgers_timelines_and_members_are_read_only_for_merchant_admins(worlds, alpha_client, model):
    before = snapshot(worlds.alpha)
    own = worlds.mine[model]
    page = alpha_client.get(url(model, "change", own.pk))
    assert page.status_code == 200
    assert (page.context["has_change_permission"], page.context["has_delete_permission"]) == (False, False)
    assert 'name="_save"' not in body(page)
    assert alpha_client.post(url(model, "change", own.pk), {"merchant": worlds.alpha.pk}).status_code == 403
    assert alpha_client.post(url(model, "delete", own.pk), {"post": "yes"}).status_code == 403
    assert alpha_client.get(url(model, "add")).status_code == 403
    assert snapshot(worlds.alpha) == before


def test_ticket_timeline_inline_is_read_only_on_the_ticket_page(worlds, alpha_client):
    page = alpha_client.get(url(type(worlds.mine[TicketEvent].ticket), "change", worlds.mine[TicketEvent].ticket_id))
    timeline = next(f for f in page.context["inline_admin_formsets"] if f.formset.model is TicketEvent)
    assert (timeline.has_add_permission, timeline.has_change_permission, timeline.has_delete_permission) == (
        False,
        False,
        False,
    )


def test_merchant_admins_cannot_create_merchants_or_open_platform_models(worlds, alpha_client):
    assert alpha_client.get(url(Merchant, "add")).status_code == 403
    assert alpha_client.get(url(User, "add")).status_code == 403
    assert alpha_client.get(reverse("admin:auth_group_changelist")).status_code == 403
    member_page = body(alpha_client.get(url(User, "change", worlds.alpha_admin.user.pk)))
    assert "is_superuser" not in member_page and "pbkdf2" not in member_page


def test_merchant_admin_edits_own_merchant_but_not_its_slug_or_raw_settings(worlds, alpha_client):
    page = alpha_client.get(url(Merchant, "change", worlds.alpha.pk))
    data = {"name": "Alpha Renamed", "slug": "stolen", "timezone": "Europe/Lisbon", "locale": "es"}
    data["settings"] = '{"double_opt_in": false}'
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data |= {management.add_prefix(name): value for name, value in management.initial.items()}
    response = alpha_client.post(url(Merchant, "change", worlds.alpha.pk), data)
    assert response.status_code == 302
    worlds.alpha.refresh_from_db()
    assert (worlds.alpha.name, worlds.alpha.timezone, worlds.alpha.slug, worlds.alpha.settings) == (
        "Alpha Renamed",
        "Europe/Lisbon",
        "alpha",
        {},
    )


def test_admin_index_lists_only_what_a_merchant_admin_may_open(worlds, alpha_client):
    response = alpha_client.get(reverse("admin:index"))
    assert response.status_code == 200
    labels = {app["app_label"] for app in response.context["app_list"]}
    assert labels == {"accounts", "merchants", "contacts", "conversations", "tickets", "campaigns", "sandbox"}


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETER])
def test_agents_and_marketers_are_sent_to_the_admin_login(worlds, role):
    member = MembershipFactory(merchant=worlds.alpha, role=role)
    client = Client()
    client.force_login(member.user)
    for path in (
        reverse("admin:index"),
        url(Membership, "changelist"),
        url(Membership, "change", worlds.alpha_admin.pk),
    ):
        response = client.get(path)
        assert (response.status_code, response.headers["Location"]) == (302, f"{reverse('admin:login')}?next={path}")
    login = Client().post(reverse("admin:login"), {"username": member.user.email, "password": PASSWORD})
    assert login.status_code == 200
    assert "_auth_user_id" not in login.wsgi_request.session


def test_merchant_admin_signs_in_at_the_admin_login(worlds):
    client = Client()
    credentials = {"username": worlds.alpha_admin.user.email, "password": PASSWORD, "next": reverse("admin:index")}
    response = client.post(reverse("admin:login"), credentials)
    assert (response.status_code, response.headers["Location"]) == (302, reverse("admin:index"))
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_demo_admin_opens_admin_and_sees_only_the_demo_merchant():
    other = MerchantFactory(name=f"{SECRET} Shop")
    demo_seed()
    client = Client()
    assert client.login(username=DEMO_USERS[Role.ADMIN], password=DEMO_PASSWORD)
    assert client.get(reverse("admin:index")).status_code == 200
    listed = client.get(url(Merchant, "changelist")).context["cl"].result_list
    assert [merchant.slug for merchant in listed] == ["demo"]
    assert other not in listed


NOT_A_MEMBER = "This user is not a member of this merchant."


def _macro_add_data(merchant: Merchant, assignee) -> dict:
    return {"name": "Escalate", "merchant": merchant.pk, "set_assignee": assignee.pk, "reply_public": "on"}


def test_an_admin_of_two_merchants_cannot_link_one_merchants_row_to_the_others_member(worlds, alpha_client):
    gamma = MerchantFactory(name="Gamma Shop", slug="gamma")
    MembershipFactory(merchant=gamma, user=worlds.alpha_admin.user, role=Role.ADMIN)
    gamma_agent = MembershipFactory(merchant=gamma, role=Role.AGENT).user
    response = alpha_client.post(url(Macro, "add"), _macro_add_data(worlds.alpha, gamma_agent))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "set_assignee": ["This user is not a member of this merchant."]
    }
    assert not Macro.objects.filter(name="Escalate").exists()
    assert alpha_client.post(url(Macro, "add"), _macro_add_data(gamma, gamma_agent)).status_code == 302
    assert Macro.objects.get(name="Escalate").merchant == gamma


def test_a_superuser_cannot_link_a_merchants_row_to_another_merchants_member(worlds, admin_client):
    response = admin_client.post(url(Macro, "add"), _macro_add_data(worlds.alpha, worlds.theirs[User]))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "set_assignee": ["This user is not a member of this merchant."]
    }
    assert not Macro.objects.filter(name="Escalate").exists()


def test_a_demoted_admin_loses_the_admin_at_once(worlds, alpha_client):
    assert alpha_client.get(reverse("admin:index")).status_code == 200
    Membership.objects.filter(pk=worlds.alpha_admin.pk).update(role=Role.AGENT)
    response = alpha_client.get(reverse("admin:index"))
    assert (response.status_code, response.headers["Location"]) == (302, f"{reverse('admin:login')}?next=/admin/")


def test_staff_without_an_admin_role_is_sent_to_the_admin_login(worlds):
    staff = User.objects.create_user(email="staff@example.test", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert (response.status_code, response.headers["Location"]) == (302, f"{reverse('admin:login')}?next=/admin/")
