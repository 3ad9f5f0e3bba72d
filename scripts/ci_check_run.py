"""CI: wait for a `make run` portal, sign in over HTTP as the demo admin, see the dashboard, then wait
for /readyz to answer 200 (database, cache, channel layer, broker, and the scheduler within its grace)."""

from __future__ import annotations

import http.cookiejar
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the demo's names, from the project itself
from apps.core.demo_data import SHOP_NAME  # plain data: no Django needed

DEMO_EMAIL = "admin@demo.charla.test"
DEMO_PASSWORD = "charla-demo-2026"
READY_TIMEOUT = 120  # the first heartbeat comes one interval (20 s) after beat starts


def wait_ready(base: str) -> str | None:
    """None once /readyz answers 200, else what it said last."""
    deadline = time.time() + READY_TIMEOUT
    last = "no answer"
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=10) as response:
                if json.loads(response.read()) == {"status": "ok"}:
                    return None
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read().decode()}"
        except OSError as exc:
            last = str(exc)
        time.sleep(2)
    return last


def main(base: str, log_path: str) -> int:
    deadline = time.time() + 600  # a clean clone installs its own virtualenv first
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=3) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(2)
    else:
        print("make run never answered /healthz")
        return 1
    with open(log_path, encoding="utf-8", errors="replace") as log:
        printed = log.read()
    if DEMO_EMAIL not in printed:
        print("make run did not print the demo logins")
        return 1
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(
        base + "/accounts/login/", data=form.encode(), headers={"Referer": base + "/accounts/login/"}
    )
    dashboard = opener.open(request)
    body = dashboard.read().decode()
    if dashboard.url.rstrip("/") != base or SHOP_NAME not in body:
        print(f"login did not reach the dashboard: {dashboard.url}")
        return 1
    print("signed in as the demo admin and saw the dashboard")
    not_ready = wait_ready(base)
    if not_ready:
        print(f"/readyz did not answer 200 within {READY_TIMEOUT} s: {not_ready}")
        return 1
    print("/readyz answered 200: the embedded services answer")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
