import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from apps.core.admin import ReadOnlyAdmin

OUR_APPS = {"accounts", "merchants", "contacts", "conversations", "tickets", "campaigns"}


def test_every_model_has_an_admin():
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and model not in admin.site._registry
    ]
    assert not missing


@pytest.mark.django_db
def test_every_changelist_and_add_page_opens(admin_client):
    failures = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        response = admin_client.get(reverse("admin:{}_{}_changelist".format(*info)), {"q": "x"})
        if response.status_code != 200:
            failures.append(f"{model._meta.label} changelist -> {response.status_code}")
        add = admin_client.get(reverse("admin:{}_{}_add".format(*info)))
        expected = (
            403
            if isinstance(model_admin, ReadOnlyAdmin) or not model_admin.has_add_permission(add.wsgi_request)
            else 200
        )
        if add.status_code != expected:
            failures.append(f"{model._meta.label} add -> {add.status_code}, expected {expected}")
    assert not failures, failures
