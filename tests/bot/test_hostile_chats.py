"""Hostile chats (issue 11, items 2, 6, 7, 8, 9 and 12) over the real wire: what other people, edits, odd
arguments, scripts and a leaky CMMS can and cannot make the bot do."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.chat import render
from bot.chat.render import NOT_YOUR_CARD, UNKNOWN_BUTTON
from bot.quality.models import Feedback
from bot.runtime.models import Payment
from tests.bot.conftest import ADMIN, ANN, BOB
from tests.bot.test_e2e import finished, free_used
from tests.conftest import make_photo
from tests.fakes.cmms import FakeWebhookReceiver
from tests.fakes.http import Reply

GROUP = {"id": -100777, "type": "supergroup", "title": "Plant floor"}


def _answers(bot: Any) -> list[str]:
    return [str(c.get("text")) for c in bot.telegram.sent("answerCallbackQuery")]


async def test_a_cmms_refusal_reaches_the_technician_as_a_sentence_and_admins_in_full(start_bot: Any) -> None:
    with FakeWebhookReceiver(secret="hook-secret") as hook:
        leak = {"error": "invalid", "debug": {"db": "postgres://cmms:hunter2@db/prod", "user": "svc_cmms"}}
        hook.fail_next("receive", Reply(422, json=leak))
        bot = await start_bot(
            cascade="gemini",
            outbox_poll_s=3600,
            cmms_backend="webhook",
            cmms_webhook_url=f"{hook.base_url}/catch/8812345/SECRETPATH123/",
            cmms_webhook_secret="hook-secret",
        )
        bot.telegram.send_photo(ANN, make_photo(201))
        await bot.last_text(ANN, finished)
        card = bot.telegram.last_message(ANN)
        assert card is not None
        bot.telegram.press_button(ANN, card.message_id, next(b for b in card.buttons if b.startswith("wo:c:")))
        text = await bot.last_text(ANN, lambda t: t.startswith("❌"))
        assert "did not accept the work order" in text and "/outbox" in text
        everything = " ".join(m.plain or "" for m in bot.telegram.bot_messages(ANN))
        for secret in ("SECRETPATH123", "hunter2", "debug", "422", "/catch/"):
            assert secret not in everything, secret
        bot.telegram.send_command(ADMIN, "/outbox")
        listing = await bot.last_text(ADMIN, lambda t: "Outbox" in t)
        assert "422" in listing and "CmmsRejected" in listing


async def test_in_a_group_only_the_owner_or_an_admin_may_press_a_cards_buttons(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ANN, make_photo(202), group=GROUP)
    await bot.last_text(GROUP["id"], finished)
    card = bot.telegram.last_message(GROUP["id"])
    assert card is not None
    for data in card.buttons:  # work order, dismiss, right, wrong, re-check
        bot.telegram.press_button(BOB, card.message_id, data, chat_id=GROUP["id"])
    await bot.telegram.wait_for(lambda: len(_answers(bot)) == len(card.buttons) == 5)
    assert _answers(bot) == [NOT_YOUR_CARD] * 5
    assert len(bot.providers.calls("gemini")) == 1 and await free_used(bot, BOB) <= 0, "Bob spent nothing"
    assert bot.telegram.last_message(GROUP["id"]).buttons == card.buttons  # type: ignore[union-attr]
    bot.telegram.send_text(BOB, "it is a pump", reply_to_message_id=card.message_id, group=GROUP)
    await bot.last_text(GROUP["id"], lambda t: "can correct its answer" in t)
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Feedback)) == 0, "Bob labelled nothing"
    dismiss = next(b for b in card.buttons if b.startswith("wo:d:"))
    bot.telegram.press_button(ANN, card.message_id, dismiss, chat_id=GROUP["id"])
    await bot.telegram.wait_for(lambda: "Dismissed: no work order." in _answers(bot))


async def test_admin_commands_in_a_group_are_answered_only_in_private(start_bot: Any) -> None:
    bot = await start_bot()
    bot.telegram.send_command(ADMIN, "/budget", group=GROUP)
    text = await bot.last_text(GROUP["id"], lambda t: bool(t))
    assert "ask me in private" in text and "Budget" not in text
    bot.telegram.send_command(BOB, "/cost", group=GROUP)
    bot.telegram.send_command(ADMIN, "/budget")
    await bot.last_text(ADMIN, lambda t: "Budget for" in t)
    assert len(bot.telegram.bot_messages(GROUP["id"])) == 1, "a non-admin's admin command in a group: silence"


async def test_an_edited_command_or_caption_never_acts_again(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    grant = bot.telegram.send_command(ADMIN, f"/grant {ANN} 30")
    await bot.last_text(ADMIN, lambda t: "unlimited photos until" in t)
    bot.telegram.edit_message(grant, text=f"/grant {ANN} 31")
    await bot.last_text(ADMIN, lambda t: "edited messages" in t)
    photo = bot.telegram.send_photo(BOB, make_photo(203), caption="pump 3")
    await bot.last_text(BOB, finished)
    bot.telegram.edit_message(photo, caption="pump 3, tripped on start")
    bot.telegram.edit_message(photo, caption="pump 3, tripped twice")
    await bot.telegram.wait_for(lambda: sum("edited" in (m.plain or "") for m in bot.telegram.bot_messages(BOB)) == 2)
    async with bot.services.sessions() as session:
        grants = await session.scalar(select(func.count()).select_from(Payment).where(Payment.kind == "grant"))
    assert grants == 1
    assert len(bot.providers.calls("gemini")) == 1 and await free_used(bot, BOB) == 1


async def test_odd_admin_arguments_get_a_usage_line_and_never_a_quota_sentence(start_bot: Any) -> None:
    bot = await start_bot()
    for command, expected in [
        ("/budget user 99999999999999999999 1", "not a Telegram user id"),
        (f"/budget user {2**52} 1", "not a Telegram user id"),
        ("/budget daily ²", "not an amount"),
        ("/budget daily 1e9", "not an amount"),
        ("/grant ²³ 30", "Usage: /grant"),
        (f"/grant {ANN} ³", "Usage: /grant"),
        ("/grant ٤٢ 30", "Usage: /grant"),
        ("/outbox retry ²", "Usage: /outbox"),
        ("/outbox frobnicate", "Usage: /outbox"),
    ]:
        bot.telegram.send_command(ADMIN, command)
        text = await bot.last_text(ADMIN, lambda t, e=expected: e in t)  # type: ignore[misc]
        assert "Usage" in text and "free photo" not in text, command
    bot.telegram.send_command(ADMIN, "/budget")
    await bot.last_text(ADMIN, lambda t: "Budget for" in t)  # nothing stored that breaks /budget


async def test_a_script_is_slowed_to_the_per_minute_limit(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", photos_per_minute=2)
    for seed in (204, 205, 206):
        bot.telegram.send_photo(ANN, make_photo(seed))
    await bot.telegram.wait_for(
        lambda: any("photos a minute" in (m.plain or "") for m in bot.telegram.bot_messages(ANN))
    )
    await bot.telegram.wait_for(lambda: sum(finished(m.plain or "") for m in bot.telegram.bot_messages(ANN)) == 3)
    texts = [m.plain or "" for m in bot.telegram.bot_messages(ANN)]
    assert sum("photos a minute" in t and "nothing was charged" in t for t in texts) == 1
    assert len(bot.providers.calls("gemini")) == 2 and await free_used(bot, ANN) == 2
    for seed in (207, 208, 209):
        bot.telegram.send_photo(ADMIN, make_photo(seed))
    await bot.telegram.wait_for(lambda: len(bot.providers.calls("gemini")) == 5)  # admins are not limited


def test_file_size_message_never_contradicts_itself() -> None:
    text = render.file_too_big(21 * 1024 * 1024, 20 * 1024 * 1024)
    assert text.startswith("📷 That file is 22.1 MB; I can take photos up to 20.9 MB.")


async def test_small_ones_unknown_buttons_and_big_albums(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ANN, make_photo(210))
    await bot.last_text(ANN, finished)
    card = bot.telegram.last_message(ANN)
    assert card is not None
    bot.telegram.press_button(ANN, card.message_id, "zz:garbage", strict=False)
    await bot.telegram.wait_for(lambda: UNKNOWN_BUTTON in _answers(bot))
    for i in range(6):
        bot.telegram.send_photo(BOB, make_photo(212 + i), media_group_id="album-6")
    text = await bot.last_text(BOB, lambda t: "not used" in t and "album" in t)
    assert "the other 2 were not used" in text
    await bot.telegram.wait_for(lambda: len(bot.providers.calls("gemini")) >= 2)
