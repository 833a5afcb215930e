"""Subscribers to published statements: by e-mail or by signed webhook."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, EmailStr, Field, model_validator

from api.schemas.common import By, RequestBody


class SubscribeRequest(RequestBody):
    email: EmailStr | None = Field(default=None, max_length=254)
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="called with each published statement, signed"
    )
    by: By = None

    @model_validator(mode="after")
    def _one_of(self) -> SubscribeRequest:
        if (self.email is None) == (self.webhook_url is None):
            raise ValueError("give exactly one of email or webhook_url")
        return self


class SubscriberOut(BaseModel):
    id: str
    kind: str = Field(description="email | webhook")
    email: str | None
    webhook_url: str | None
    status: str = Field(description="pending | active | disabled")
    source: str = Field(description="api | public")
    created_at: datetime
    confirmed_at: datetime | None
    disabled_reason: str | None


class SubscriberCreated(SubscriberOut):
    secret: str | None = Field(
        description="a webhook's signing secret (whsec_…), shown this once and never again"
    )


class SubscriberList(BaseModel):
    items: list[SubscriberOut]
