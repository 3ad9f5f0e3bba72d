"""Periodic tasks, merged into CELERY_BEAT_SCHEDULE by portal.settings (no Django imports here)."""

BEAT_SCHEDULE = {
    "conversations-wake-snoozed": {
        "task": "apps.conversations.tasks.conversations_wake_snoozed_task",
        "schedule": 60.0,
    },
    "conversations-redact-expired-messages": {
        "task": "apps.conversations.tasks.messages_redact_expired_task",
        "schedule": 3600.0,
    },
    "conversations-prune-live-events": {
        "task": "apps.conversations.tasks.live_events_prune_task",
        "schedule": 3600.0,
    },
    "conversations-prune-webhook-events": {
        "task": "apps.conversations.tasks.webhook_events_prune_task",
        "schedule": 86400.0,
    },
    "conversations-requeue-stuck-messages": {
        "task": "apps.conversations.tasks.messages_requeue_stuck_task",
        "schedule": 120.0,
    },
    "conversations-requeue-stale-webhooks": {
        "task": "apps.conversations.tasks.webhook_events_requeue_task",
        "schedule": 300.0,
    },
}
