"""The plate's evidence through the real wire: fake Telegram, real SDKs against fake providers, the real OCR.

The card marks what the plate confirmed and shows both readings when it disagrees; the work order carries only
confirmed identifiers; a plate answers when no model can; a known unit is recognised from another photo.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import pipeline.service
from tests.bot.conftest import ANN
from tests.fakes.cmms import FakeWebhookReceiver
from tests.fakes.providers import good, server_error
from tests.plate import MemoReader, Plate, render

SIEMENS = Plate(("SIEMENS", "TYPE 1LE1001-1DB23-4AA4", "S/N UD 1402/1234567-001", "7.5 kW 400 V 50 Hz"))
SIEMENS_AGAIN = Plate(SIEMENS.lines, background="defective_a_f_1.jpg", angle=3)
TRUE = {"manufacturer": "Siemens", "model": "1LE1001-1DB23-4AA4", "serial_number": "UD 1402/1234567-001"}


@pytest.fixture
def webhook() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(secret="hook-secret") as receiver:
        yield receiver


@pytest.fixture
def reader(plate_reader: MemoReader, monkeypatch: pytest.MonkeyPatch) -> MemoReader:
    """The bot's pipeline gets the session's engine instead of loading a second one."""
    monkeypatch.setattr(pipeline.service, "shared_reader", lambda **_: plate_reader)
    return plate_reader


async def start(start_bot: Any, webhook: FakeWebhookReceiver, **overrides: Any) -> Any:
    return await start_bot(
        plate_reader=True,
        cmms_backend="webhook",
        cmms_webhook_url=f"{webhook.base_url}/hook",
        cmms_webhook_secret="hook-secret",
        **overrides,
    )


# OCR takes ~1 s per photo on an idle core, many times that on a loaded shared machine: waits are generous.
WAIT = 90.0


async def card_for(bot: Any, photo: bytes) -> Any:
    before = len(bot.telegram.bot_messages(ANN))
    bot.telegram.send_photo(ANN, photo)

    def answered() -> bool:
        last = bot.telegram.last_message(ANN)
        return len(bot.telegram.bot_messages(ANN)) > before and last is not None and "Analyzing" not in last.text

    await bot.telegram.wait_for(answered, timeout=WAIT)
    card = bot.telegram.last_message(ANN)
    assert card is not None
    return card


async def file_work_order(bot: Any, card: Any, webhook: FakeWebhookReceiver) -> dict[str, Any]:
    bot.telegram.press_button(ANN, card.message_id, next(b for b in card.buttons if b.startswith("wo:c:")))
    await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"), timeout=WAIT)
    assert len(webhook.events) == 1
    event = next(iter(webhook.events.values()))
    return dict(event["work_order"])


async def test_confirmed_identifiers_are_marked_and_filed(
    start_bot: Any, webhook: FakeWebhookReceiver, reader: MemoReader
) -> None:
    bot = await start(start_bot, webhook, cascade="gemini")
    bot.providers.script("gemini", good(**TRUE, confidence=0.9))
    card = await card_for(bot, render(SIEMENS))
    assert "✅ Read on the plate: maker, model, serial" in card.text
    order = await file_work_order(bot, card, webhook)
    assert order["equipment"]["serial_number"] == "UD 1402/1234567-001"
    assert order["equipment"]["model"] == "1LE1001-1DB23-4AA4"
    assert "unverified" not in order["description"]


async def test_a_near_serial_shows_both_readings_and_is_filed_unverified(
    start_bot: Any, webhook: FakeWebhookReceiver, reader: MemoReader
) -> None:
    bot = await start(start_bot, webhook, cascade="gemini")
    bot.providers.script("gemini", good(**{**TRUE, "serial_number": "UD 1402/1234567-007"}, confidence=0.9))
    card = await card_for(bot, render(SIEMENS))
    assert "I read <code>UD 1402/1234567-007</code>, the plate reads <code>UD 1402/1234567-001</code>" in card.text
    assert "check character 19 (<code>7</code> or <code>1</code>?)" in card.text
    order = await file_work_order(bot, card, webhook)
    assert order["equipment"]["serial_number"] is None, "a disputed serial must not match a CMMS asset"
    assert "Serial number: UD 1402/1234567-007 (unverified" in order["description"]
    assert order["equipment"]["model"] == "1LE1001-1DB23-4AA4"  # the model was confirmed


async def test_when_every_tier_fails_the_card_shows_the_plate_for_free(
    start_bot: Any, webhook: FakeWebhookReceiver, reader: MemoReader
) -> None:
    bot = await start(start_bot, webhook, cascade="gemini", cooldown_s=0.0)
    bot.providers.set_default("gemini", server_error(503))
    card = await card_for(bot, render(SIEMENS))
    assert "Read from the plate only" in card.text
    assert "Siemens" in card.text and "1402/1234567-001" in card.text and "7.5 kW" in card.text
    assert "no model · $0" in card.text
    bot.telegram.send_command(ANN, "/usage")
    usage = await bot.last_text(ANN, lambda t: "Your usage" in t)
    assert "Free analyses: 0 of 3 used" in usage, "a plate-only answer does not use a free photo"


async def test_a_known_unit_is_recognised_and_its_asset_filed(
    start_bot: Any, webhook: FakeWebhookReceiver, reader: MemoReader
) -> None:
    bot = await start(start_bot, webhook, cascade="gemini")
    bot.providers.script("gemini", good(**TRUE, fault_codes=[], condition="normal", confidence=0.9))
    await card_for(bot, render(SIEMENS))
    again = await card_for(bot, render(SIEMENS_AGAIN))
    assert "I know this unit: Siemens 1LE1001-1DB23-4AA4, S/N UD 1402/1234567-001 (register EQ-1)" in again.text
    assert "Read on the plate: maker, model, serial" in again.text
    assert "from the equipment register · $0" in again.text
    assert len(bot.providers.calls("gemini")) == 1
    order = await file_work_order(bot, again, webhook)
    assert "Asset: EQ-1" in order["description"]
    assert order["equipment"]["serial_number"] == "UD 1402/1234567-001"


async def test_the_technician_settles_a_disputed_serial_with_one_tap(
    start_bot: Any, webhook: FakeWebhookReceiver, reader: MemoReader
) -> None:
    bot = await start(start_bot, webhook, cascade="gemini")
    bot.providers.script("gemini", good(**{**TRUE, "serial_number": "UD 1402/1234567-007"}, confidence=0.9))
    card = await card_for(bot, render(SIEMENS))
    plate_button = next(b for b in card.buttons if b.startswith("cf:") and b.endswith(":s:p"))
    assert any(b.startswith("cf:") and b.endswith(":s:a") for b in card.buttons), "both readings are offered"
    bot.telegram.press_button(ANN, card.message_id, plate_button)
    text = await bot.last_text(ANN, lambda t: "checked on the plate by" in t, timeout=WAIT)
    assert "✅ S/N checked on the plate by User42: UD 1402/1234567-001" in text
    card = bot.telegram.last_message(ANN)
    assert card is not None and not any(b.startswith("cf:") for b in card.buttons), "the answered row is gone"
    assert any(b.startswith("wo:c:") for b in card.buttons), "the card's own buttons stay"
    order = await file_work_order(bot, card, webhook)
    assert order["equipment"]["serial_number"] == "UD 1402/1234567-001", "filed as the technician read it"
    assert "Serial number: UD 1402/1234567-001" in order["description"]
    assert "unverified" not in order["description"].split("Serial number")[1].split("\n")[0]


async def test_a_known_unit_lists_its_work_orders(
    start_bot: Any, webhook: FakeWebhookReceiver, reader: MemoReader
) -> None:
    bot = await start(start_bot, webhook, cascade="gemini")
    bot.providers.script("gemini", good(**TRUE, fault_codes=[], condition="warning", priority="medium", confidence=0.9))
    first = await card_for(bot, render(SIEMENS))
    assert "Work orders for this unit" not in first.text
    await file_work_order(bot, first, webhook)
    again = await card_for(bot, render(SIEMENS_AGAIN))  # last seen with a warning: the models look again
    assert "🔁 Same unit as on 20" in again.text
    assert "📋 Work orders for this unit: " in again.text and "(filed 20" in again.text
