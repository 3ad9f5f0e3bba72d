from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.contacts import api

router = SimpleRouter()
router.register("contacts", api.ContactViewSet, basename="contact")
router.register("consent-events", api.ConsentEventViewSet, basename="consent-event")
router.register("contact-attributes", api.AttributeDefinitionViewSet, basename="contact-attribute")
router.register("consent-keywords", api.ConsentKeywordViewSet, basename="consent-keyword")

urlpatterns = [
    path("contacts/export.csv", api.ContactExportApi.as_view(), name="contact-export-csv"),
    path("consent-events/export.csv", api.ConsentLedgerExportApi.as_view(), name="consent-event-export"),
    *router.urls,
]
