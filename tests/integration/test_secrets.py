"""Secrets never appear in logs or error answers: ``tocsin up`` runs with known secrets (API,
intake, Slack bot token and signing secret, SMTP password, a webhook subscriber's secret);
everything it is asked that fails, and every line it logs, is searched for them."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import httpx
import pytest

from testkit.fake_slack import serve_fake_slack
from testkit.mail import smtp_server
from testkit.playbooks import playbook_dir
from testkit.stack import TocsinUp, clean_env
from testkit.waiting import eventually
from testkit.webhooks import Endpoint, webhook_receiver

pytestmark = pytest.mark.integration

API = "tocsin_api_SECRET_7c1f0e1a9b2d4c6e8f0a1b2c3d4e5f60"
INTAKE = "intake_SECRET_5a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"
SLACK_BOT = "xoxb-SECRET-4b6d8f0a2c4e6a8c0e2a4c6e8a0c2e4a"
SIGNING = "signing_SECRET_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
SMTP_PASSWORD = "smtp_SECRET_3c5e7a9c1e3a5c7e9a1c3e5a7c9e1a3c"


async def test_no_secret_reaches_a_log_line_or_an_answer(tmp_path: Path) -> None:
    answers: list[str] = []
    with smtp_server() as smtp:
        async with (
            serve_fake_slack(token=SLACK_BOT) as fake,
            webhook_receiver(hook=Endpoint(answers=[500])) as hooks,
        ):
            fake.add_channel("incidents")
            env = clean_env(
                TOCSIN_API_TOKEN=API,
                TOCSIN_INTAKE_TOKEN=INTAKE,
                TOCSIN_SLACK_BOT_TOKEN=SLACK_BOT,
                TOCSIN_SLACK_SIGNING_SECRET=SIGNING,
                TOCSIN_SLACK_API_URL=fake.base_url,
                TOCSIN_SMTP_HOST=smtp.host,
                TOCSIN_SMTP_PORT=str(smtp.port),
                TOCSIN_SMTP_STARTTLS="false",
                TOCSIN_SMTP_USER="tocsin",
                TOCSIN_SMTP_PASSWORD=SMTP_PASSWORD,
                TOCSIN_WEBHOOK_ALLOW_PRIVATE="true",
            )
            up = TocsinUp(tmp_path, playbook_dir(tmp_path / "playbooks"), env=env)
            await up.start()
            try:
                await up.wait_until_up()
                webhook_secret = await _exercise(up, hooks.url("hook"), answers)
            finally:
                await up.stop()
    secrets = {
        "API": API,
        "INTAKE": INTAKE,
        "SLACK_BOT": SLACK_BOT,
        "SIGNING": SIGNING,
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "webhook secret": webhook_secret,
    }
    logs = [up.output, *sorted((up.data_dir / "logs").glob("*"))]
    texts = {str(p): p.read_text(encoding="utf-8", errors="replace") for p in logs if p.is_file()}
    assert len(texts) >= 3, texts.keys()  # the stack's output, the process logs
    leaks = [
        (what, where)
        for what, secret in secrets.items()
        for where, text in {**texts, **{f"answer {i}": a for i, a in enumerate(answers)}}.items()
        if secret in text or secret[-16:] in text
    ]
    everything = "\n".join(texts.values())
    # The paths that fail were taken, and logged.
    assert "e-mail to a subscriber failed for now: SMTPException" in everything
    assert '/hook "HTTP/1.1 500 Internal Server Error"' in everything
    assert any("invalid bearer token" in a for a in answers)
    assert leaks == []


async def _exercise(up: TocsinUp, hook_url: str, answers: list[str]) -> str:
    """Everything that fails: wrong tokens everywhere, forged Slack requests, a mail server
    refusing the login, a webhook subscriber answering 500."""
    base = up.api_url
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as http:
        auth = {"Authorization": f"Bearer {API}"}
        for headers in ({}, {"Authorization": f"Bearer {INTAKE}"}, {"Authorization": "Bearer x"}):
            answers.append((await http.get("/api/v1/incidents", headers=headers)).text)
        answers.append(
            (
                await http.post(
                    "/api/v1/alerts/alertmanager",
                    headers={"Authorization": f"Bearer {API}"},
                    json={"version": "4"},
                )
            ).text
        )
        body = b"command=%2Fincident&text=ack"
        stamp = str(int(time.time()))
        wrong = hmac.new(b"not-it", f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        answers.append(
            (
                await http.post(
                    "/slack/commands",
                    content=body,
                    headers={
                        "X-Slack-Request-Timestamp": stamp,
                        "X-Slack-Signature": f"v0={wrong}",
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
            ).text
        )
        subscribed = await http.post(
            "/api/v1/subscribers", headers=auth, json={"webhook_url": hook_url, "by": "Gil"}
        )
        assert subscribed.status_code == 201, subscribed.text
        secret = str(subscribed.json()["secret"])
        await http.post(
            "/api/v1/subscribers", headers=auth, json={"email": "ops@example.com", "by": "Gil"}
        )
        declared = await http.post(
            "/api/v1/incidents",
            headers=auth,
            json={"title": "Checkout failing", "level": "A", "type": "service_outage"},
        )
        assert declared.status_code == 201, declared.text
        incident = declared.json()["id"]

        drafted = await http.post(
            f"/api/v1/incidents/{incident}/messages",
            headers=auth,
            json={"stage": "investigating", "by": "Gil Ramos"},
        )
        assert drafted.status_code == 201, drafted.text
        message = drafted.json()["id"]
        approved = await http.post(
            f"/api/v1/messages/{message}/approve", headers=auth, json={"by": "Gil Ramos"}
        )
        assert approved.status_code == 200, approved.text

        seen: list[str] = []

        async def tried() -> bool:
            out = await http.get(f"/api/v1/incidents/{incident}/messages", headers=auth)
            seen[:] = [out.text]
            items = out.json()["items"] if out.status_code == 200 else []
            if not items:
                return False  # the statement is not published yet
            tries = {d["channel"]: d["attempts"] for d in items[0]["deliveries"]}
            # The mail server refused the login; the webhook answered 500, then again.
            return bool(tries.get("email", 0) >= 1 and tries.get("webhook", 0) >= 2)

        await eventually(tried, within=60, every=0.5, report=lambda: seen[0] if seen else "")
    return secret
