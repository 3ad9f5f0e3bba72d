from django.core.management.base import BaseCommand

from apps.core.demo import demo_seed


class Command(BaseCommand):
    help = "Create the demo merchant, one member per role and demo data (safe to run again)."

    def handle(self, *args, **options):
        for login in demo_seed():
            self.stdout.write(f"  {login.role:<9} {login.email}  /  {login.password}")
