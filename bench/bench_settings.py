"""Settings overlay for bench/chat.py: the portal as deployed, plus a do-nothing view to compare against."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
