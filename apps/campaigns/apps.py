from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "apps.campaigns"
    label = "campaigns"

    def ready(self) -> None:
        # tasks: registered by name in every process (web, shell, tests), not only in workers whose
        # autodiscovery imports them, so the services' enqueue_on_commit(name) finds them.
        from apps.campaigns import dashboard, privacy, selectors, tasks  # noqa: F401
        from apps.campaigns.services import (
            delivery_status_handle,
            template_category_apply,
            template_resolve,
            template_status_apply,
        )
        from apps.conversations import hooks
        from apps.core.selectors import register_dashboard_provider

        hooks.register_status_handler(delivery_status_handle)
        hooks.register_template_status_handler(template_status_apply)
        hooks.register_template_category_handler(template_category_apply)
        hooks.register_template_resolver(template_resolve)
        hooks.register_template_lister(selectors.template_list_usable)
        hooks.register_marketing_counter(selectors.marketing_deliveries_count)
        register_dashboard_provider(dashboard.campaign_cards)
        privacy.register()
