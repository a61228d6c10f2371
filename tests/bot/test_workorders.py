"""Work orders from the Telegram side, end to end: buttons → outbox → CMMS fake → status message edits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.bot.conftest import ADMIN, ANN, BOB
from tests.conftest import make_photo
from tests.fakes.cmms import FakeWebhookReceiver
from tests.fakes.http import Reply


def finished(text: str) -> bool:
    return "Analyzing" not in text


async def analysed_card(bot: Any, user_id: int = ANN, seed: int = 1) -> Any:
    bot.telegram.send_photo(user_id, make_photo(seed))
    await bot.last_text(user_id, finished)
    card = bot.telegram.last_message(user_id)
    assert card is not None
    return card


def button(card: Any, prefix: str) -> str:
    return str(next(b for b in card.buttons if b.startswith(prefix)))


async def test_create_files_once_in_the_built_in_store_and_lists_it(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    card = await analysed_card(bot)
    create = button(card, "wo:c:")
    bot.telegram.press_button(ANN, card.message_id, create)
    text = await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))
    assert "created in the built-in work-order list" in text and "Allen-Bradley PowerFlex 525" in text
    status = bot.telegram.last_message(ANN)
    assert status is not None and status.history[0].startswith("📝 Filing work order")
    assert [b[:3] for b in bot.telegram.bot_messages(ANN)[0].buttons] == ["fb:", "fb:", "re:"], "Create/Dismiss removed"
    # a second press (or a redelivered update) must not file twice
    bot.telegram.press_button(ANN, card.message_id, create, strict=False)
    await bot.last_text(ANN, lambda t: "already filed" in t)
    bot.telegram.send_command(ANN, "/workorders")
    listing = await bot.last_text(ANN, lambda t: "Your recent work orders" in t)
    assert listing.count("PowerFlex 525") == 1


async def test_dismiss_files_nothing(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    card = await analysed_card(bot)
    bot.telegram.press_button(ANN, card.message_id, button(card, "wo:d:"))
    await bot.telegram.wait_for(
        lambda: [b[:3] for b in bot.telegram.bot_messages(ANN)[0].buttons] == ["fb:", "fb:", "re:"]
    )
    bot.telegram.send_command(ANN, "/workorders")
    await bot.last_text(ANN, lambda t: "no work orders yet" in t)


@pytest.fixture
def webhook() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(secret="hook-secret") as receiver:
        yield receiver


async def test_cmms_down_queues_then_files_exactly_once_when_it_is_back(
    start_bot: Any, webhook: FakeWebhookReceiver
) -> None:
    down = Reply(503, json={"error": "maintenance"})
    webhook.fail_next("receive", down, down)
    bot = await start_bot(
        cascade="gemini",
        outbox_poll_s=0.5,
        cmms_backend="webhook",
        cmms_webhook_url=f"{webhook.base_url}/hook",
        cmms_webhook_secret="hook-secret",
        cmms_backoff_base_s=0.2,
        cmms_backoff_cap_s=0.5,
    )
    card = await analysed_card(bot)
    bot.telegram.press_button(ANN, card.message_id, button(card, "wo:c:"))
    await bot.last_text(ANN, lambda t: t.startswith("⏳ Queued"))
    text = await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"), timeout=15)
    assert "the plant's webhook" in text
    assert len(webhook.events) == 1
    status = bot.telegram.last_message(ANN)
    assert status is not None and any(h and h.startswith("⏳ Queued") for h in status.history), "edited in place"


async def test_auto_work_order_files_without_asking(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", auto_work_order=True)
    bot.telegram.send_photo(ANN, make_photo(2))
    await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))
    card = bot.telegram.bot_messages(ANN)[0]
    assert [b[:3] for b in card.buttons] == ["fb:", "fb:", "re:"], "no Create button when filing is automatic"


async def test_outbox_is_for_admins_only_and_retries(start_bot: Any, webhook: FakeWebhookReceiver) -> None:
    webhook.fail_next("receive", Reply(500, json={}))
    bot = await start_bot(
        cascade="gemini",
        outbox_poll_s=3600,
        cmms_backend="webhook",
        cmms_webhook_url=f"{webhook.base_url}/hook",
        cmms_webhook_secret="hook-secret",
    )
    card = await analysed_card(bot)
    bot.telegram.press_button(ANN, card.message_id, button(card, "wo:c:"))
    await bot.last_text(ANN, lambda t: t.startswith("⏳ Queued"))
    bot.telegram.send_command(BOB, "/outbox")
    await bot.last_text(BOB, lambda t: "I work with photos" in t)
    bot.telegram.send_command(ADMIN, "/outbox")
    listing = await bot.last_text(ADMIN, lambda t: "Outbox" in t)
    row = listing.split("#", 1)[1].split(" ", 1)[0]
    bot.telegram.send_command(ADMIN, f"/outbox retry {row}")
    await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))
    assert len(webhook.events) == 1


async def test_card_buttons_still_work_after_a_restart(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    card = await analysed_card(bot)
    await bot.restart()
    restarted = await start_bot(cascade="gemini")
    restarted.telegram.press_button(ANN, card.message_id, button(card, "wo:c:"))
    text = await restarted.last_text(ANN, lambda t: t.startswith("✅ Work order"))
    assert "Allen-Bradley PowerFlex 525" in text
    restarted.telegram.press_button(ANN, card.message_id, button(card, "re:"))
    await restarted.last_text(ANN, lambda t: "Re-checking" in t or "Allen-Bradley" in t)
    assert len(restarted.providers.calls("gemini")) >= 1


async def test_a_double_tap_on_recheck_re_checks_once(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    card = await analysed_card(bot)
    bot.telegram.press_button(ANN, card.message_id, button(card, "re:"))
    await bot.last_text(ANN, lambda t: "A re-check is a fresh analysis" in t)
    question = bot.telegram.last_message(ANN)  # free plan: asked first, and the double tap is on "yes"
    yes = button(question, "rc:")
    bot.telegram.press_button(ANN, question.message_id, yes)
    bot.telegram.press_button(ANN, question.message_id, yes, strict=False)
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent("answerCallbackQuery")) == 3)
    await bot.last_text(ANN, lambda t: "Allen-Bradley" in t and "Re-checking" not in t)
    answers = [c.get("text") for c in bot.telegram.sent("answerCallbackQuery")]
    assert "I no longer have that photo. Please send it again." in answers
    assert len(bot.providers.calls("gemini")) == 2, "the first analysis and exactly one re-check"
