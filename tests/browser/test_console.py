"""The lead console in headless Chromium (Debian's ``chromium``, driven by Playwright): a lead
follows an incident from declaration to a published review without reloading the command
centre; a viewer sees no button and is refused; a form without its CSRF token is refused; axe-core
finds nothing serious.

One browser for the module. Screenshots are saved as test artifacts (``build/artifacts/``, or
``$TOCSIN_ARTIFACTS``); the README's pictures of the console are these.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.api.conftest import TOKEN
from tests.api.messaging import Messaging, declare

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TOCSIN_ARTIFACTS", ROOT / "build" / "artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Long enough for a busy machine, far shorter than anything the console waits for itself.
SECONDS = 15_000
# The module's tests run on one xdist worker, so one Chromium serves them all.
pytestmark = pytest.mark.xdist_group("console-browser")
OUTSIDE: list[str] = []
ERRORS: list[str] = []


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


async def a_token(m: Messaging, name: str, role: str, person: str | None = None) -> str:
    response = await m.api.post(
        "/api/v1/tokens", json={"name": name, "role": role, "person": person}
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def signed_in(browser: Browser, served: str, token: str, **options: Any) -> Page:
    context = await browser.new_context(base_url=served, **options)
    context.set_default_timeout(SECONDS)
    page = await context.new_page()
    # No request leaves for another site: every script and style is served by tocsin.
    page.on("request", lambda r: OUTSIDE.append(r.url) if not r.url.startswith(served) else None)
    # A script that fails, or a style or script the page's CSP blocks, shows here.
    page.on("console", lambda m: ERRORS.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: ERRORS.append(str(e)))
    page.on("response", lambda r: ERRORS.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    await page.goto("/console")
    await expect(page.locator("h1")).to_have_text("Sign in")
    await page.fill("#token", token)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Command centre")
    return page


async def shot(page: Page, name: str) -> None:
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


async def no_serious_violations(page: Page) -> None:
    results = await Axe().run(page)
    serious = [
        v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")
    ]
    assert not serious, results.generate_report()


async def test_a_lead_follows_an_incident_from_declaration_to_a_published_review(
    messaging: Messaging, served: str, browser: Browser
) -> None:
    m = messaging
    lead = await a_token(m, "lead-ada", "lead", "Ada Okafor")
    page = await signed_in(browser, served, lead, viewport={"width": 1280, "height": 900})
    await expect(page.locator(".calm")).to_have_text("No open incidents.")
    cookie = next(c for c in await page.context.cookies() if c["name"] == "tocsin_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert lead not in await page.content()

    # Declared through the API: the board shows it without a reload.
    incident = await declare(m, title="Card payments failing at checkout")
    card = page.locator(f"[data-incident='{incident['id']}']")
    await expect(card.locator("h3")).to_have_text("Card payments failing at checkout")
    countdown = card.locator(".countdown")
    await expect(countdown).to_have_text(re.compile(r"^\d+:\d\d left$"))
    first = await countdown.inner_text()
    await expect(countdown).not_to_have_text(first)  # it ticks
    await expect(card.locator(".next")).to_contain_text("step 1 of")
    await no_serious_violations(page)
    await shot(page, "console-command-centre")

    # Acknowledged from the page: the countdown gives way to who acknowledged.
    # From the keyboard: the button takes focus and Enter presses it.
    await card.get_by_role("button", name="Acknowledge").focus()
    await page.keyboard.press("Enter")
    await expect(card.locator(".status")).to_have_text("acknowledged")
    await expect(card.locator(".countdown")).to_have_count(0)
    await expect(card.locator(".done")).to_contain_text("acknowledged by Ada Okafor")
    await expect(card.locator(".next")).to_have_text("nothing escalates")

    # The incident's page follows it live too: an update posted elsewhere appears.
    await card.get_by_role("link", name="Card payments failing at checkout", exact=True).click()
    await expect(page.locator("h1")).to_contain_text("Card payments failing at checkout")
    posted = await m.api.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"text": "Rolled the gateway back", "by": "Ada Okafor"},
    )
    assert posted.status_code == 200, posted.text
    await expect(page.locator("ol.timeline")).to_contain_text("Rolled the gateway back")

    # Resolved from the page; the page shows the review once it opens.
    await page.get_by_role("button", name="Resolve").click()
    await expect(page.locator(".meta .status")).to_have_text("resolved")
    # The review opens a moment after the resolution: the page shows it without a reload.
    review_link = page.get_by_role("link", name="Open the review")
    await expect(review_link).to_have_count(1)
    await expect(page.locator("ol.timeline")).to_contain_text("review opened")
    # The messages section is not live (it would wipe a draft being edited); read again, it
    # shows what customers may still be told: the "resolved" draft, the "investigating" one
    # superseded.
    await page.reload()
    await expect(page.locator("article.message.status-draft .meta")).to_contain_text("resolved")
    await expect(page.locator("article.message.status-draft")).to_have_count(1)
    await no_serious_violations(page)
    await shot(page, "console-incident")

    await review_link.click()
    await expect(page.locator("h1")).to_have_text("Review: Card payments failing at checkout")
    await page.fill("#f-summary", "Card payments failed for 20 minutes after a gateway release.")
    await page.fill("#f-root", "The release changed the gateway's timeout to 100 ms.")
    await page.fill("#f-lessons", "Canary gateway releases\nAlert on payment success rate")
    await page.get_by_role("button", name="Save the review").click()
    await expect(page.locator("#f-root")).to_have_value(
        "The release changed the gateway's timeout to 100 ms."
    )
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator(".review-status")).to_have_text("published")
    await expect(page.get_by_role("button", name="Save the review")).to_have_count(0)
    await no_serious_violations(page)
    await shot(page, "console-review")

    published = (await m.api.get(f"/api/v1/incidents/{incident['id']}/review")).json()
    assert published["status"] == "published"
    assert published["lessons"] == ["Canary gateway releases", "Alert on payment success rate"]
    await page.context.close()


async def test_a_viewer_sees_no_button_and_its_posts_are_refused(
    messaging: Messaging, served: str, browser: Browser
) -> None:
    m = messaging
    incident = await declare(
        m, title="Support tickets are slow", level="C", service="support-tickets"
    )
    viewer = await a_token(m, "viewer-bo", "viewer")
    page = await signed_in(
        browser, served, viewer, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    card = page.locator(f"[data-incident='{incident['id']}']")
    await expect(card.locator("h3")).to_have_text("Support tickets are slow")
    await expect(page.locator("main button")).to_have_count(0)
    await expect(page.locator("main form[method=post]")).to_have_count(0)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the console scrolls sideways on a phone: {width}px wide"
    await shot(page, "console-viewer-phone")

    await card.get_by_role("link", name="Support tickets are slow", exact=True).click()
    await expect(page.locator("h1")).to_contain_text("Support tickets are slow")
    await expect(page.locator("main button")).to_have_count(0)

    # With the session's own CSRF token, as the page would send it: refused by role.
    csrf = await page.locator("form.who input[name=csrf]").get_attribute("value")
    assert csrf
    answer = await page.request.post(
        f"/console/incidents/{incident['id']}/ack", form={"csrf": csrf}, max_redirects=0
    )
    assert answer.status == 403
    assert "viewer" in await answer.text()
    state = (await m.api.get(f"/api/v1/incidents/{incident['id']}")).json()
    assert state["status"] == "triggered"
    audit = (await m.api.get("/api/v1/audit")).json()["items"]
    assert any(
        a["token"] == "viewer-bo" and a["path"].endswith("/ack") and a["status"] == 403
        for a in audit
    )
    await page.context.close()


async def test_a_form_posted_without_its_csrf_token_is_refused(
    messaging: Messaging, served: str, browser: Browser
) -> None:
    m = messaging
    incident = await declare(m, title="Login failing", level="B", service="core-api")
    page = await signed_in(browser, served, TOKEN)  # the API token signs in as the admin
    await expect(page.locator(f"[data-incident='{incident['id']}'] h3")).to_have_text(
        "Login failing"
    )
    target = f"/console/incidents/{incident['id']}/ack"
    missing = await page.request.post(target, form={"next": "/console"}, max_redirects=0)
    wrong = await page.request.post(target, form={"csrf": "forged"}, max_redirects=0)
    assert (missing.status, wrong.status) == (403, 403)
    assert "CSRF" in await missing.text()
    state = (await m.api.get(f"/api/v1/incidents/{incident['id']}")).json()
    assert state["status"] == "triggered"

    # Signed out, the session no longer opens the console.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("h1")).to_have_text("Sign in")
    await page.goto("/console")
    await expect(page.locator("h1")).to_have_text("Sign in")
    await page.context.close()


async def test_every_console_page_passes_axe_and_asks_nothing_of_other_sites(
    messaging: Messaging, served: str, browser: Browser
) -> None:
    m = messaging
    incident = await declare(m, title="Support chat unavailable", level="B", service="support-chat")
    acked = await m.api.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Ada Okafor"})
    assert acked.status_code == 200, acked.text
    page = await signed_in(browser, served, TOKEN)
    for path in ("/console/reviews", "/console/drills", "/console/oncall", "/console/playbooks"):
        await page.goto(path)
        await no_serious_violations(page)

    await page.goto("/console/reports")
    month = (await page.locator("table tbody tr td").first.inner_text()).strip()
    assert re.fullmatch(r"\d{4}-\d\d", month)
    drawn = await page.evaluate(
        "[...document.querySelectorAll('canvas[data-figure]')].map(c => !!window.Chart.getChart(c))"
    )
    assert drawn == [True, True, True]
    await no_serious_violations(page)
    await shot(page, "console-reports")
    assert OUTSIDE == []
    assert ERRORS == []
    await page.context.close()
