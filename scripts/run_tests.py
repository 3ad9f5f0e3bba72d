"""`make test`: the whole suite, in parallel, on a kept test database (PostgreSQL + Redis when set)."""

from __future__ import annotations

import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    database = os.environ.get("DATABASE_URL") or "embedded SQLite"
    redis = os.environ.get("REDIS_URL") or "embedded (in-memory layer, filesystem broker)"
    print(f"Test database: {database.split('@')[-1]}; Redis: {redis.split('@')[-1]}", flush=True)
    # In parallel, one process per core (pytest-xdist); tests of one xdist_group share a process.
    # The test database is kept between runs (--reuse-db): pass --create-db after changing migrations.
    args = [sys.executable, "-m", "pytest", "-n", "auto", "--dist", "loadgroup", "--reuse-db", *argv]
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        # Tests of PostgreSQL- or Redis-specific behaviour (SKIP LOCKED, triggers, the Redis
        # channel layer, a worker on the Redis broker) need those services: they are deselected,
        # and counted, rather than skipped.
        args += ["-m", "not postgres and not redis"]
        print("PostgreSQL/Redis-only tests are deselected; set DATABASE_URL and REDIS_URL to run all.", flush=True)
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
