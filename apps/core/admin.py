"""Django admin for platform superusers and merchant admins.

Superusers see and do everything Django's own permissions allow. A merchant admin (a user with the
admin role in one or more merchants; `is_staff` is not consulted, so it cannot drift from the
memberships) enters too, and every admin class, inline, foreign-key choice, list filter, autocomplete
and action sees only the rows of the merchants they administer. What a merchant admin may do with a
model is the `merchant_permissions` of its admin class: ledgers and timelines are read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from apps.accounts.forms import SignInLockoutMixin
from apps.core.roles import Role
from apps.merchants.models import Membership, Merchant

EDIT = frozenset({"view", "add", "change", "delete"})
VIEW = frozenset({"view"})


def merchant_ids_administered_by(user) -> frozenset[int]:
    """A merchant admin is a user with the admin role in a merchant; the other roles open nothing here."""
    if not (user.is_authenticated and user.is_active):
        return frozenset()
    return frozenset(Membership.objects.filter(user=user, role=Role.ADMIN).values_list("merchant_id", flat=True))


def administered_merchant_ids(request: HttpRequest) -> frozenset[int]:
    """The merchants the signed-in user is an admin of, read once per request."""
    if not hasattr(request, "_administered_merchant_ids"):
        request._administered_merchant_ids = merchant_ids_administered_by(request.user)
    return request._administered_merchant_ids


def is_platform_admin(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_superuser


def may_enter_admin(request: HttpRequest) -> bool:
    return is_platform_admin(request) or bool(administered_merchant_ids(request))


def merchant_lookup(model: type[Model]) -> str | None:
    """The lookup from a model to the merchant(s) its rows belong to; None when rows belong to no merchant."""
    if model is Merchant:
        return "pk"
    if model is get_user_model():
        return "memberships__merchant"  # a user is visible to the admins of merchants they are a member of
    try:
        field = model._meta.get_field("merchant")
    except FieldDoesNotExist:
        return None
    return "merchant" if field.is_relation and field.related_model is Merchant else None


def scope_to_merchants(queryset: QuerySet, merchant_ids: frozenset[int]) -> QuerySet:
    """The rows of `queryset` that belong to these merchants (nothing for a model no merchant owns)."""
    lookup = merchant_lookup(queryset.model)
    if lookup is None:
        return queryset.none()
    if "__" not in lookup:
        return queryset.filter(**{f"{lookup}__in": merchant_ids})
    # Through a multi-valued relation: a subquery keeps each row once without distinct().
    owned = queryset.model._default_manager.filter(**{f"{lookup}__in": merchant_ids}).values("pk")
    return queryset.filter(pk__in=owned)


class AdminLoginForm(SignInLockoutMixin, AdminAuthenticationForm):
    """Admin sign-in for superusers and merchant admins (Django's own form asks for is_staff), with the
    portal's lockout: the same failed-sign-in buckets, so neither door is a way around the other."""

    def confirm_login_allowed(self, user) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)
        if not (user.is_superuser or merchant_ids_administered_by(user)):
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login", params={"username": "e-mail"}
            )


class MemberLinksCheck:
    """A form mixin: a user linked from a merchant's row must be a member of that merchant.

    Models refuse links to other merchants' rows themselves (`same_merchant_fields`); users belong to no
    merchant, so this check is the admin's. Only changed fields are checked: an old row keeps the author
    who has since left.
    """

    def clean(self) -> dict:
        data = super().clean()
        if self._meta.model is Membership or merchant_lookup(self._meta.model) != "merchant":
            return data
        merchant = data.get("merchant")
        merchant_id = merchant.pk if merchant else self.instance.merchant_id
        if merchant_id is None:
            return data  # the merchant itself was refused; that error is the one to read
        for name in self.changed_data:
            user = data.get(name)
            if isinstance(user, get_user_model()) and not user.memberships.filter(merchant_id=merchant_id).exists():
                self.add_error(name, "This user is not a member of this merchant.")
        return data


