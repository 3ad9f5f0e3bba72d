from celery import shared_task

from apps.contacts.services import consent


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def consent_confirmation_email_send(event_id: int, email: str, base_url: str = "") -> bool:
    return consent.consent_confirmation_email_send(event_id=event_id, email=email, base_url=base_url)
