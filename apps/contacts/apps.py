from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "apps.contacts"
    label = "contacts"

    def ready(self) -> None:
        from apps.contacts.selectors import dashboard_cards
        from apps.core.selectors import register_dashboard_provider

        register_dashboard_provider(dashboard_cards)

        from apps.contacts.demo import seed_contacts
        from apps.core.demo import register_demo_seeder

        register_demo_seeder(seed_contacts)
