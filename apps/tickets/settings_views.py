"""Admin pages for ticket settings: business hours, SLA policies, teams, macros (one list+form and one edit
page per kind, all going through the services)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object
from apps.tickets import forms, selectors, services
from apps.tickets.models import BusinessHours, Macro, SlaPolicy, Team


@dataclass(frozen=True)
class Kind:
    slug: str
    title: str
    model: Any
    form: Any
    listing: Any
    save: Any
    delete: Any


def _save_hours(request, instance, form):
    return services.business_hours_save(merchant=request.merchant, hours=instance, **form.values())


def _save_policy(request, instance, form):
    return services.sla_policy_save(merchant=request.merchant, policy=instance, **form.values())


def _save_team(request, instance, form):
    return services.team_save(merchant=request.merchant, team=instance, **form.values())


def _save_macro(request, instance, form):
    macro = form.apply_tags(form.save(commit=False))
    return services.macro_save(merchant=request.merchant, macro=macro)


KINDS = {
    "hours": Kind(
        "hours",
        "Business hours",
        BusinessHours,
        forms.BusinessHoursForm,
        selectors.business_hours_list,
        _save_hours,
        lambda obj: services.business_hours_delete(hours=obj),
    ),
    "policies": Kind(
        "policies",
        "SLA policies",
        SlaPolicy,
        forms.SlaPolicyForm,
        selectors.sla_policy_list,
        _save_policy,
        lambda obj: services.sla_policy_delete(policy=obj),
    ),
    "teams": Kind(
        "teams",
        "Teams",
        Team,
        forms.TeamForm,
        selectors.team_list,
        _save_team,
        lambda obj: services.team_delete(team=obj),
    ),
    "macros": Kind(
        "macros",
        "Macros",
        Macro,
        forms.MacroForm,
        selectors.macro_list,
        _save_macro,
        lambda obj: services.macro_delete(macro=obj),
    ),
}


def _form(kind: Kind, request, instance=None):
    data = request.POST if request.method == "POST" else None
    if kind.slug == "hours":
        return kind.form(data, instance=instance)
    return kind.form(data, instance=instance, merchant=request.merchant)


def _handle(request, kind: Kind, instance=None):
    form = _form(kind, request, instance)
    if request.method == "POST" and form.is_valid():
        try:
            kind.save(request, instance, form)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{kind.title}: saved.")
            return redirect(f"tickets:{kind.slug}_list")
    context = {
        "kind": kind,
        "kinds": KINDS.values(),
        "form": form,
        "instance": instance,
        "items": kind.listing(merchant=request.merchant),
    }
    return render(request, "tickets/settings.html", context, status=400 if form.errors else 200)


def list_view(slug: str):
    @member_required(Capability.SETTINGS)
    def view(request):
        return _handle(request, KINDS[slug])

    view.__name__ = f"{slug}_list"
    return view


def edit_view(slug: str):
    @member_required(Capability.SETTINGS)
    def view(request, pk: int):
        kind = KINDS[slug]
        return _handle(request, kind, access_object(kind.model, merchant=request.merchant, pk=pk))

    view.__name__ = f"{slug}_edit"
    return view


def delete_view(slug: str):
    @member_required(Capability.SETTINGS)
    @require_POST
    def view(request, pk: int):
        kind = KINDS[slug]
        kind.delete(access_object(kind.model, merchant=request.merchant, pk=pk))
        messages.success(request, f"{kind.title}: deleted.")
        return redirect(f"tickets:{slug}_list")

    view.__name__ = f"{slug}_delete"
    return view
