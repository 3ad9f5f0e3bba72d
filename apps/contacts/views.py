"""Portal pages for contacts, consent, import, privacy and keyword settings."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from apps.contacts import forms, privacy_hooks, selectors, services
from apps.contacts.models import (
    AttributeDefinition,
    ConsentKeyword,
    ConsentSource,
    ConsentStatus,
    Contact,
    ContactImport,
    ContactImportStatus,
    IdentityKind,
)
from apps.contacts.presenters import consent_event_sentence
from apps.contacts.services.contact_csv import contacts_csv, export_columns
from apps.contacts.services.export_erase import consent_ledger_csv, contact_erase, contact_export
from apps.contacts.services.import_parse import csv_headers
from apps.contacts.services.imports import contact_import_run, contact_import_upload
from apps.contacts.services.merge import contact_merge
from apps.contacts.services.settings import attribute_definition_create, keyword_create
from apps.core import inputs
from apps.core.csv_export import csv_response
from apps.core.keyset import CursorInvalid
from apps.core.permissions import member_required
from apps.core.roles import Capability, role_can
from apps.core.tenancy import access_object
from apps.merchants.services import merchant_update

PAGE_SIZE = 50
LEDGER_PAGE = 50


def _form_errors(exc: ValidationError, form) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _can(request, capability: str) -> bool:
    return role_can(request.membership.role, capability)


# ------------------------------------------------------------------ list
@member_required(Capability.CONTACTS_VIEW)
def contact_list(request):
    form = forms.ContactFilterForm(request.GET or None)
    form.is_valid()  # shows a bad value beside its field; the list then stands unfiltered, as the filters say nothing
    try:
        filters = selectors.contact_filters_parse(params=request.GET)
    except ValidationError:
        filters = {}
    qs = selectors.contact_list(merchant=request.merchant, **filters)
    shown_channel = filters["consent"][0] if filters.get("consent") else "whatsapp"
    qs = qs.annotate(consent=selectors.consent_status_subquery(channel=shown_channel, purpose="marketing"))
    after = inputs.ascii_int(request.GET.get("after", ""))
    if after is not None:
        qs = qs.filter(pk__lt=after)
    page = list(qs[: PAGE_SIZE + 1])
    params = request.GET.copy()
    params.pop("after", None)
    first_query = params.urlencode()
    params["after"] = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else ""
    context = {
        "form": form, "contacts": page[:PAGE_SIZE], "shown_channel": shown_channel,
        "next_query": params.urlencode() if len(page) > PAGE_SIZE else "", "paged": bool(after),
        "first_query": first_query,
        "can_manage": _can(request, Capability.CONTACTS_MANAGE),
        "can_edit": _can(request, Capability.CONTACTS_EDIT_PROFILE),
    }  # fmt: skip
    template = "contacts/_rows.html" if request.htmx and request.GET.get("after") else "contacts/list.html"
    return render(request, template, context)


# ------------------------------------------------------------------ contact page
def _detail_context(request, contact: Contact) -> dict:
    # The request's zone (the member's or the merchant's), as every other time on the page uses.
    tz, locale = timezone.get_current_timezone(), translation.get_language()
    ledger = _ledger_page(request, contact)
    definitions = {d.key: d for d in AttributeDefinition.objects.for_merchant(request.merchant)}
    role = request.membership.role
    panels = [
        # Panels come from code other apps register (rendered with their own templates), not from users.
        {"title": panel.title, "html": mark_safe(panel.render(contact=contact, request=request))}  # noqa: S308
        for _name, panel in privacy_hooks.contact_panels()
        if panel.capability is None or role_can(role, panel.capability)
    ]
    pending = [s for s in selectors.consent_state_list(contact=contact) if s.status == ConsentStatus.PENDING]
    return {
        "contact": contact,
        "identities": list(contact.identities.all()),
        "attributes": [(definitions[k].label if k in definitions else k, v) for k, v in contact.attributes.items()],
        "grid": selectors.consent_state_grid(contact=contact),
        "history": [{"event": e, "sentence": consent_event_sentence(e, tz=tz, locale=locale)} for e in ledger.items],
        "ledger_older_url": f"?ledger_before={ledger.next_cursor}#history-h" if ledger.next_cursor else "",
        "ledger_paged": bool(request.GET.get("ledger_before")),
        "effective_timezone": services.contact_timezone(contact, merchant=request.merchant),
        "panels": panels,
        "confirm_links": [{"state": s, "url": _confirm_url(request, s)} for s in pending],
        "consent_form": forms.ConsentForm(),
        "can_manage": _can(request, Capability.CONTACTS_MANAGE),
        "can_edit": _can(request, Capability.CONTACTS_EDIT_PROFILE),
    }


def _ledger_page(request, contact: Contact) -> selectors.LedgerPage:
    try:
        return selectors.consent_event_page(
            contact=contact, before=request.GET.get("ledger_before") or None, limit=LEDGER_PAGE
        )
    except CursorInvalid:  # a hand-edited address: the newest events, cleanly
        return selectors.consent_event_page(contact=contact, limit=LEDGER_PAGE)


def _confirm_url(request, state) -> str:
    token = services.consent_confirm_token(event=state.last_event)
    return request.build_absolute_uri(reverse("contacts:confirm", args=[token]))


@member_required(Capability.CONTACTS_VIEW)
def contact_detail(request, contact_id: int):
    contact = access_object(Contact, merchant=request.merchant, pk=contact_id)
    if contact.merged_into_id:
        messages.info(request, f"Contact #{contact.pk} was merged into this one.")
        return redirect("contacts:detail", contact_id=contact.merged_into_id)
    return render(request, "contacts/detail.html", _detail_context(request, contact))


def _contact_initial(contact: Contact) -> dict:
    identities = {i.kind: i.external_id for i in contact.identities.all()}
    initial = {
        "name": contact.name, "phone": contact.phone, "email": contact.email, "timezone": contact.timezone,
        "locale": contact.locale, "tags": ", ".join(contact.tags),
        "whatsapp_id": identities.get(IdentityKind.WHATSAPP, ""),
        "messenger_psid": identities.get(IdentityKind.MESSENGER, ""),
    }  # fmt: skip
    initial.update({f"attr_{k}": v for k, v in contact.attributes.items()})
    return initial


def _save_contact(request, contact: Contact | None):
    definitions = AttributeDefinition.objects.for_merchant(request.merchant)
    initial = _contact_initial(contact) if contact else {}
    form = forms.ContactForm(request.POST or None, initial=initial, definitions=definitions)
    if request.method == "POST" and form.is_valid():
        try:
            if contact is None:
                contact = services.contact_create(merchant=request.merchant, **form.profile_data())
            else:
                services.contact_update(contact=contact, **form.profile_data())
        except ValidationError as exc:
            _form_errors(exc, form)
        else:
            messages.success(request, "Contact saved.")
            return redirect("contacts:detail", contact_id=contact.pk)
    context = {"form": form, "contact": contact}
    return render(request, "contacts/edit.html", context, status=400 if form.errors else 200)


@member_required(Capability.CONTACTS_EDIT_PROFILE)
def contact_create(request):
    return _save_contact(request, None)


@member_required(Capability.CONTACTS_EDIT_PROFILE)
def contact_edit(request, contact_id: int):
    contact = access_object(Contact, merchant=request.merchant, pk=contact_id)
    if contact.erased_at or contact.merged_into_id:
        messages.error(request, "This contact was erased or merged and cannot be edited.")
        return redirect("contacts:detail", contact_id=contact.pk)
    return _save_contact(request, contact)


@member_required(Capability.CONTACTS_EDIT_PROFILE)
@require_POST
def consent_add(request, contact_id: int):
    contact = access_object(Contact, merchant=request.merchant, pk=contact_id)
    form = forms.ConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.consent_record(
                merchant=request.merchant, contact=contact, channel=data["channel"], purpose=data["purpose"],
                action=data["action"], source=ConsentSource.AGENT, wording=data["wording"],
                evidence_url=data["evidence_url"], actor=request.user, actor_label=f"Agent {request.user.email}",
                occurred_at=data["occurred_at"], ip_address=None,
            )  # fmt: skip
        except ValidationError as exc:
            _form_errors(exc, form)
        else:
            messages.success(request, "Consent recorded.")
            return redirect("contacts:detail", contact_id=contact.pk)
    context = _detail_context(request, contact) | {"consent_form": form}
    return render(request, "contacts/detail.html", context, status=400)


# ------------------------------------------------------------------ privacy and merge
@member_required(Capability.CONTACTS_MANAGE)
def contact_export_view(request, contact_id: int):
    contact = access_object(Contact, merchant=request.merchant, pk=contact_id)
    body = json.dumps(contact_export(contact=contact), indent=2, ensure_ascii=False, default=str)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response


@member_required(Capability.CONTACTS_MANAGE)
def contact_erase_view(request, contact_id: int):
    contact = access_object(Contact, merchant=request.merchant, pk=contact_id)
    if request.method == "POST":
        if request.POST.get("confirm") != "ERASE":
            messages.error(request, "Type ERASE to confirm.")
        elif contact.erased_at:
            messages.info(request, "This contact was already erased.")
            return redirect("contacts:detail", contact_id=contact.pk)
        else:
            contact_erase(contact=contact)
            messages.success(request, f"Contact #{contact.pk} erased; a hashed suppression entry was kept.")
            return redirect("contacts:detail", contact_id=contact.pk)
    return render(request, "contacts/erase.html", {"contact": contact})


@member_required(Capability.CONTACTS_MANAGE)
def contact_merge_view(request, contact_id: int):
    target = access_object(Contact, merchant=request.merchant, pk=contact_id)
    form = forms.MergeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source = Contact.objects.for_merchant(request.merchant).filter(pk=form.cleaned_data["source"]).first()
        if source is None:
            form.add_error("source", "No contact with this id.")
        else:
            try:
                contact_merge(source=source, target=target)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, f"Contact #{source.pk} merged into this one.")
                return redirect("contacts:detail", contact_id=target.pk)
    return render(request, "contacts/merge.html", {"form": form, "contact": target}, status=400 if form.errors else 200)


@member_required(Capability.CONTACTS_MANAGE)
def ledger_export(request):
    return csv_response(consent_ledger_csv(merchant=request.merchant), "consent-ledger.csv")


def _export_filters(request) -> tuple[dict | None, list[str]]:
    """The list's filters from the query string, else None and what is wrong with them."""
    try:
        return selectors.contact_filters_parse(params=request.GET), []
    except ValidationError as exc:
        return None, [f"{name}: {message}" for name, messages_ in exc.message_dict.items() for message in messages_]


