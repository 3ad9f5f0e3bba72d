from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "apps.conversations"
    label = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from apps.conversations.selectors import dashboard_cards
        from apps.core.selectors import register_dashboard_provider

        register_dashboard_provider(dashboard_cards)
        self._register_privacy_hooks()

    def _register_privacy_hooks(self) -> None:
        from apps.contacts import privacy
        from apps.conversations.services import retention

        privacy.register_export_section("conversations", retention.privacy_export)
        privacy.register_erase_hook(retention.privacy_erase)
        privacy.register_merge_hook(retention.privacy_merge)
