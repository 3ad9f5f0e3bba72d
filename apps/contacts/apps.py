from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "apps.contacts"
    label = "contacts"

    def ready(self) -> None:
        from apps.contacts.selectors import dashboard_cards
        from apps.core.selectors import register_dashboard_provider

        register_dashboard_provider(dashboard_cards)