def _export_page(request, form, filters: dict | None, filter_errors: list[str]):
    params = [(name, request.GET[name]) for name in selectors.CONTACT_FILTER_PARAMS if request.GET.get(name)]
    count = selectors.contact_list(merchant=request.merchant, **filters).count() if filters is not None else None
    context = {"form": form, "filter_params": params, "filter_errors": filter_errors, "count": count}
    status = 400 if filter_errors or form.errors else 200
    return render(request, "contacts/list_export.html", context, status=status)


@member_required(Capability.CONTACTS_MANAGE)
def contact_list_export(request):
    """The list's "Export CSV": the list's filters kept, the columns to choose."""
    filters, filter_errors = _export_filters(request)
    form = forms.ContactExportForm(available=export_columns(merchant=request.merchant))
    return _export_page(request, form, filters, filter_errors)


@member_required(Capability.CONTACTS_MANAGE)
def contact_list_export_csv(request):
    filters, filter_errors = _export_filters(request)
    form = forms.ContactExportForm(request.GET, available=export_columns(merchant=request.merchant))
    if filters is None or not form.is_valid():
        return _export_page(request, form, filters, filter_errors)
    columns = form.cleaned_data["columns"]
    lines = contacts_csv(merchant=request.merchant, filters=filters, columns=columns, user=request.user)
    return csv_response(lines, "contacts.csv")


