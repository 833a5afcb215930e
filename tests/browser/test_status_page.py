"""The status page in headless Chromium (Debian's ``chromium``, driven by Playwright): what a
customer sees on a laptop and on a phone, with JavaScript off, and what axe-core finds.

Screenshots are saved as test artifacts (``build/artifacts/``, or ``$TOCSIN_ARTIFACTS``); the
README's picture is one of them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Browser, async_playwright

from adapters.clock import utcnow
from testkit.waiting import eventually
from tests.api.messaging import Messaging, declare, first_draft

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TOCSIN_ARTIFACTS", ROOT / "build" / "artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


async def approve(m: Messaging, message_id: str, body: str) -> None:
    response = await m.api.post(
        f"/api/v1/messages/{message_id}/approve", json={"body": body, "by": "Gil Ramos"}
    )
    assert response.status_code == 200, response.text


async def on_page(m: Messaging, text: str) -> None:
    await eventually(lambda: _contains(m, text), what=f"{text!r} on the status page")


async def _contains(m: Messaging, text: str) -> bool:
    return text in (await m.public.get("/status")).text


async def a_busy_day(m: Messaging) -> dict[str, Any]:
    """An outage with two updates, an incident resolved earlier, maintenance ahead."""
    past = await declare(m, title="Support chat unavailable", level="B", service="support-chat")
    await approve(m, (await first_draft(m, past["id"]))["id"], "Support chat is unavailable.")
    await m.api.post(f"/api/v1/incidents/{past['id']}/resolve", json={"by": "Ada"})

    async def resolved_draft() -> str | None:
        items = (await m.api.get(f"/api/v1/incidents/{past['id']}/messages")).json()["items"]
        found = [i["id"] for i in items if i["stage"] == "resolved" and i["status"] == "draft"]
        return found[0] if found else None

    await approve(m, await eventually(resolved_draft), "Support chat is back.")

    outage = await declare(m, title="Card payments failing at checkout")
    await approve(
        m,
        (await first_draft(m, outage["id"]))["id"],
        "Some card payments fail at checkout. We are investigating.",
    )
    update = await m.api.post(
        f"/api/v1/incidents/{outage['id']}/messages",
        json={
            "stage": "identified",
            "body": "A faulty release of the payment gateway is the cause; rolling back.",
            "by": "Gil Ramos",
        },
    )
    assert update.status_code == 201, update.text
    await approve(m, update.json()["id"], update.json()["body"])
    starts = utcnow() + timedelta(days=1)
    maintenance = await m.api.post(
        "/api/v1/maintenances",
        json={
            "title": "Database upgrade",
            "body": "The API may answer slowly for up to ten minutes.",
            "components": ["core-api"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=30)).isoformat(),
            "by": "Gil Ramos",
        },
    )
    assert maintenance.status_code == 201, maintenance.text
    await on_page(m, "rolling back")
    await on_page(m, "Support chat is back.")
    return outage


async def test_the_status_page_reads_well_without_javascript_on_a_laptop_and_a_phone(
    messaging: Messaging, served: str, browser: Browser
) -> None:
    m = messaging
    outage = await a_busy_day(m)
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)

    laptop = await browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = await laptop.new_page()
    await page.goto(f"{served}/status")
    await page.screenshot(path=ARTIFACTS / "status-page.png", full_page=True)

    # Checkout down, the other components up: a partial outage of the whole.
    assert await page.locator("h1").inner_text() == "Partial System Outage"
    incident = page.locator(f"article[id='{outage['id']}']")
    assert await incident.locator("h3").inner_text() == "Card payments failing at checkout"
    updates = await incident.locator("ol.updates li").all_inner_texts()
    assert [u.split(" — ")[0] for u in updates] == ["Identified", "Investigating"]  # newest first
    checkout = page.locator("li.component", has_text="Checkout and payments")
    assert await checkout.locator(".state").inner_text() == "Major outage"
    assert await checkout.locator("svg.bars rect").count() == 90
    assert "100.00% uptime" not in await checkout.locator(".bars-legend").inner_text()
    chat = page.locator("li.component", has_text="Support chat")
    assert await chat.locator(".state").inner_text() == "Operational"
    assert "% uptime" in await chat.locator(".bars-legend").inner_text()
    assert "Database upgrade" in await page.locator("article.maintenance").inner_text()
    assert "Support chat is back." in await page.locator("article.past").inner_text()

    # The sign-up form works without JavaScript, and the confirmation mail arrives.
    await page.fill("#email", "reader@example.com")
    await page.click("button[type=submit]")
    assert await page.locator("h1").inner_text() == "Check your inbox"
    await eventually(lambda: m.inbox.to("reader@example.com") or None)

    phone = await browser.new_context(
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
    )
    small = await phone.new_page()
    await small.goto(f"{served}/status")
    await small.screenshot(path=ARTIFACTS / "status-page-phone.png", full_page=True)
    width = await small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone: {width}px wide"
    await laptop.close()
    await phone.close()


async def test_axe_finds_no_accessibility_violations(
    messaging: Messaging, served: str, browser: Browser
) -> None:
    await a_busy_day(messaging)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{served}/status")

    results = await Axe().run(page)

    assert results.violations_count == 0, results.generate_report()
    await context.close()
