from celery import shared_task

from apps.merchants import services


@shared_task
def invitations_purge_expired() -> int:
    return services.invitations_purge_expired()
