from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "apps.campaigns"
    label = "campaigns"

    def ready(self) -> None:
        from apps.campaigns import dashboard, privacy, selectors
        from apps.campaigns.services import (
            delivery_status_handle,
            template_category_apply,
            template_resolve,
            template_status_apply,
        )
        from apps.conversations import extension_points
        from apps.core.selectors import register_dashboard_provider
        from apps.meta import dispatch
        from apps.meta.webhooks import StatusUpdate, TemplateCategoryChange, TemplateReview

        dispatch.subscribe(StatusUpdate, delivery_status_handle)
        dispatch.subscribe(TemplateReview, template_status_apply)
        dispatch.subscribe(TemplateCategoryChange, template_category_apply)
        extension_points.register_template_resolver(template_resolve)
        extension_points.register_template_lister(selectors.template_list_usable)
        extension_points.register_marketing_counter(selectors.marketing_deliveries_count)
        register_dashboard_provider(dashboard.campaign_cards)
        privacy.register()

        from apps.campaigns.demo import seed_campaigns
        from apps.core.demo import register_demo_seeder

        register_demo_seeder(seed_campaigns)