def member_links_checked(form_class: type[forms.ModelForm]) -> type[forms.ModelForm]:
    return type(form_class.__name__, (MemberLinksCheck, form_class), {})


class CharlaAdminSite(admin.AdminSite):
    site_header = "Charla admin"
    site_title = "Charla admin"
    login_form = AdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        return may_enter_admin(request)


class MerchantScopedMixin:
    """Scopes a ModelAdmin or an inline to the merchants the request's user administers."""

    merchant_permissions: frozenset[str] = EDIT

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if is_platform_admin(request):
            return queryset
        return scope_to_merchants(queryset, administered_merchant_ids(request))

    def merchant_admin_may(self, request: HttpRequest, action: str) -> bool:
        return action in self.merchant_permissions and bool(administered_merchant_ids(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        if is_platform_admin(request):
            return super().has_module_permission(request)
        return bool(self.merchant_permissions) and bool(administered_merchant_ids(request))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if is_platform_admin(request):
            return super().has_view_permission(request, obj)
        return self.merchant_admin_may(request, "view") or self.merchant_admin_may(request, "change")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if is_platform_admin(request):
            return super().has_add_permission(request, *([obj] if self._is_inline else []))
        return self.merchant_admin_may(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if is_platform_admin(request):
            return super().has_change_permission(request, obj)
        return self.merchant_admin_may(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if is_platform_admin(request):
            return super().has_delete_permission(request, obj)
        return self.merchant_admin_may(request, "delete")

    @property
    def _is_inline(self) -> bool:
        return isinstance(self, InlineModelAdmin)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        return self._scoped_choices(super().formfield_for_foreignkey(db_field, request, **kwargs), request)

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        return self._scoped_choices(super().formfield_for_manytomany(db_field, request, **kwargs), request)

    def _scoped_choices(self, formfield, request: HttpRequest):
        """Choices (and so what a posted id may be) limited to the admin's merchants' rows."""
        if formfield is not None and not is_platform_admin(request):
            formfield.queryset = scope_to_merchants(formfield.queryset, administered_merchant_ids(request))
        return formfield

    def get_form(self, request: HttpRequest, obj: Model | None = None, **kwargs):
        return member_links_checked(super().get_form(request, obj, **kwargs))

    def get_list_filter(self, request: HttpRequest):
        filters = super().get_list_filter(request)
        if is_platform_admin(request):
            return filters
        return [self._related_only(spec) for spec in filters]

    def _related_only(self, spec):
        """A filter on a relation offers only the related rows present in the scoped changelist."""
        if isinstance(spec, str) and get_fields_from_path(self.model, spec)[-1].is_relation:
            return (spec, admin.RelatedOnlyFieldListFilter)
        return spec


class MerchantScopedAdmin(MerchantScopedMixin, admin.ModelAdmin):
    """The base of every ModelAdmin of a Charla model."""


class MerchantInlineFormSet(BaseInlineFormSet):
    """New inline rows belong to their parent's merchant (the inline form has no merchant field)."""

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        parent_merchant_id = self.instance.pk if isinstance(self.instance, Merchant) else self.instance.merchant_id
        if merchant_lookup(type(form.instance)) == "merchant" and form.instance.merchant_id is None:
            form.instance.merchant_id = parent_merchant_id


class MerchantScopedTabularInline(MerchantScopedMixin, admin.TabularInline):
    formset = MerchantInlineFormSet

    def get_formset(self, request: HttpRequest, obj: Model | None = None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = member_links_checked(formset.form)
        return formset

    def get_exclude(self, request: HttpRequest, obj: Model | None = None):
        excluded = super().get_exclude(request, obj)
        if merchant_lookup(self.model) != "merchant":
            return excluded
        return [*(excluded or []), "merchant"]  # the parent's merchant, set by the formset


class ReadOnlyAdmin(MerchantScopedAdmin):
    """History that must never change (ledgers, timelines): viewable, never added, edited or deleted."""

    merchant_permissions = VIEW

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
