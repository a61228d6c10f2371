"""Generic signed webhook: POST the work order as JSON to a URL (Zapier, Make, n8n, in-house systems).

Signature: header ``X-Cmmsconnect-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``, the
scheme MaintainX uses for its own webhooks. ``Idempotency-Key`` carries the work order key, so a receiver
de-duplicates a resend; that is why ``find_by_ref`` does not need to search anything here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from cmmsconnect._http import make_client, send
from cmmsconnect.connector import CreateResult, Progress
from cmmsconnect.photo import photo_filename, photo_mime
from cmmsconnect.workorder import WorkOrder

SIGNATURE_HEADER = "X-Cmmsconnect-Signature"
EVENT = "work_order.created"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does (and what our tests do): check the signature and the timestamp's freshness."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected, header) and abs(now - timestamp) <= tolerance_s


def build_payload(wo: WorkOrder) -> dict[str, Any]:
    photo: dict[str, Any] | None = None
    if wo.photo is not None:
        photo = {
            "filename": photo_filename(wo.key, wo.photo),
            "content_type": photo_mime(wo.photo),
            "size": len(wo.photo),
            "sha256": hashlib.sha256(wo.photo).hexdigest(),
            "base64": base64.b64encode(wo.photo).decode(),
        }
    return {
        "event": EVENT,
        "event_id": wo.key,
        "idempotency_key": wo.key,
        "occurred_at": wo.created_at.isoformat(),
        "work_order": {
            "key": wo.key,
            "ref": wo.ref,
            "title": wo.title,
            "description": wo.description,
            "priority": wo.priority,
            "equipment": {
                "type": wo.equipment_type,
                "manufacturer": wo.manufacturer,
                "model": wo.model,
                "serial_number": wo.serial_number,
            },
            "fault_codes": list(wo.fault_codes),
            "reporter": {"id": wo.reporter.id, "name": wo.reporter.name},
            "source": {"kind": "telegram", "chat_id": wo.chat_id, "message_id": wo.message_id},
            "created_at": wo.created_at.isoformat(),
            "photo": photo,
        },
    }


class WebhookConnector:
    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        max_photo_bytes: int = 1_000_000,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._secret = secret
        self._clock = clock
        self.max_photo_bytes = max_photo_bytes
        self._client = make_client("", timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)

    async def create(self, wo: WorkOrder, progress: Progress) -> CreateResult:
        body = json.dumps(build_payload(wo), separators=(",", ":")).encode()

        async def build() -> httpx.Request:
            headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": wo.key,
                "X-Cmmsconnect-Event-Id": wo.key,
                SIGNATURE_HEADER: sign(self._secret, int(self._clock()), body),
            }
            return self._client.build_request("POST", self._url, content=body, headers=headers)

        response = await send(self._client, build)
        remote_id, url = wo.key, None
        try:
            reply = response.json()
        except ValueError:
            reply = None
        if isinstance(reply, dict):
            remote_id = str(reply.get("id") or remote_id)
            url = reply.get("url") if isinstance(reply.get("url"), str) else None
        return CreateResult(remote_id=remote_id[:64], url=url, photo_attached=True)

    async def find_by_ref(self, ref: str) -> str | None:
        return None  # resending is safe: the receiver de-duplicates on Idempotency-Key

    async def attach_photo(self, remote_id: str, photo: bytes) -> None:
        return None  # the photo travels inline with the create

    def url_for(self, remote_id: str) -> str | None:
        return None

    async def aclose(self) -> None:
        await self._client.aclose()
