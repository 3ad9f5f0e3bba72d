import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.merchants.services import merchant_create


class Command(BaseCommand):
    help = "Create a merchant, its first admin and an API key."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--password", default=None, help="The admin's password (else set it by password reset).")
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--locale", default="en")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        try:
            created = merchant_create(
                slug=options["slug"],
                name=options["name"],
                admin_email=options["admin_email"],
                password=options["password"],
                timezone_name=options["timezone"],
                locale=options["locale"],
            )
        except ValidationError as exc:
            details = exc.message_dict if hasattr(exc, "error_dict") else {"error": exc.messages}
            raise CommandError(
                "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in details.items()), returncode=1
            ) from None
        result = {
            "merchant": {"id": created.merchant.pk, "slug": created.merchant.slug, "name": created.merchant.name},
            "admin": {"email": created.admin.email},
            "api_key": created.api_key,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"Merchant {created.merchant.slug} (id {created.merchant.pk}) created.")
            self.stdout.write(f"Admin: {created.admin.email}")
            self.stdout.write(f"API key (shown once): {created.api_key}")