def consent_confirm(request, token: str):
    """Public: the person opens the double opt-in link; POST confirms (a GET never changes state,
    so link previewers in mail clients cannot confirm for them)."""
    if request.method == "POST":
        try:
            event = services.consent_confirm_by_token(
                token=token, ip_address=request.META.get("REMOTE_ADDR"),
                user_agent=request.headers.get("User-Agent", ""),
            )  # fmt: skip
        except services.ConfirmationInvalid as exc:
            return render(request, "contacts/confirm.html", {"error": str(exc)}, status=400)
        return render(request, "contacts/confirm.html", {"done": True, "already": event is None})
    return render(request, "contacts/confirm.html", {"token": token})


# ------------------------------------------------------------------ import
@member_required(Capability.CONTACTS_MANAGE)
def import_upload(request):
    form = forms.ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imp = contact_import_upload(
                merchant=request.merchant, data=upload.read(), filename=upload.name, actor=request.user
            )
        except ValidationError as exc:
            _form_errors(exc, form)
        else:
            return redirect("contacts:import_map", import_id=imp.pk)
    recent = ContactImport.objects.for_merchant(request.merchant).select_related("created_by")[:10]
    context = {"form": form, "recent": recent}
    return render(request, "contacts/import_upload.html", context, status=400 if form.errors else 200)


