# Plain data (no Django imports): portal.settings merges it into CELERY_BEAT_SCHEDULE.
BEAT_SCHEDULE = {
    "campaigns-tick": {"task": "apps.campaigns.tasks.campaigns_tick", "schedule": 2.0},
}
