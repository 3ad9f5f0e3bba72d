"""Periodic tasks of the tickets app (merged into CELERY_BEAT_SCHEDULE by portal.settings)."""

BEAT_SCHEDULE = {
    "tickets-sla-check": {"task": "apps.tickets.tasks.sla_check", "schedule": 60.0},
    "tickets-autoclose": {"task": "apps.tickets.tasks.tickets_autoclose", "schedule": 15 * 60.0},
}
