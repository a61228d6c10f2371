"""Webhook connector: JSON POST signed per Standard Webhooks; the receiver de-duplicates on the signed id."""

from __future__ import annotations

import base64
import hmac
import json
import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from cmmsconnect import CmmsRejected, CmmsUnavailable, Progress
from cmmsconnect.connectors.webhook import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConnector,
    signed_headers,
    verify,
)
from tests.cmms.conftest import jpeg, make_wo
from tests.fakes.cmms import FakeWebhookReceiver
from tests.fakes.http import Reply, free_port

SIGNED = {ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER}


def connector(url: str, secret: str = "hook-secret") -> WebhookConnector:
    return WebhookConnector(url, secret, timeout_s=5, clock=lambda: 1_770_000_000)


def test_signature_is_standard_webhooks_over_id_timestamp_and_body() -> None:
    body = b'{"a":1}'
    headers = signed_headers("k", "tg-1-2", 1_700_000_000, body)
    digest = hmac.new(b"k", b'tg-1-2.1700000000.{"a":1}', "sha256").digest()
    assert headers == {
        "webhook-id": "tg-1-2",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
    assert verify("k", headers, body, now=1_700_000_100)
    assert not verify("k", headers, b'{"a":2}', now=1_700_000_100)
    assert not verify("k", {**headers, "webhook-id": "tg-9-9"}, body, now=1_700_000_100), "the id is signed"
    assert not verify("k", headers, body, now=1_700_000_301), "too old"
    assert not verify("k", headers, body, now=1_699_999_699), "from the future"
    assert not verify("k", {"webhook-signature": "garbage"}, b"", now=0)


def test_a_standard_secret_verifies_with_the_reference_library() -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    body, now = b'{"event":"work_order.created"}', int(time.time())
    headers = signed_headers(secret, "tg-1-2", now, body)
    assert Webhook(secret).verify(body, headers) == {"event": "work_order.created"}


async def test_a_replay_with_a_new_idempotency_key_is_refused(receiver: FakeWebhookReceiver) -> None:
    client = WebhookConnector(f"{receiver.base_url}/hook", "hook-secret", timeout_s=5)
    await client.create(make_wo(), Progress())
    await client.aclose()
    captured = receiver.calls[0]
    replay = {k: v for k, v in captured.headers.items() if k in {"content-type", *SIGNED}}
    async with httpx.AsyncClient() as http:
        same = await http.post(f"{receiver.base_url}/hook", content=captured.body, headers=replay)
        renamed = {**replay, "webhook-id": "tg-1-3", "idempotency-key": "tg-1-3"}
        forged = await http.post(f"{receiver.base_url}/hook", content=captured.body, headers=renamed)
    assert same.status_code == 200 and forged.status_code == 401
    assert list(receiver.events) == ["tg-1-2"], "one work order, however often it is replayed"


async def test_post_is_signed_idempotent_and_carries_the_photo(receiver: FakeWebhookReceiver) -> None:
    photo = jpeg()
    client = WebhookConnector(f"{receiver.base_url}/hook", "hook-secret", timeout_s=5)
    result = await client.create(make_wo(photo=photo), Progress())
    await client.create(make_wo(photo=photo), Progress())  # a resend
    await client.aclose()

    assert result.remote_id == "evt-tg-1-2" and result.photo_attached
    assert list(receiver.events) == ["tg-1-2"]
    event = receiver.events["tg-1-2"]
    assert event["event"] == "work_order.created" and event["idempotency_key"] == "tg-1-2"
    wo = event["work_order"]
    assert wo["priority"] == "high" and wo["equipment"]["serial_number"] == "SN-1234"
    assert wo["source"] == {"kind": "telegram", "chat_id": 1, "message_id": 2}
    assert base64.b64decode(wo["photo"]["base64"]) == photo
    call = receiver.calls[0]
    assert call.headers["idempotency-key"] == "tg-1-2"
    assert verify("hook-secret", call.headers, call.body, now=time.time())
    assert json.loads(call.body)["work_order"]["description"].endswith("[ref:tg-1-2]")


async def test_wrong_secret_is_rejected(receiver: FakeWebhookReceiver) -> None:
    client = connector(f"{receiver.base_url}/hook", secret="other")
    with pytest.raises(Exception) as caught:
        await client.create(make_wo(), Progress())
    await client.aclose()
    assert type(caught.value).__name__ == "CmmsAuthExpired"


@pytest.mark.parametrize(("reply", "error"), [(Reply(500), CmmsUnavailable), (Reply(404), CmmsRejected)])
async def test_non_2xx(receiver: FakeWebhookReceiver, reply: Reply, error: type[Exception]) -> None:
    receiver.fail_next("receive", reply)
    client = WebhookConnector(f"{receiver.base_url}/hook", "hook-secret", timeout_s=5)
    with pytest.raises(error):
        await client.create(make_wo(), Progress())
    await client.aclose()


async def test_refused_connection_is_not_sent() -> None:
    client = connector(f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(CmmsUnavailable) as caught:
        await client.create(make_wo(), Progress())
    await client.aclose()
    assert not caught.value.maybe_sent
