"""Customer messaging end to end, through the HTTP API: statements drafted, approved and
delivered to subscribers by e-mail (a real SMTP server) and signed webhooks, with the faults a
subscriber can have."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from domain.models import EventKind
from testkit.mail import Received
from testkit.waiting import eventually
from tests.api.messaging import (
    Messaging,
    declare,
    first_draft,
    path_of,
    subscribe_webhook,
)


async def test_a_statement_walks_from_draft_to_every_subscriber(messaging: Messaging) -> None:
    m = messaging
    # Two subscribers added by the comms lead, one from the public page (double opt-in).
    assert (
        await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    ).status_code == 201
    ok = await subscribe_webhook(m, "ok")
    await subscribe_webhook(m, "flaky")
    signed_up = await m.public.post("/status/subscribe", data={"email": "Reader@Example.com"})
    assert signed_up.status_code == 202
    assert "a confirmation link is on its way" in signed_up.text
    (confirmation,) = await eventually(lambda: m.inbox.to("reader@example.com") or None)
    assert confirmation.subject == "Confirm your subscription to status updates"
    confirmed = await m.public.get(path_of(confirmation.link("/status/confirm")))
    assert confirmed.status_code == 200
    assert "You are subscribed" in confirmed.text
    again = await m.public.get(path_of(confirmation.link("/status/confirm")))
    assert again.status_code == 404  # a link works once

    incident = await declare(m)
    draft = await first_draft(m, incident["id"])
    assert draft["status"] == "draft"
    assert draft["stage"] == "investigating"
    unapproved = (await m.public.get("/status.json")).json()
    assert unapproved["incidents"] == []  # nothing before it is approved

    approved = await m.api.post(
        f"/api/v1/messages/{draft['id']}/approve",
        json={"body": "Card payments at checkout are failing. We are on it.", "by": "Gil Ramos"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    assert approved.json()["approved_by"] == "Gil Ramos"

    twice = await m.api.post(f"/api/v1/messages/{draft['id']}/approve", json={"by": "Hana Sato"})
    assert twice.status_code == 409
    assert "Gil Ramos" in twice.json()["detail"]

    # Every subscriber hears it, the flaky endpoint after two 500s.
    def statement_mail(address: str) -> list[Received]:
        return [r for r in m.inbox.to(address) if "Checkout failing" in r.subject]

    mails = await eventually(
        lambda: (
            (statement_mail("ops@example.com"), statement_mail("reader@example.com"))
            if statement_mail("ops@example.com") and statement_mail("reader@example.com")
            else None
        )
    )
    for (mail,) in mails:
        assert "Card payments at checkout are failing" in mail.text
        assert mail.subject == "[Investigating] Checkout failing"
        assert mail.message["List-Unsubscribe"].startswith("<http://tocsin.test/status/unsub")
    await eventually(lambda: len(m.hooks.endpoints["flaky"].verified) == 1)
    flaky = m.hooks.endpoints["flaky"]
    assert flaky.calls == 3
    assert flaky.bad_signatures == 0
    (call,) = m.hooks.endpoints["ok"].verified
    assert call["type"] == "incident.statement.published"
    assert call["data"]["statement"]["body"].startswith("Card payments")
    assert call["data"]["incident"]["id"] == incident["id"]
    assert len(set(flaky.ids)) == 1  # the same webhook-id on every try

    async def settled() -> list[dict[str, Any]] | None:
        (message,) = (await m.api.get(f"/api/v1/incidents/{incident['id']}/messages")).json()[
            "items"
        ]
        pending = [d for d in message["deliveries"] if d["status"] == "pending"]
        return None if pending else message["deliveries"]

    deliveries = await eventually(settled)
    by_target = {d["target"]: d for d in deliveries}
    assert by_target[m.hooks.url("flaky")]["attempts"] == 3
    assert by_target[m.hooks.url("ok")]["attempts"] == 1
    assert by_target["ops@example.com"]["status"] == "delivered"
    assert by_target["status page"]["channel"] == "status_page"
    assert {d["channel"] for d in deliveries} == {"status_page", "email", "webhook", "key_account"}

    async def delivered_line() -> str | None:
        timeline = (await m.api.get(f"/api/v1/incidents/{incident['id']}/timeline")).json()
        lines = [e["text"] for e in timeline["items"] if e["kind"] == "statement_delivered"]
        return lines[0] if lines else None

    line = await eventually(delivered_line)
    assert "e-mails 2/2" in line
    assert "webhooks 2/2 (1 after retries)" in line
    assert EventKind.STATEMENT_DELIVERED.value == "statement_delivered"

    # Following the unsubscribe link asks first; the button removes the subscription.
    (mail,) = m.inbox.to("reader@example.com")[-1:]
    link = mail.link("/status/unsubscribe")
    page = await m.public.get(path_of(link))
    assert page.status_code == 200
    assert "reader@example.com will receive no more updates" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    done = await m.public.post("/status/unsubscribe", data={"token": token.group(1)})
    assert "You are unsubscribed" in done.text
    listed = (await m.api.get("/api/v1/subscribers")).json()["items"]
    assert [s.get("email") or s["webhook_url"] for s in listed] == [
        "ops@example.com",
        m.hooks.url("ok"),
        m.hooks.url("flaky"),
    ]
    assert all("secret" not in s for s in listed)
    assert ok["secret"].startswith("whsec_")


async def test_an_endpoint_answering_410_is_disabled_and_smtp_down_stays_pending(
    messaging: Messaging,
) -> None:
    m = messaging
    await subscribe_webhook(m, "gone")
    await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    m.inbox.refusing = "451 4.3.0 try again later"
    incident = await declare(m)
    draft = await first_draft(m, incident["id"])

    await m.api.post(f"/api/v1/messages/{draft['id']}/approve", json={"by": "Gil Ramos"})

    async def disabled() -> dict[str, Any] | None:
        (hook,) = (await m.api.get("/api/v1/subscribers?kind=webhook")).json()["items"]
        return hook if hook["status"] == "disabled" else None

    hook = await eventually(disabled)
    assert "410" in hook["disabled_reason"]

    async def email_delivery() -> dict[str, Any] | None:
        (message,) = (await m.api.get(f"/api/v1/incidents/{incident['id']}/messages")).json()[
            "items"
        ]
        found = [d for d in message["deliveries"] if d["channel"] == "email"]
        return found[0] if found and found[0]["attempts"] >= 2 else None

    pending = await eventually(email_delivery)
    assert pending["status"] == "pending"
    assert pending["error"] == "SMTPDataError"
    # Meanwhile the incident goes on: it is acknowledged at once.
    ack = await m.api.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Ada Okafor"})
    assert ack.status_code == 200
    m.inbox.refusing = None
    await eventually(lambda: m.inbox.to("ops@example.com") or None, within=30)


async def test_public_sign_ups_are_limited_per_address(messaging: Messaging) -> None:
    m = messaging
    answers = [
        (await m.public.post("/status/subscribe", data={"email": "x@example.com"})).status_code
        for _ in range(4)
    ]
    assert answers == [202, 202, 202, 429]
    limited = await m.public.post("/status/subscribe", data={"email": "x@example.com"})
    assert int(limited.headers["Retry-After"]) > 0
    assert "Too many sign-ups" in limited.text
    bad = await m.public.post("/status/subscribe", data={"email": "not an address"})
    assert bad.status_code == 422
    assert "email" in str(bad.json()["detail"])


async def test_bad_statement_input_is_a_4xx_naming_the_field_and_changes_nothing(
    messaging: Messaging,
) -> None:
    m = messaging
    incident = await declare(m)
    draft = await first_draft(m, incident["id"])

    stage = await m.api.post(
        f"/api/v1/incidents/{incident['id']}/messages", json={"stage": "panicking", "by": "Gil"}
    )
    empty = await m.api.post(
        f"/api/v1/messages/{draft['id']}/approve", json={"body": "   ", "by": "Gil"}
    )
    no_reason = await m.api.post(f"/api/v1/messages/{draft['id']}/reject", json={"by": "Gil"})
    unknown = await m.api.post(f"/api/v1/messages/{incident['id']}-m99/approve", json={"by": "G"})
    draft_corrected = await m.api.post(
        f"/api/v1/messages/{draft['id']}/correct", json={"body": "x", "by": "Gil"}
    )
    no_incident = await m.api.get("/api/v1/incidents/20260101-nope/messages")

    assert stage.status_code == 422
    assert "stage" in str(stage.json()["detail"])
    assert empty.status_code == 422
    assert "body" in str(empty.json()["detail"])
    assert no_reason.status_code == 422
    assert "reason" in str(no_reason.json()["detail"])
    assert unknown.status_code == 404
    assert draft_corrected.status_code == 409
    assert "only a published one is corrected" in draft_corrected.json()["detail"]
    assert no_incident.status_code == 404
    (still,) = (await m.api.get(f"/api/v1/incidents/{incident['id']}/messages")).json()["items"]
    assert still["status"] == "draft"
    assert still["body"] == draft["body"]


async def test_key_accounts_hear_before_the_public(messaging: Messaging) -> None:
    m = messaging
    await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    incident = await declare(m)
    draft = await first_draft(m, incident["id"])

    await m.api.post(f"/api/v1/messages/{draft['id']}/approve", json={"by": "Gil Ramos"})

    async def settled() -> list[dict[str, Any]] | None:
        (message,) = (await m.api.get(f"/api/v1/incidents/{incident['id']}/messages")).json()[
            "items"
        ]
        found = message["deliveries"]
        done = all(d["status"] == "delivered" for d in found)
        return found if done and {d["channel"] for d in found} >= {"email", "status_page"} else None

    deliveries = await eventually(settled)
    managers = [d["at"] for d in deliveries if d["channel"] == "key_account"]
    public = [d["at"] for d in deliveries if d["channel"] in ("status_page", "email")]
    assert len(managers) == 4  # two accounts, by Slack and by mail
    assert max(managers) <= min(public)
    manager_mail = m.inbox.to("lea.martin@example.com")
    assert manager_mail
    assert manager_mail[0].subject.startswith("[Northwind Traders] Before it is public")


async def test_a_late_approval_is_counted_as_a_statement_breach(messaging: Messaging) -> None:
    m = messaging
    incident = await declare(m)
    await first_draft(m, incident["id"])

    await m.stack.env.sleep(timedelta(minutes=5, seconds=2))

    async def counted() -> str | None:
        text = (await m.api.get("/metrics")).text
        line = 'tocsin_statement_breaches_total{drill="false",level="A"} 1.0'
        return text if line in text else None

    text = await eventually(counted)
    assert 'tocsin_statement_breaches_total{drill="true",level="A"} 0.0' in text

    async def held() -> list[dict[str, Any]] | None:
        items = (await m.api.get(f"/api/v1/incidents/{incident['id']}/messages")).json()["items"]
        return [i for i in items if i["holding"] and i["status"] == "published"] or None

    (holding,) = await eventually(held)
    assert holding["approved_by"] == "pre-approved holding statement"

    async def on_the_page() -> list[str] | None:
        shown = (await m.public.get("/status.json")).json()["incidents"]
        return [u["body"] for u in shown[0]["incident_updates"]] if shown else None

    assert await eventually(on_the_page) == [holding["body"]]
