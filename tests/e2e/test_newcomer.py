"""The newcomer's path against the real `make run` stack, the way a newcomer gets it.

No test rig: in a temporary CHARLA_VAR_DIR (SQLite, broker, keys, media) the test runs `migrate`,
`seed_demo` and `scripts/run_embedded.py` (uvicorn, a Celery worker and beat) as `make run` does, reads
the logins they print, and drives Chromium through it: a marketer builds a segment in the wizard,
launches a campaign with an approved demo template and watches it complete live; on the sandbox phone
a recipient taps "Stop promotions", which revokes their consent and counts on the campaign's results;
a customer on the demo shop's widget and an agent in the inbox talk live both ways. It touches no test
database: everything it checks it reads from pages the portal serves.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.e2e.test_campaign_wizard import WATCH  # the live cells' MutationObserver
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]
LOGIN_LINE = re.compile(r"^\s+(admin|agent|marketer)\s+(\S+@\S+)\s+/\s+(\S+)\s*$", re.MULTILINE)
STACK_READY = 60.0
STOP_GRACE = 15.0


@dataclass
class Stack:
    url: str
    logins: dict[str, tuple[str, str]]
    log: Path

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "scripts/embedded_env.py", "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _logins(text: str) -> dict[str, tuple[str, str]]:
    return {role: (email, password) for role, email, password in LOGIN_LINE.findall(text)}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(process: subprocess.Popen) -> None:
    """SIGINT to the whole group (what Ctrl-C sends); SIGKILL to the group if anything in it outlives
    the grace (run_embedded's children, the worker's pool included, share its group)."""
    if _group_alive(process.pid):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=STOP_GRACE)
        wait_until(lambda: not _group_alive(process.pid), STOP_GRACE, what="the stack's processes to exit")
    except (subprocess.TimeoutExpired, AssertionError):
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_GRACE)


def _harness(name: str) -> bool:
    """Set by this run, not by a newcomer's shell: the services it may use, and what pytest and
    tests/settings.py put in the environment (DJANGO_SETTINGS_MODULE=tests.settings, a test secret key,
    DJANGO_DEBUG=false), which `make run` would otherwise inherit."""
    return name in ("DATABASE_URL", "REDIS_URL", "CHANNELS_PREFIX") or name.startswith(
        ("DJANGO_", "CHARLA_", "PYTEST_")
    )


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not _harness(k)}
    env.update(CHARLA_VAR_DIR=str(tmp_path / "var"), PORT=str(port), CHARLA_PUBLIC_URL=f"http://127.0.0.1:{port}")
    _manage(env, "migrate", "--noinput")
    seeded = _logins(_manage(env, "seed_demo"))
    assert set(seeded) == {"admin", "agent", "marketer"}
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "scripts/embedded_env.py", "scripts/run_embedded.py"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    stack = Stack(url=f"http://127.0.0.1:{port}", logins=seeded, log=log)
    try:

        def printed_logins() -> bool:
            assert process.poll() is None, f"make run's stack exited with {process.returncode}:\n{stack.tail()}"
            return _logins(log.read_text(errors="replace")) == seeded

        wait_until(printed_logins, STACK_READY, 0.2, what="the stack to print the logins", detail=stack.tail)
        printed = log.read_text(errors="replace")
        assert f"Be the customer: the demo shop's web chat at {stack.url}/demo-shop/" in printed
        assert f"a WhatsApp phone at {stack.url}/sandbox/phone/" in printed
        yield stack
    finally:
        _stop(process)


def test_a_newcomer_runs_a_campaign_sees_an_opt_out_and_chats_live(browser, stack):
    try:
        _newcomer(browser, stack)
    except BaseException:
        print(f"--- the stack's last lines ---\n{stack.tail()}")
        raise


def _newcomer(browser, stack: Stack) -> None:
    marketer_ctx, problems = _watched(browser)
    try:
        page = marketer_ctx.new_page()
        page.set_default_timeout(20_000)
        _sign_in(page, stack, "marketer")
        campaign_url, reachable = _wizard(page, stack)
        _launch_and_watch(page, campaign_url, reachable)
        before = _funnel(page, campaign_url)
        assert (before["reachable"], before["sent"], before["opted_out"]) == (reachable, reachable, 0)
        recipient_id, recipient = _a_recipient(marketer_ctx, campaign_url)
        _stop_promotions(page, stack, recipient_id, recipient)
        _consent_revoked(page, stack, recipient_id)
        after = _funnel(page, campaign_url)
        assert after["opted_out"] == 1  # the one STOP, counted on the results
        assert problems == []
    finally:
        marketer_ctx.close()
    _customer_and_agent(browser, stack)


def _watched(browser) -> tuple[object, list[str]]:
    """A new browser context and the list it fills with every CSP refusal and uncaught script error of
    its pages: the newcomer's path must run clean under the strict policy."""
    context = browser.new_context()
    problems: list[str] = []
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )

    def watch(page) -> None:
        page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))

    context.on("page", watch)
    return context, problems


