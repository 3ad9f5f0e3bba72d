"""`make run`: the ASGI server, a Celery worker and beat in one terminal; Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8000")

PROCESSES = {
    "web": [str(BIN / "uvicorn"), "portal.asgi:application", "--host", "127.0.0.1", "--port", PORT],
    "worker": [str(BIN / "celery"), "-A", "portal", "worker", "--loglevel", "INFO", "--concurrency", "2"],
    "beat": [str(BIN / "celery"), "-A", "portal", "beat", "--loglevel", "INFO"],
}


def main() -> int:
    # Children stay in our process group, so a terminal's Ctrl-C or a kill of the group reaches them too.
    children = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in PROCESSES.items()}
    print(f"\nCharla is starting on http://127.0.0.1:{PORT}/  (Ctrl-C stops web, worker and beat)\n", flush=True)

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


if __name__ == "__main__":
    sys.exit(main())
