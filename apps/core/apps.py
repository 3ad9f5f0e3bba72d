from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core.api import schema  # noqa: F401  (registers OpenAPI auth extensions)