def _sign_in(page, stack: Stack, role: str) -> None:
    email, password = stack.logins[role]
    page.goto(f"{stack.url}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.url}/")


def _audience(page) -> str:
    """The audience box once htmx has answered for both rows (one box, settled)."""
    page.wait_for_function(
        """() => {
          const boxes = document.querySelectorAll("#audience");
          return boxes.length === 1 && /can receive marketing on WhatsApp now/.test(boxes[0].textContent);
        }"""
    )
    return page.locator("#audience").inner_text()


def _wizard(page, stack: Stack) -> tuple[str, int]:
    page.goto(f"{stack.url}/campaigns/new/")
    page.get_by_label("Campaign name").fill("Newcomer's first campaign")
    page.get_by_label("Channel").select_option(label="WhatsApp Tienda Sol (whatsapp)")
    page.get_by_label("Template", exact=True).select_option(label="rebajas_sol (es)")
    page.get_by_label("{{nombre}} is filled with").select_option("first_name")
    page.get_by_label("Fallback for {{nombre}}").fill("cliente")
    page.get_by_label("Fallback for {{codigo}}").fill("SOL30")
    page.get_by_label("Fallback for {{codigo}}").blur()
    page.locator('#template-preview mark[data-variable="codigo"]', has_text="SOL30").wait_for()
    assert [b.strip() for b in page.locator("#template-preview .preview-buttons button").all_inner_texts()] == [
        "Ver ofertas",
        "Stop promotions",
    ]
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/steps/audience/$"))
    campaign_url = page.url.removesuffix("steps/audience/")

    # The segment builder: two rows, no JSON; the count answers in words.
    page.get_by_label("Build an audience").check()
    page.get_by_label("Name the new audience").fill("VIP wholesalers")
    page.get_by_label("Row 1 field").select_option("tag")
    page.get_by_label("Row 1 operator").select_option("is")
    page.get_by_label("Row 1 value").fill("vip")
    page.get_by_role("button", name="Add a row").click()
    page.get_by_label("Row 2 field").select_option("tag")
    page.get_by_label("Row 2 operator").select_option("is")
    page.get_by_label("Row 2 value").fill("mayorista")
    page.wait_for_function("() => document.querySelectorAll('#audience').length === 1")
    text = _audience(page)
    reachable = int(re.search(r"(\d+) can receive marketing on WhatsApp now", text).group(1))
    assert reachable >= 1, text
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/steps/schedule/$"))

    # Send on launch, quickly, whatever the hour: no quiet hours.
    page.get_by_label("Messages per minute").fill("600")
    page.get_by_label("Quiet hours from (each contact's time)").fill("")
    page.get_by_label("Quiet hours until").fill("")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/steps/review/$"))
    assert "Sends as soon as you launch." in page.locator("#review").inner_text()
    return campaign_url, reachable


def _launch_and_watch(page, campaign_url: str, reachable: int) -> None:
    watcher = page.context.new_page()
    watcher.set_default_timeout(30_000)
    try:
        watcher.goto(campaign_url)
        status = watcher.locator('#live [data-field="status"]')
        watcher.locator('#live[data-connected="true"]').wait_for(state="attached")
        assert status.inner_text().strip() == "Draft"
        watcher.evaluate(WATCH)

        people = f"{reachable} {'person' if reachable == 1 else 'people'}"
        dialogs: list[str] = []
        page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
        with page.expect_navigation(url=campaign_url):
            page.get_by_role("button", name=f"Launch to {people}").click()
        assert dialogs == [f"Send “Newcomer's first campaign” to {people} now?"]

        status.filter(has_text=re.compile("^Completed$")).wait_for(timeout=60_000)
        seen = watcher.evaluate("window.__seen")
        assert watcher.evaluate("window.__sameDocument") is True  # no reload: the socket changed the cells
        assert seen["status"][0] == "Draft" and seen["status"][-1] == "Completed"
        assert "Running" in seen["status"] and seen["status"].index("Running") < seen["status"].index("Completed")
        assert seen["sent_total"][0] == "0" and seen["sent_total"][-1] == str(reachable)
    finally:
        watcher.close()


