from django.core.management.base import BaseCommand

from apps.core.demo import demo_logins_text, demo_seed


class Command(BaseCommand):
    help = "Create the demo merchant, one member per role and demo data (safe to run again)."

    def handle(self, *args, **options):
        demo_seed()
        self.stdout.write(demo_logins_text())
