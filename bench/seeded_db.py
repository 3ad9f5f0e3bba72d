"""What the benches that seed their own PostgreSQL database share: the database, throwaway keys, JSON
lines and medians. Import it before Django is set up: `use_database` sets the environment settings read."""

from __future__ import annotations

import base64
import json
import os
import secrets
import statistics
import time

PG_BASE = os.environ.get("BENCH_PG", "postgres://root@127.0.0.1:5432")


def use_database(name: str) -> None:
    """Point Django at the bench's own database, with a bench's settings. A bench is not a deploy: settings
    refuse to start without keys, so it brings throwaway ones. The pages read no cache or channel layer worth
    timing, so those stay embedded."""
    os.environ.update(
        DATABASE_URL=f"{PG_BASE}/{name}",
        DJANGO_SETTINGS_MODULE="bench.bench_settings",
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + secrets.token_hex(24))
    os.environ.setdefault("CHARLA_ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    os.environ.pop("REDIS_URL", None)


def database(name: str, action: str) -> None:
    """Drop the bench's database, and create it afresh when `action` is "create"."""
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if action == "create":
            conn.execute(f'CREATE DATABASE "{name}"')


def emit(bench: str, name: str, **figures) -> None:
    figures = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
    print(json.dumps({"bench": f"{bench}.{name}", **figures}), flush=True)


def timed(fn, runs: int) -> float:
    """The median of `runs` calls, in ms, after one warm call (plan caches, template loading)."""
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def raw_all(sql: list[str], runs: int) -> float:
    """The SELECTs among `sql` (captured from a page or a report) replayed through psycopg alone, in ms."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        return timed(
            lambda: [conn.execute(one).fetchall() if one.lstrip().startswith("SELECT") else None for one in sql], runs
        )
