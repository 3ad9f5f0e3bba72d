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
