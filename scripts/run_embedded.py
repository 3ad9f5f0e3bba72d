"""`make run`: the ASGI server, a Celery worker and beat in one terminal; Ctrl-C stops all three."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's packages are not on the path otherwise
BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8000")
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
READY_MARKS = ("worker", "beat")

PROCESSES = {
    "web": [str(BIN / "uvicorn"), "portal.asgi:application", "--host", HOST, "--port", PORT],
    "worker": [str(BIN / "celery"), "-A", "portal", "worker", "--loglevel", "INFO", "--concurrency", "2"],
    "beat": [str(BIN / "celery"), "-A", "portal", "beat", "--loglevel", "INFO"],
}


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def announce_when_ready(
    *, host: str, port: int, ready_dir: Path, alive: Callable[[], bool], out: TextIO, timeout: float = READY_TIMEOUT
) -> bool:
    """Print the URL and the demo logins once the web port answers and the worker and beat have started
    (portal.celery.ready_mark), so they are the last lines on screen rather than lost above the start-up
    banners. False when that never happened."""
    from apps.core.demo import demo_logins_text

    deadline = time.monotonic() + timeout
    while not (all((ready_dir / name).exists() for name in READY_MARKS) and port_answers(host, port)):
        if not alive() or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    out.write(
        f"\nCharla is running: http://{host}:{port}/  (Ctrl-C stops web, worker and beat)\n"
        f"Be the customer: the demo shop's web chat at http://{host}:{port}/demo-shop/ and, signed in as admin\n"
        f"or marketer, a WhatsApp phone at http://{host}:{port}/sandbox/phone/\n"
        f"Sign in to the demo shop with one of these logins:\n{demo_logins_text()}\n\n"
    )
    out.flush()
    return True


def main() -> int:
    from portal.celery import READY_DIR_ENV

    ready_dir = Path(os.environ.get("CHARLA_VAR_DIR") or ROOT / "var") / f"ready-{os.getpid()}"
    shutil.rmtree(ready_dir, ignore_errors=True)
    env = {**os.environ, READY_DIR_ENV: str(ready_dir)}
    # Children stay in our process group, so a terminal's Ctrl-C or a kill of the group reaches them too.
    children = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in PROCESSES.items()}

    def stop(*_):
        for proc in children.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 10
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def interrupted(*_):
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        announce_when_ready(
            host=HOST, port=int(PORT), ready_dir=ready_dir, out=sys.stdout,
            alive=lambda: all(p.poll() is None for p in children.values()),
        )  # fmt: skip
        while True:
            for name, proc in children.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping the others.", flush=True)
                    stop()
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop()
        return 0
    finally:
        shutil.rmtree(ready_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
