from celery import shared_task

from apps.core.services import scheduler_heartbeat_record


@shared_task(ignore_result=True)
def scheduler_heartbeat() -> None:
    """Enqueued by beat; a worker running it proves the whole periodic path to /readyz."""
    scheduler_heartbeat_record()
