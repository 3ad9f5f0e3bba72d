"""Celery tasks: thin wrappers over services, safe to run twice."""

from celery import shared_task

from apps.tickets import services


@shared_task(acks_late=True)
def sla_check() -> dict:
    return services.sla_check()


@shared_task(acks_late=True)
def tickets_autoclose() -> int:
    return services.tickets_autoclose()
