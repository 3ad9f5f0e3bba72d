from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core.api import schema  # noqa: F401  (registers OpenAPI auth extensions)


class CharlaAdminConfig(admin_apps.AdminConfig):
    """Django admin with Charla's site as `admin.site`, so every `@admin.register` lands on the scoped site."""

    default = False  # not a candidate when Django picks apps.core's own config
    default_site = "apps.core.admin.CharlaAdminSite"
