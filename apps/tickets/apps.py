from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "apps.tickets"
    label = "tickets"

    def ready(self) -> None:
        from apps.core.selectors import register_dashboard_provider
        from apps.tickets import privacy
        from apps.tickets.selectors import dashboard_cards

        register_dashboard_provider(dashboard_cards)
        privacy.register()

        from apps.core.demo import register_demo_seeder
        from apps.tickets.demo import seed_tickets

        register_demo_seeder(seed_tickets)
