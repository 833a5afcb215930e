"""The public status page (DESIGN.md §3): ``/status`` for people, ``/status.json`` for widgets
and ``/status/feed.atom`` for feed readers, and the public sign-up with double opt-in.

No token: everything here is public, so nothing here is anything but what was published.
Pages are cached briefly by browsers and proxies and carry an ETag, so a widget polling every
few seconds costs one cheap 304.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, EmailStr, Field

from adapters.clock import utcnow
from adapters.records.statements import Subscriber
from api import status_page
from api.deps import ConfigDep, RuntimeDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["status page"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

# Browsers and proxies may reuse a page this long; an incident's first statement reaches
# readers within that, and widgets revalidate cheaply with the ETag.
CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=30"
FEED_ENTRIES = 50

STAGE_LABEL = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}
COMPONENT_LABEL = {
    status_page.OPERATIONAL: "Operational",
    status_page.DEGRADED: "Degraded performance",
    status_page.PARTIAL: "Partial outage",
    status_page.MAJOR: "Major outage",
    status_page.MAINTENANCE: "Under maintenance",
}
IMPACT_LABEL = {"minor": "Minor impact", "major": "Major impact", "critical": "Critical impact"}
MAINTENANCE_LABEL = {
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "completed": "Completed",
    "cancelled": "Cancelled",
}


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


class SignUp(BaseModel):
    email: EmailStr = Field(max_length=254)


class SignUpLimits:
    """Sign-ups a person can ask for: per address (so nobody is mail-bombed through us) and
    per client (so nobody enrols a list). Kept in this process; behind several API replicas
    each has its own count, which still bounds the mail to a small multiple."""

    def __init__(self, per_address: str, per_client: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_address = parse(per_address)
        self._per_client = parse(per_client)

    async def allow(self, address: str, client: str) -> int | None:
        """None when allowed, else the seconds to wait."""
        for item, key in ((self._per_client, client), (self._per_address, address)):
            if not await self._limiter.hit(item, "signup", key):
                stats = await self._limiter.get_window_stats(item, "signup", key)
                return max(1, int(stats.reset_time - utcnow().timestamp()))
        return None


def limits_of(request: Request) -> SignUpLimits:
    found = getattr(request.app.state, "signup_limits", None)
    if found is None:
        config = request.app.state.config
        found = SignUpLimits(config.signup_per_address, config.signup_per_client)
        request.app.state.signup_limits = found
    assert isinstance(found, SignUpLimits)
    return found


async def build_page(runtime: RuntimeDep, config: ConfigDep) -> status_page.StatusPage:
    now = utcnow()
    since = now - timedelta(days=status_page.HISTORY_DAYS)
    messages = await runtime.store.statements.published_since(since)
    incidents = await runtime.store.incidents_by_id({m.incident_id for m in messages})
    return status_page.build(
        name=config.status_page_name,
        url=f"{config.public_url.rstrip('/')}/status",
        catalog=runtime.catalog,
        incidents=incidents,
        messages=messages,
        maintenances=await runtime.store.statements.maintenances(ending_after=since),
        overrides=await runtime.store.statements.overrides(),
        now=now,
    )


def etag_of(summary: dict[str, Any], kind: str) -> str:
    # The page's update time moves on every request; what readers see does not.
    stable = {**summary, "page": {k: v for k, v in summary["page"].items() if k != "updated_at"}}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:32]
    return f'W/"{kind}-{digest}"'


def not_modified(request: Request, etag: str) -> Response | None:
    wanted = request.headers.get("if-none-match", "")
    if etag in [t.strip() for t in wanted.split(",")]:
        return Response(
            status_code=status.HTTP_304_NOT_MODIFIED,
            headers={"ETag": etag, "Cache-Control": CACHE_CONTROL},
        )
    return None


@router.get("/status", response_class=HTMLResponse, summary="The public status page")
async def status_html(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    page = await build_page(runtime, config)
    etag = etag_of(page.summary(), "html")
    if (cached := not_modified(request, etag)) is not None:
        return cached
    names = {c.id: c.name for c in page.components}
    return templates.TemplateResponse(
        request,
        "status.html",
        {
            "page_name": config.status_page_name,
            "page": page,
            "when": _when,
            "uptime": status_page.uptime,
            "percent": status_page.percent,
            "stage_label": STAGE_LABEL,
            "component_label": COMPONENT_LABEL,
            "impact_label": IMPACT_LABEL,
            "maintenance_label": MAINTENANCE_LABEL,
            "component_name": lambda key: names.get(key, key),
        },
        headers={"Cache-Control": CACHE_CONTROL, "ETag": etag},
    )


@router.get("/status.json", summary="The status page as the common status-page summary")
async def status_json(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    summary = (await build_page(runtime, config)).summary()
    etag = etag_of(summary, "json")
    if (cached := not_modified(request, etag)) is not None:
        return cached
    return Response(
        json.dumps(summary),
        media_type="application/json",
        headers={
            "Cache-Control": CACHE_CONTROL,
            "ETag": etag,
            # Widgets on customers' own pages read it from the browser.
            "Access-Control-Allow-Origin": "*",
        },
    )


@router.get(
    "/status/feed.atom",
    summary="Published updates as an Atom feed",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
)
async def status_feed(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    page = await build_page(runtime, config)
    etag = etag_of(page.summary(), "atom")
    if (cached := not_modified(request, etag)) is not None:
        return cached
    url = page.url
    feed = FeedGenerator()
    feed.id(url)
    feed.title(f"{page.name}: incident updates")
    feed.subtitle("Published statements about incidents, newest first.")
    feed.link(href=url, rel="alternate")
    feed.link(href=f"{url}/feed.atom", rel="self")
    feed.language("en")
    updates = [(item, u) for item in (*page.active, *page.recent) for u in item.updates]
    updates.sort(key=lambda pair: pair[1].published_at or pair[1].drafted_at, reverse=True)
    feed.updated(
        max((u.published_at for _, u in updates if u.published_at), default=page.updated_at)
    )
    # feedgen puts entries added later first; add the oldest first so the newest leads.
    for item, update in reversed(updates[:FEED_ENTRIES]):
        entry = feed.add_entry()
        entry.id(f"{url}#{update.id}")
        entry.title(_xml_safe(f"{STAGE_LABEL[update.stage.value]}: {item.incident.title}"))
        entry.link(href=f"{url}#{item.incident.id}")
        entry.content(_xml_safe(update.body), type="text")
        published = update.published_at or update.drafted_at
        entry.published(published)
        entry.updated(published)
    return Response(
        feed.atom_str(pretty=True),
        media_type="application/atom+xml",
        headers={"Cache-Control": CACHE_CONTROL, "ETag": etag},
    )


# What XML 1.0 cannot carry at all (most control characters); a title someone pasted with
# one in it must not take the feed down.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


# ------------------------------------------------------------------------------- sign-up


def _notice(
    request: Request,
    config: ConfigDep,
    heading: str,
    *lines: str,
    code: int = status.HTTP_200_OK,
    tone: str = "good",
    form: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        "notice.html",
        {
            "page_name": config.status_page_name,
            "heading": heading,
            "lines": lines,
            "tone": tone,
            "form": form,
        },
        status_code=code,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


@router.post(
    "/status/subscribe",
    response_class=HTMLResponse,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sign up for e-mail updates (double opt-in)",
    responses={
        422: {"description": "not an e-mail address"},
        429: {"description": "too many sign-ups from this client or for this address"},
    },
)
async def subscribe(
    request: Request,
    runtime: RuntimeDep,
    config: ConfigDep,
    form: Annotated[SignUp, Form()],
) -> Response:
    """A confirmation link is mailed; nothing else is sent until it is followed. The answer
    is the same whether or not the address was known, so it tells nobody who subscribed."""
    address = form.email.lower()
    client = request.client.host if request.client else "unknown"
    wait = await limits_of(request).allow(address, client)
    if wait is not None:
        return _notice(
            request,
            config,
            "Too many sign-ups",
            f"Please try again in {max(1, wait // 60)} minutes.",
            code=status.HTTP_429_TOO_MANY_REQUESTS,
            tone="bad",
            headers={"Retry-After": str(wait)},
        )
    records = runtime.store.statements
    known = await records.subscriber_by_email(address)
    if known is None or known.status == "pending":
        token = secrets.token_urlsafe(32)
        if known is None:
            known = Subscriber(
                id=f"sub_{secrets.token_hex(8)}",
                kind="email",
                email=address,
                status="pending",
                source="public",
                created_at=utcnow(),
            )
            await records.add_subscriber(
                known,
                secret=None,
                unsubscribe_token=secrets.token_urlsafe(32),
                confirm_token=token,
            )
        else:
            await records.renew_confirmation(known.id, token)
        await runtime.announcements.confirm_subscription(known.id, token)
    return _notice(
        request,
        config,
        "Check your inbox",
        f"If {address} can receive mail, a confirmation link is on its way.",
        "Follow it to start receiving updates; until then nothing else is sent.",
        code=status.HTTP_202_ACCEPTED,
    )


LINK_KEY_SHAPE = r"^[A-Za-z0-9_-]{16,128}$"
Token = Annotated[str, Query(pattern=LINK_KEY_SHAPE)]


@router.get("/status/confirm", response_class=HTMLResponse, summary="Confirm a sign-up")
async def confirm(
    request: Request, runtime: RuntimeDep, config: ConfigDep, token: Token
) -> Response:
    subscriber = await runtime.store.statements.confirm(token)
    if subscriber is None:
        return _notice(
            request,
            config,
            "This link is not valid",
            "It was used already, or the subscription was removed. You can sign up again "
            "on the status page.",
            code=status.HTTP_404_NOT_FOUND,
            tone="bad",
        )
    return _notice(
        request,
        config,
        "You are subscribed",
        f"Updates about incidents and maintenance will go to {subscriber.email}.",
        "Every e-mail has a link to unsubscribe.",
    )


@router.get(
    "/status/unsubscribe", response_class=HTMLResponse, summary="Ask to confirm unsubscribing"
)
async def unsubscribe_page(
    request: Request, runtime: RuntimeDep, config: ConfigDep, token: Token
) -> Response:
    """A button rather than an immediate removal: mail scanners follow links."""
    subscriber = await runtime.store.statements.by_unsubscribe_token(token)
    if subscriber is None:
        return _not_subscribed(request, config)
    return _notice(
        request,
        config,
        "Unsubscribe?",
        f"{subscriber.email or subscriber.webhook_url} will receive no more updates.",
        form={
            "action": "/status/unsubscribe",
            "hidden": {"token": token},
            "button": "Unsubscribe",
        },
    )


class UnsubscribeForm(BaseModel):
    token: str | None = Field(default=None, pattern=LINK_KEY_SHAPE)


@router.post("/status/unsubscribe", response_class=HTMLResponse, summary="Unsubscribe")
async def unsubscribe(
    request: Request,
    runtime: RuntimeDep,
    config: ConfigDep,
    form: Annotated[UnsubscribeForm, Form()],
    token: Annotated[str | None, Query(pattern=LINK_KEY_SHAPE)] = None,
) -> Response:
    """From the page's button, or a mail client's one-click unsubscribe (RFC 8058), which
    posts to the link in ``List-Unsubscribe`` with the token in the query."""
    given = form.token or token
    subscriber = await runtime.store.statements.unsubscribe(given) if given else None
    if subscriber is None:
        return _not_subscribed(request, config)
    return _notice(
        request,
        config,
        "You are unsubscribed",
        f"{subscriber.email or subscriber.webhook_url} will receive no more updates.",
    )


def _not_subscribed(request: Request, config: ConfigDep) -> Response:
    return _notice(
        request,
        config,
        "Not subscribed",
        "This link belongs to no subscription: it was removed already.",
        code=status.HTTP_404_NOT_FOUND,
        tone="bad",
    )
