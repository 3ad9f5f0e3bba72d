from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "apps.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox"

    def ready(self) -> None:
        from apps.sandbox import privacy

        privacy.register()
