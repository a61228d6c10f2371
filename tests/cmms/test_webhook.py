"""Webhook connector: signed JSON POST with an Idempotency-Key; the receiver de-duplicates."""

from __future__ import annotations

import base64
import json

import pytest

from cmmsconnect import CmmsRejected, CmmsUnavailable, Progress
from cmmsconnect.connectors.webhook import SIGNATURE_HEADER, WebhookConnector, sign, verify
from tests.cmms.conftest import jpeg, make_wo
from tests.fakes.cmms import FakeWebhookReceiver
from tests.fakes.http import Reply, free_port


def connector(url: str, secret: str = "hook-secret") -> WebhookConnector:
    return WebhookConnector(url, secret, timeout_s=5, clock=lambda: 1_770_000_000)


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    header = sign("k", 1_700_000_000, b'{"a":1}')
    assert header == "t=1700000000,v1=" + __import__("hmac").new(b"k", b'1700000000.{"a":1}', "sha256").hexdigest()
    assert verify("k", header, b'{"a":1}', now=1_700_000_100)
    assert not verify("k", header, b'{"a":2}', now=1_700_000_100)
    assert not verify("k", header, b'{"a":1}', now=1_700_001_000)  # stale
    assert not verify("k", "garbage", b"", now=0)


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
    assert verify("hook-secret", call.headers[SIGNATURE_HEADER.lower()], call.body, now=__import__("time").time())
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
