import ipaddress

from django.core.management.base import BaseCommand, CommandError

from apps.accounts import lockout


class Command(BaseCommand):
    help = "Lift a sign-in lockout: of an account (from every IP) and/or of an IP (for every account)."

    def add_arguments(self, parser):
        parser.add_argument("--email", help="The account's e-mail address.")
        parser.add_argument("--ip", help="The client IP address the lock is on.")

    def handle(self, *args, **options):
        email, ip = options["email"], options["ip"]
        if not (email or ip):
            raise CommandError("Give --email, --ip or both.")
        if ip:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise CommandError(f"{ip!r} is not an IP address.") from None
        lockout.signin_unlock(email=email, ip=ip)
        self.stdout.write(f"Unlocked {' and '.join(x for x in (email, ip) if x)}.")
