from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "apps.conversations"
    label = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from apps.conversations import privacy
        from apps.conversations.selectors import dashboard_cards
        from apps.core.selectors import register_dashboard_provider

        register_dashboard_provider(dashboard_cards)
        privacy.register()

        from apps.conversations.demo import seed_conversations
        from apps.core.demo import register_demo_seeder

        register_demo_seeder(seed_conversations)
