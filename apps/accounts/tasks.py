from celery import shared_task

from apps.accounts import services


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def password_reset_send(email: str) -> int:
    return services.password_reset_send(email=email)
