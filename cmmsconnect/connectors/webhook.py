"""Generic signed webhook: POST the work order as JSON to a URL (Zapier, Make, n8n, in-house systems).

Signing follows Standard Webhooks (standardwebhooks.com), the scheme receivers' libraries already verify, with
its reference library (``standardwebhooks``, no dependencies): headers ``webhook-id`` (the work order key,
the same on every retry), ``webhook-timestamp`` (unix seconds at this attempt) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``). The delivery id is signed together with the
timestamp and body, so a captured request cannot be replayed under a new id; a receiver

1. verifies the signature and rejects timestamps outside its tolerance (``verify``: 5 minutes, either way);
2. de-duplicates on ``webhook-id``: a replay inside the tolerance, or our own resend after a timeout, carries
   the same id and must not create a second work order (keep ids for longer than the tolerance).

``Idempotency-Key`` repeats the id for receivers that de-duplicate on that header; it is covered by the
signature only through ``webhook-id``, so receivers should key on ``webhook-id``. ``CMMS_WEBHOOK_SECRET`` is a
Standard Webhooks secret (``whsec_<base64>``) or any other string, then used as raw UTF-8 bytes. Because the
receiver de-duplicates, ``find_by_ref`` does not need to search anything here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from cmmsconnect._http import make_client, send
from cmmsconnect.connector import CreateResult, Progress
from cmmsconnect.photo import photo_filename, photo_mime
from cmmsconnect.workorder import WorkOrder

ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"
EVENT = "work_order.created"
TOLERANCE_S = 300


def _webhook(secret: str) -> Webhook:
    return Webhook(secret if secret.startswith("whsec_") else secret.encode())


def signed_headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for this delivery."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    signature = _webhook(secret).sign(delivery_id, moment, body.decode())
    return {ID_HEADER: delivery_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature}


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float, tolerance_s: float = TOLERANCE_S
) -> bool:
    """What a receiver does (and what our tests do): the signature over id, timestamp and body, and freshness."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered.get(TIMESTAMP_HEADER, ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signed_headers(secret, lowered.get(ID_HEADER, ""), timestamp, body)[SIGNATURE_HEADER]
    offered = lowered.get(SIGNATURE_HEADER, "").split(" ")
    return bool(lowered.get(ID_HEADER)) and any(hmac.compare_digest(expected.encode(), s.encode()) for s in offered)


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
                **signed_headers(self._secret, wo.key, int(self._clock()), body),  # signed anew per attempt
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
