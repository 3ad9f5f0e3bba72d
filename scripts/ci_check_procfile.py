"""CI: boot every Procfile process from a bare clone, as a fresh deploy would, and prove it works.

Usage: ci_check_procfile.py CHECKOUT LOG_DIR, with only the documented production environment set
(DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY, CHARLA_ENCRYPTION_KEYS, PORT, ...) and the virtualenv's bin first on PATH.

`release` runs to completion first; then every other process type starts with its exact Procfile
command. The check passes when /readyz answers 200 (database, cache, channel layer, broker and a
scheduler that ticked), a worker ran a heartbeat that beat sent (its row is in the database), and a
page renders with hashed static files. Everything is then stopped: SIGTERM, SIGKILL after a grace period. A process that
exits early, or any step that times out, fails the check with every log printed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

READY_TIMEOUT = 240.0  # the first heartbeat comes one interval (20 s by default) after beat starts
STOP_GRACE = 20.0
# The row a worker writes when it runs the heartbeat that beat sent (apps.core.models.SchedulerHeartbeat):
# proof of beat → broker → worker that does not depend on what the processes log, or at which level.
HEARTBEAT_SQL = "SELECT count(*) FROM core_schedulerheartbeat WHERE id = 1"


class CheckFailed(Exception):
    pass


def procfile(path: Path) -> dict[str, str]:
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def release(command: str, checkout: Path, log_dir: Path) -> None:
    with open(log_dir / "release.log", "w") as log:
        code = subprocess.call(["bash", "-c", command], cwd=checkout, stdout=log, stderr=subprocess.STDOUT, timeout=600)
    if code != 0:
        raise CheckFailed(f"release exited with {code}")


def start(name: str, command: str, checkout: Path, log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
    # Its own session, so stopping it reaches every child (uvicorn workers, celery's pool).
    return subprocess.Popen(
        ["bash", "-c", command], cwd=checkout, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def ensure_running(processes: dict[str, subprocess.Popen]) -> None:
    exited = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
    if exited:
        raise CheckFailed(f"exited early: {exited}")


def wait_ready(base: str, processes: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        ensure_running(processes)
        try:
            status, body = get(base + "/readyz")
        except OSError as exc:
            status, body = 0, str(exc)
        last = f"{status} {body}"
        if status == 200 and json.loads(body) == {"status": "ok"} and heartbeat_ran():
            return
        time.sleep(2)
    raise CheckFailed(f"not ready with a worker-run heartbeat within {READY_TIMEOUT:.0f} s; /readyz said {last}")


def heartbeat_ran() -> bool:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=5) as conn:
        return conn.execute(HEARTBEAT_SQL).fetchone()[0] == 1


def page_renders(base: str) -> None:
    # Production redirects plain HTTP to HTTPS; the proxy in front says the request came over TLS.
    status, body = get(base + "/accounts/login/", {"X-Forwarded-Proto": "https"})
    if status != 200 or "/static/" not in body:
        raise CheckFailed(f"the sign-in page answered {status}")


def chart_library_served(base: str, checkout: Path) -> None:
    """The reports' Chart.js comes from npm in the release step: collected into the manifest, and served."""
    manifest = json.loads((checkout / "staticfiles" / "staticfiles.json").read_text())["paths"]
    hashed = manifest.get("vendor/chart.js/chart.umd.min.js")
    if hashed is None or get(f"{base}/static/{hashed}", {"X-Forwarded-Proto": "https"})[0] != 200:
        raise CheckFailed("the reports' Chart.js was not collected by the release step, or is not served")


def stop(processes: dict[str, subprocess.Popen]) -> dict[str, str]:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    outcome = {}
    deadline = time.monotonic() + STOP_GRACE
    for name, process in processes.items():
        try:
            outcome[name] = f"exited {process.wait(max(0.1, deadline - time.monotonic()))}"
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            outcome[name] = f"killed after {STOP_GRACE:.0f} s (exit {process.wait()})"
    return outcome


def print_logs(log_dir: Path) -> None:
    for log in sorted(log_dir.glob("*.log")):
        print(f"\n--- {log.name} (last 80 lines)")
        print("\n".join(log.read_text(errors="replace").splitlines()[-80:]))


def main(checkout: Path, log_dir: Path) -> int:
    log_dir.mkdir(parents=True, exist_ok=True)
    commands = procfile(checkout / "Procfile")
    if not {"release", "web", "worker", "beat"} <= commands.keys():
        print(f"Procfile must name release, web, worker and beat; it names {sorted(commands)}")
        return 1
    base = f"http://127.0.0.1:{os.environ['PORT']}"
    processes: dict[str, subprocess.Popen] = {}
    try:
        release(commands["release"], checkout, log_dir)
        processes = {name: start(name, cmd, checkout, log_dir) for name, cmd in commands.items() if name != "release"}
        wait_ready(base, processes)
        page_renders(base)
        chart_library_served(base, checkout)
        ensure_running(processes)
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        print(f"Procfile check failed: {exc}; stopped: {stop(processes)}")
        print_logs(log_dir)
        return 1
    print(f"Procfile: release ran; {', '.join(processes)} ready, heartbeat ticked; stopped: {stop(processes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