def _funnel(page, campaign_url: str) -> dict[str, int]:
    page.goto(campaign_url)
    rows = page.locator("#results tr[data-step]")
    rows.first.wait_for()
    return {row.get_attribute("data-step"): int(row.locator("td").first.inner_text()) for row in rows.all()}


def _a_recipient(context, campaign_url: str) -> tuple[int, str]:
    """A contact the campaign reached, from the deliveries CSV the results page links to."""
    response = context.request.get(f"{campaign_url}deliveries.csv")
    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO(response.text())))
    reached = [r for r in rows if r["state"] in ("sent", "delivered", "read")]
    assert reached, rows
    return int(reached[0]["contact_id"]), reached[0]["contact_name"]


def _stop_promotions(page, stack: Stack, contact_id: int, name: str) -> None:
    page.goto(f"{stack.url}/sandbox/phone/?{urlencode({'q': name})}")
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(f"{stack.url}/sandbox/phone/{contact_id}/")
    first_name = name.split(" ")[0]  # what {{nombre}} was mapped to: the first word of the name
    bubble = page.locator(".sandbox-bubble.theirs", has_text=f"¡Hola {first_name}! Llegan las rebajas a Tienda Sol")
    bubble.wait_for()
    assert "SOL30" in bubble.inner_text()
    assert bubble.get_by_role("button", name="Ver ofertas").is_visible()
    bubble.get_by_role("button", name="Stop promotions").click()
    page.locator(".sandbox-bubble.mine", has_text="Stop promotions").wait_for()
    # no reload: the thread's poll brings the keyword engine's confirmation in, sent by the worker
    page.locator(".sandbox-bubble.theirs", has_text="You will no longer receive marketing messages").wait_for()


def _consent_revoked(page, stack: Stack, contact_id: int) -> None:
    page.goto(f"{stack.url}/contacts/{contact_id}/")
    grid = page.locator(".consent-grid tbody tr")
    statuses = {
        (row.locator('[data-label="Channel"]').inner_text(), row.locator('[data-label="Purpose"]').inner_text()): (
            row.locator('[data-label="Status"]').inner_text()
        )
        for row in grid.all()
    }
    assert statuses[("WhatsApp", "Marketing")] == "revoked", statuses


def _customer_and_agent(browser, stack: Stack) -> None:
    (customer_ctx, customer_problems), (agent_ctx, agent_problems) = _watched(browser), _watched(browser)
    try:
        agent = agent_ctx.new_page()
        agent.set_default_timeout(20_000)
        _sign_in(agent, stack, "agent")
        agent.goto(f"{stack.url}/inbox/?view=all")
        agent.locator("#live-status").filter(has_text="Live").wait_for()
        agent.evaluate("() => { window.__sameDocument = true; }")

        customer = customer_ctx.new_page()
        customer.set_default_timeout(20_000)
        customer.goto(f"{stack.url}/demo-shop/")
        customer.locator("#charla-widget button.launcher").click()
        widget = customer.locator("#charla-widget")
        prechat = widget.locator("form.prechat")
        if prechat.count():  # built with the launcher, from the session's answer, when the widget asks
            for field, value in (("name", "Nuria Newcomer"), ("email", "nuria@newcomer.test")):
                if prechat.locator(f"#charla-{field}").count():
                    prechat.locator(f"#charla-{field}").fill(value)
            prechat.get_by_role("button", name="Start chat").click()
            prechat.wait_for(state="detached")
        widget.locator(".status").filter(has_text="Online").wait_for()
        customer.evaluate("() => { window.__sameDocument = true; }")
        widget.locator("textarea").fill("Hola, ¿tenéis la talla M?")
        widget.locator("textarea").press("Enter")

        row = agent.locator("#conversation-list .conversation-row", has_text="Hola, ¿tenéis la talla M?")
        row.wait_for()
        assert agent.evaluate("window.__sameDocument") is True  # live: the inbox was never reloaded
        row.locator("a").first.click()
        history = agent.locator("#message-list")
        history.locator(".msg.inbound", has_text="Hola, ¿tenéis la talla M?").wait_for()
        agent.locator("#id_text").fill("Sí, nos quedan dos en talla M.")
        agent.get_by_role("button", name="Send").click()
        widget.locator(".msg.outbound", has_text="Sí, nos quedan dos en talla M.").wait_for()
        assert customer.evaluate("window.__sameDocument") is True  # live: the shop page was never reloaded
        assert customer_problems == [] and agent_problems == []
    finally:
        customer_ctx.close()
        agent_ctx.close()