@member_required(Capability.CONTACTS_MANAGE)
def import_map(request, import_id: int):
    imp = access_object(ContactImport, merchant=request.merchant, pk=import_id)
    if imp.status != ContactImportStatus.UPLOADED:
        return render(request, "contacts/import_done.html", {"imp": imp})
    headers = csv_headers(imp.csv_text)
    form = forms.ImportMappingForm(request.POST or None, headers=headers, merchant=request.merchant,
                                   initial_mapping=imp.mapping)  # fmt: skip
    report = None
    if request.method == "POST" and form.is_valid():
        dry_run = "preview" in request.POST
        try:
            report = contact_import_run(contact_import=imp, mapping=form.mapping(), defaults=form.defaults(),
                                        dry_run=dry_run, actor=request.user)  # fmt: skip
        except ValidationError as exc:
            _form_errors(exc, form)
        else:
            if not dry_run:
                imp.refresh_from_db()
                return render(request, "contacts/import_done.html", {"imp": imp, "report": report})
    sample = imp.csv_text.splitlines()[1:6]
    context = {"imp": imp, "form": form, "report": report, "sample": sample}
    return render(request, "contacts/import_map.html", context, status=400 if form.errors else 200)


# ------------------------------------------------------------------ settings
@member_required(Capability.CONTACTS_MANAGE)
def contact_settings(request):
    merchant = request.merchant
    keyword_form = forms.KeywordForm(prefix="kw")
    attribute_form = forms.AttributeForm(prefix="attr")
    settings_form = forms.ConsentSettingsForm(prefix="cs", initial=forms.ConsentSettingsForm.initial_for(merchant))
    if request.method == "POST":
        outcome = _settings_post(request, keyword_form, attribute_form, settings_form)
        if outcome is True:
            return redirect("contacts:settings")
        keyword_form, attribute_form, settings_form = outcome
    context = {
        "keyword_form": keyword_form, "attribute_form": attribute_form, "settings_form": settings_form,
        "keywords": ConsentKeyword.objects.for_merchant(merchant),
        "attributes": AttributeDefinition.objects.for_merchant(merchant),
        "can_settings": _can(request, Capability.SETTINGS),
    }  # fmt: skip
    return render(request, "contacts/settings.html", context)


def _settings_post(request, keyword_form, attribute_form, settings_form):
    """True when saved; else the (bound) forms to show again with their errors."""
    merchant, which = request.merchant, request.POST.get("form")
    if which == "keyword":
        keyword_form = forms.KeywordForm(request.POST, prefix="kw")
        if keyword_form.is_valid():
            return _keyword_save(request, keyword_form) or (keyword_form, attribute_form, settings_form)
    elif which == "attribute":
        attribute_form = forms.AttributeForm(request.POST, prefix="attr")
        if attribute_form.is_valid():
            return _attribute_save(request, attribute_form) or (keyword_form, attribute_form, settings_form)
    elif which == "settings" and _can(request, Capability.SETTINGS):
        settings_form = forms.ConsentSettingsForm(request.POST, prefix="cs")
        if settings_form.is_valid():
            merchant_update(
                merchant=merchant, settings={**(merchant.settings or {}), **settings_form.settings_values()}
            )
            messages.success(request, "Consent settings saved.")
            return True
    return (keyword_form, attribute_form, settings_form)


def _keyword_save(request, form) -> bool:
    try:
        keyword = keyword_create(merchant=request.merchant, **form.cleaned_data)
    except ValidationError as exc:
        _form_errors(exc, form)
        return False
    messages.success(request, f"Keyword “{keyword.word}” added.")
    return True


def _attribute_save(request, form) -> bool:
    try:
        attribute = attribute_definition_create(merchant=request.merchant, **form.cleaned_data)
    except ValidationError as exc:
        _form_errors(exc, form)
        return False
    messages.success(request, f"Attribute “{attribute.key}” added.")
    return True


@member_required(Capability.CONTACTS_MANAGE)
@require_POST
def keyword_delete(request, keyword_id: int):
    keyword = access_object(ConsentKeyword, merchant=request.merchant, pk=keyword_id)
    services.keyword_delete(keyword=keyword)
    messages.success(request, f"Keyword “{keyword.word}” removed.")
    return redirect("contacts:settings")


@member_required(Capability.CONTACTS_MANAGE)
@require_POST
def attribute_delete(request, attribute_id: int):
    attribute = access_object(AttributeDefinition, merchant=request.merchant, pk=attribute_id)
    services.attribute_definition_delete(attribute=attribute)
    messages.success(request, f"Attribute “{attribute.key}” removed (values stay on contacts until edited).")
    return redirect("contacts:settings")
