"""Run a command in the development environment: `python scripts/embedded_env.py manage.py shell`.

Settings default to production (DEBUG off, DJANGO_SECRET_KEY required), so `make run`, `make demo`,
`make migrate` and `make lint` go through here: DJANGO_DEBUG=true, a random secret key made once
and kept in var/secret_key (mode 0600), so sessions and signed links survive restarts, and likewise an
encryption key for stored secrets in var/encryption_key. An explicit DJANGO_SECRET_KEY or
CHARLA_ENCRYPTION_KEYS in the environment wins. A command ending in .py runs with this Python.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def var_path(name: str) -> Path:
    var_dir = os.environ.get("CHARLA_VAR_DIR") or str(ROOT / "var")  # the same default as portal.settings
    return Path(var_dir) / name


def embedded_key(path: Path, make: Callable[[], str]) -> str:
    """The key kept at `path`, made with `make` on first use; only the owner may read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if not key:
            raise SystemExit(f"{path} is empty: delete it and a new key is made") from None
        return key
    key = make()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def _fernet_key() -> str:
    # What cryptography's Fernet.generate_key() makes, without importing it here.
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def embedded_environment() -> dict[str, str]:
    key = os.environ.get("DJANGO_SECRET_KEY") or embedded_key(var_path("secret_key"), lambda: secrets.token_urlsafe(50))
    # Losing this file makes the stored channel secrets unreadable: back var/ up as a whole.
    encryption = os.environ.get("CHARLA_ENCRYPTION_KEYS") or embedded_key(var_path("encryption_key"), _fernet_key)
    return {
        **os.environ, "DJANGO_DEBUG": "true", "DJANGO_SECRET_KEY": key, "CHARLA_ENCRYPTION_KEYS": encryption,
    }  # fmt: skip


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command = [sys.executable, *argv] if argv[0].endswith(".py") else argv
    os.execvpe(command[0], command, embedded_environment())
    return 0  # not reached: exec replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
