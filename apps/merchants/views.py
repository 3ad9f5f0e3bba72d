from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from apps.core import inputs
from apps.core.middleware import SESSION_MERCHANT_KEY
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object
from apps.merchants import selectors, services
from apps.merchants.forms import AcceptInvitationForm, ApiKeyForm, InvitationForm, MerchantSettingsForm, RoleForm
from apps.merchants.models import ApiKey, Invitation, Membership


def _form_errors_from(exc: ValidationError, form) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@member_required()
@require_POST
def merchant_switch(request):
    merchant_id = request.POST.get("merchant_id", "")
    membership = (
        selectors.memberships_for_user(user=request.user)
        .filter(merchant_id__in=[merchant_id] if inputs.ascii_int(merchant_id) is not None else [])
        .first()
    )
    if membership is None:
        raise Http404("You are not a member of that merchant.")
    request.session[SESSION_MERCHANT_KEY] = membership.merchant_id
    messages.success(request, f"Switched to {membership.merchant.name}.")
    return redirect("core:dashboard")


@member_required(Capability.SETTINGS)
def merchant_settings(request):
    form = MerchantSettingsForm(request.POST or None, instance=request.merchant)
    if request.method == "POST" and form.is_valid():
        services.merchant_update(merchant=request.merchant, **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("merchants:settings")
    return render(request, "merchants/settings.html", {"form": form})


@member_required(Capability.SETTINGS)
def member_list(request):
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(merchant=request.merchant, invited_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("merchants:members")
    context = {
        "form": form,
        "members": selectors.member_list(merchant=request.merchant),
        "invitations": selectors.invitation_list_pending(merchant=request.merchant),
        "role_form": RoleForm(),
    }
    return render(request, "merchants/members.html", context, status=400 if form.errors else 200)


@member_required(Capability.SETTINGS)
@require_POST
def member_role(request, membership_id: int):
    membership = access_object(Membership, merchant=request.merchant, pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("merchants:members")
    try:
        services.membership_set_role(membership=membership, role=form.cleaned_data["role"])
        messages.success(request, f"{membership.user.email} is now {form.cleaned_data['role']}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("merchants:members")


@member_required(Capability.SETTINGS)
@require_POST
def member_remove(request, membership_id: int):
    membership = access_object(Membership, merchant=request.merchant, pk=membership_id)
    try:
        services.membership_remove(membership=membership)
        messages.success(request, f"{membership.user.email} was removed.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("merchants:members")


@member_required(Capability.SETTINGS)
@require_POST
def invitation_revoke(request, invitation_id: int):
    invitation = access_object(Invitation, merchant=request.merchant, pk=invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("merchants:members")


def invitation_accept(request, token: str):
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "merchants/invitation_invalid.html", status=404)
    signed_in_as_invitee = request.user.is_authenticated and request.user.email == invitation.email
    if not signed_in_as_invitee and selectors.invitation_has_account(invitation=invitation):
        return _sign_in_to_accept(request, invitation)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and (signed_in_as_invitee or form.is_valid()):
        full_name = (form.cleaned_data.get("full_name") or "") if form.is_bound and form.is_valid() else ""
        try:
            if signed_in_as_invitee:
                membership = services.invitation_accept(invitation=invitation, user=request.user, full_name=full_name)
            else:
                membership = services.invitation_accept(
                    invitation=invitation, password=form.cleaned_data["password1"], full_name=full_name
                )
        except ValidationError as exc:
            _form_errors_from(exc, form) if hasattr(exc, "error_dict") else form.add_error(None, exc.messages)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_MERCHANT_KEY] = membership.merchant_id
            messages.success(request, f"Welcome to {invitation.merchant.name}.")
            return redirect("core:dashboard")
    context = {"invitation": invitation, "form": form, "signed_in_as_invitee": signed_in_as_invitee}
    return render(request, "merchants/invitation_accept.html", context, status=400 if form.errors else 200)


def _sign_in_to_accept(request, invitation):
    """The invitee has an account: the link only sends them to sign in, and back here to accept."""
    sign_in = f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"
    context = {"invitation": invitation, "sign_in_url": sign_in, "error": services.ACCOUNT_EXISTS}
    return render(
        request, "merchants/invitation_sign_in.html", context, status=409 if request.method == "POST" else 200
    )


@member_required(Capability.SETTINGS)
def api_key_list(request):
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        new_key = services.api_key_create(
            merchant=request.merchant, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
            created_by=request.user,
        )  # fmt: skip
        form = ApiKeyForm()
    context = {"form": form, "keys": selectors.api_key_list(merchant=request.merchant), "new_key": new_key}
    return render(request, "merchants/api_keys.html", context, status=400 if form.errors else 200)


@member_required(Capability.SETTINGS)
@require_POST
def api_key_revoke(request, key_id: int):
    api_key = access_object(ApiKey, merchant=request.merchant, pk=key_id)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"Key “{api_key.name}” revoked.")
    return redirect("merchants:api_keys")
