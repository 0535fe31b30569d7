from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class AccessLogItem(BaseModel):
    at: dt.datetime
    actor_id: uuid.UUID
    actor_role: str
    via: str
    action: str
    resource: str
    outcome: str


class AccessLog(BaseModel):
    items: list[AccessLogItem]
    next_cursor: str | None


class AuditEventOut(AccessLogItem):
    id: int
    api_key_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    status: int
    client_ip: str | None = Field(description="The peer address of the connection")
    forwarded_ip: str | None = Field(
        description="The client address a trusted proxy forwarded (KNEETRACK_TRUSTED_PROXIES)"
    )
    user_agent: str | None
    request_id: str | None


class AuditEventPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None
