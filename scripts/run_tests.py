"""`make test`: the whole suite, in parallel, on a kept test database (PostgreSQL + Redis when set).

With PostgreSQL and Redis, two passes: first everything but the real-worker drills, in parallel (one
pytest-xdist process per core); then the drills (`-m worker`) in one process with the machine to
themselves. They SIGKILL a Celery worker and time its successor's start, and a parallel neighbour eating
the second core turns their deadlines into load tests of this machine rather than tests of crash safety.
Without those services every drill needs them, so there is one pass.
"""

from __future__ import annotations

import os
import subprocess
import sys

NO_TESTS_COLLECTED = 5
SCHEMA_CONFORMANCE = "tests/core/test_api_schema_conformance.py"


def main(argv: list[str]) -> int:
    # Some machines set PYTHONDONTWRITEBYTECODE: then every process of the run (the xdist workers, each
    # manage.py and server a test starts) compiles the project again, seconds each. The suite keeps it.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    database = os.environ.get("DATABASE_URL") or "embedded SQLite"
    redis = os.environ.get("REDIS_URL") or "embedded (in-memory layer, filesystem broker)"
    print(f"Test database: {database.split('@')[-1]}; Redis: {redis.split('@')[-1]}", flush=True)
    # The test database is kept between runs (--reuse-db): pass --create-db after changing migrations.
    pytest = [sys.executable, "-m", "pytest", "--reuse-db"]
    # worksteal: an idle process takes tests from the other's queue, so uneven tests still end together.
    # The real-worker drills never run in this parallel pass beside each other (their own pass below, or,
    # without Redis, only the one newcomer test), so their xdist group is not needed here.
    parallel = [*pytest, "-n", "auto", "--dist", "worksteal"]
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        # Tests of PostgreSQL- or Redis-specific behaviour (SKIP LOCKED, triggers, the Redis
        # channel layer, a worker on the Redis broker) need those services: they are deselected,
        # and counted, rather than skipped.
        print("PostgreSQL/Redis-only tests are deselected; set DATABASE_URL and REDIS_URL to run all.", flush=True)
        # The schema conformance module is PostgreSQL-only and, unlike the others, costs about 30 s per
        # process just to collect (schemathesis builds every operation's coverage cases at collection).
        print(f"Not collected here: {SCHEMA_CONFORMANCE} (PostgreSQL-only).", flush=True)
        services = "not postgres and not redis and not rabbitmq"
        return subprocess.call([*parallel, "-m", services, "--ignore", SCHEMA_CONFORMANCE, *argv])
    rabbitmq = bool(os.environ.get("CHARLA_TEST_RABBITMQ_URL"))
    if not rabbitmq:
        print("RabbitMQ tests are deselected; set CHARLA_TEST_RABBITMQ_URL to run them.", flush=True)
    also = "" if rabbitmq else " and not rabbitmq"
    first = subprocess.call([*parallel, "-m", f"not worker{also}", *argv])
    print("Real-worker drills, one at a time:", flush=True)
    drills = subprocess.call([*pytest, "-n", "0", "-m", f"worker{also}", *argv])
    return max(code if code != NO_TESTS_COLLECTED else 0 for code in (first, drills))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
