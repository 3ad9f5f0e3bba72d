"""Re-encrypt every stored secret with the first key of CHARLA_ENCRYPTION_KEYS (see apps/core/crypto.py)."""

from django.core.management.base import BaseCommand

from apps.core.services import secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key of CHARLA_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        count = secrets_rotate()
        self.stdout.write(f"Re-encrypted {count} secrets with the first key.")
