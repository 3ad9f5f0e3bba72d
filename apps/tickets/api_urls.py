from rest_framework.routers import SimpleRouter

from apps.tickets import api

router = SimpleRouter()
router.register("tickets", api.TicketViewSet, basename="ticket")
router.register(r"tickets/(?P<ticket_pk>[^/.]+)/comments", api.TicketCommentViewSet, basename="ticket-comment")
router.register(r"tickets/(?P<ticket_pk>[^/.]+)/events", api.TicketEventViewSet, basename="ticket-event")
router.register("sla-policies", api.SlaPolicyViewSet, basename="sla-policy")
router.register("business-hours", api.BusinessHoursViewSet, basename="business-hours")
router.register("teams", api.TeamViewSet, basename="team")

urlpatterns = router.urls
