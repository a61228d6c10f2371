"""What a user reads about the bot and their account, end to end through the fake Bot API: /start, /help,
/usage, /upgrade and /language in the user's language, the quota under a card and the re-check question.

Each reply is checked for the order of its parts and for its visible length in UTF-16 code units, the way
Telegram counts (4096 at most; /help is kept to one phone screen or two)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.chat import replies
from bot.i18n import translator
from bot.runtime.models import User
from tests.bot.conftest import ADMIN, ANN, BOB
from tests.conftest import make_photo
from tests.fakes.providers import good

HELP_MAX = 1800  # UTF-16 units: about two screens of a 390 px phone


def visible(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def in_order(text: str, *parts: str) -> bool:
    positions = [text.find(p) for p in parts]
    return -1 not in positions and positions == sorted(positions)


def finished(text: str) -> bool:
    """Not a status line: every status line starts with 🔎, in every language (bot/chat/render.py)."""
    return "🔎" not in text


async def reply(bot: Any, user_id: int, command: str) -> str:
    before = len(bot.telegram.bot_messages(user_id))
    bot.telegram.send_command(user_id, command)
    await bot.telegram.wait_for(lambda: len(bot.telegram.bot_messages(user_id)) > before)
    return str(bot.telegram.last_message(user_id).plain)


async def test_help_says_what_to_send_the_buttons_the_plans_and_the_commands(start_bot: Any) -> None:
    bot = await start_bot(free_photos=3)
    text = await reply(bot, ANN, "/help")
    assert in_order(text, "What to send", "buttons", "Create work order", "Re-check", "3 free photo analyses",
                    "Telegram Stars", "Commands", "/usage –", "/upgrade –", "/language –")  # fmt: skip
    assert "Admin commands" not in text and "/budget" not in text, "users do not see the admin list"
    assert visible(text) <= HELP_MAX
    admin = await reply(bot, ADMIN, "/help")
    assert in_order(admin, "Commands", "Admin commands", "/cost", "/budget", "/grant", "/refund", "/outbox")
    assert visible(admin) <= HELP_MAX + 600


async def test_help_with_automatic_work_orders_does_not_describe_buttons_that_are_not_there(start_bot: Any) -> None:
    bot = await start_bot(auto_work_order=True)
    text = await reply(bot, ANN, "/help")
    assert "filed for every answer automatically" in text and "Create work order" not in text


async def test_usage_never_contradicts_itself(start_bot: Any) -> None:
    bot = await start_bot(free_photos=3)
    free = await reply(bot, ANN, "/usage")
    assert in_order(
        free, "Your usage", "Free analyses: 0 of 3 used, 3 left.", "Free questions today: 0 of 10 used, 10 left.",
        "/upgrade",
    )  # fmt: skip
    admin = await reply(bot, ADMIN, "/usage")
    assert "no photo limit" in admin and "left" not in admin and "Free analyses" not in admin
    await reply(bot, BOB, "/start")  # the bot writes BOB's row; the test holds no session meanwhile
    async with bot.services.sessions.begin() as session:
        user = await session.get(User, BOB)
        assert user is not None
        user.paid_until, user.free_used = datetime.now(UTC) + timedelta(days=30), 3
    paid = await reply(bot, BOB, "/usage")
    assert "Unlimited plan: paid until" in paid and "left" not in paid and "/upgrade" not in paid
    assert all(visible(t) < 400 for t in (free, admin, paid))


async def test_start_shows_what_is_left_in_the_users_telegram_language(start_bot: Any) -> None:
    bot = await start_bot(free_photos=3)
    bot.telegram.user(ANN, language_code="es")
    text = await reply(bot, ANN, "/start")
    assert in_order(text, "PLC Copilot", "Te quedan 3 análisis gratuitos", "/help")
    bot.telegram.user(BOB, language_code="pt-br")
    assert "Como usar o PLC Copilot" in await reply(bot, BOB, "/help")


async def test_language_command_overrides_telegram_and_auto_returns_to_it(start_bot: Any) -> None:
    bot = await start_bot()
    bot.telegram.user(ANN, language_code="es")
    menu = await reply(bot, ANN, "/language")
    assert "Respondo en Español, el idioma de tu aplicación de Telegram" in menu
    message = bot.telegram.last_message(ANN)
    assert message is not None and message.buttons == ["lang:en", "lang:es", "lang:de", "lang:pt", "lang:auto"]
    bot.telegram.press_button(ANN, message.message_id, "lang:de")
    assert "Ab jetzt antworte ich auf Deutsch" in await bot.last_text(ANN, lambda t: "Deutsch" in t)
    assert "Deine Nutzung" in await reply(bot, ANN, "/usage")
    assert "respondo en Español" in await reply(bot, ANN, "/language auto")
    assert "/language en | es | de | pt | auto" in await reply(bot, ANN, "/language klingon")
    async with bot.services.sessions() as session:
        row = await session.get(User, ANN)
    assert row is not None and row.language is None and row.language_code == "es"


async def test_the_model_is_asked_to_write_in_the_users_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ANN, language_code="de")
    bot.telegram.send_photo(ANN, make_photo(61))
    card = await bot.last_text(ANN, finished)
    prompt = bot.providers.calls("gemini")[0].json()["contents"][0]["parts"][-1]["text"]
    assert "safety_notes in German" in prompt
    assert card.endswith("🎟 Noch 2 kostenlose Analysen."), "what is left, under the card, in German"
    message = bot.telegram.last_message(ANN)
    assert message is not None
    labels = [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    assert labels == ["📝 Arbeitsauftrag anlegen", "✖ Verwerfen", "👍 Richtig", "👎 Falsch", "🔁 Falsch? Erneut prüfen"]
    bot.telegram.user(BOB, language_code="en")
    bot.telegram.send_photo(BOB, make_photo(62))
    await bot.last_text(BOB, finished)
    assert "German" not in bot.providers.calls("gemini")[1].json()["contents"][0]["parts"][-1]["text"]


async def test_recheck_asks_first_on_the_free_plan_and_keep_costs_nothing(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", free_photos=2)
    bot.telegram.send_photo(ANN, make_photo(63))
    card_text = await bot.last_text(ANN, finished)
    assert in_order(card_text, "Allen-Bradley", "🎟 1 free analysis left.")
    card = bot.telegram.last_message(ANN)
    assert card is not None
    bot.telegram.press_button(ANN, card.message_id, next(b for b in card.buttons if b.startswith("re:")))
    question = await bot.last_text(ANN, lambda t: "re-check" in t)
    assert question == "🔁 A re-check is a fresh analysis: it uses one of your free analyses (you have 1 left)."
    ask = bot.telegram.last_message(ANN)
    assert ask is not None
    bot.telegram.press_button(ANN, ask.message_id, next(b for b in ask.buttons if b.startswith("rn:")))
    assert "no free analysis was used" in await bot.last_text(ANN, lambda t: "Kept" in t)
    assert len(bot.providers.calls("gemini")) == 1
    # yes: the question becomes the status, the card loses its buttons, the new card says it was the last one
    bot.telegram.press_button(ANN, card.message_id, next(b for b in card.buttons if b.startswith("re:")))
    await bot.last_text(ANN, lambda t: "you have 1 left" in t)
    ask = bot.telegram.last_message(ANN)
    assert ask is not None
    bot.telegram.press_button(ANN, ask.message_id, next(b for b in ask.buttons if b.startswith("rc:")))
    fresh = await bot.last_text(ANN, lambda t: "last free analysis" in t)
    assert fresh.endswith("🎟 That was your last free analysis. /upgrade for unlimited photos.")
    old = next(m for m in bot.telegram.bot_messages(ANN) if m.message_id == card.message_id)
    assert old.buttons == [], "the re-checked card loses its buttons"
    assert len(bot.providers.calls("gemini")) == 2
    # nothing left: the re-check is refused with the reason, before any question
    latest = bot.telegram.last_message(ANN)
    assert latest is not None
    bot.telegram.press_button(ANN, latest.message_id, next(b for b in latest.buttons if b.startswith("re:")))
    await bot.telegram.wait_for(
        lambda: any("used up" in (c.get("text") or "") for c in bot.telegram.sent("answerCallbackQuery"))
    )
    assert len(bot.providers.calls("gemini")) == 2


async def test_admins_and_paid_users_recheck_without_a_question(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ADMIN, make_photo(64))
    card_text = await bot.last_text(ADMIN, finished)
    assert "free analys" not in card_text, "no quota line without a quota"
    card = bot.telegram.last_message(ADMIN)
    assert card is not None
    bot.providers.script("gemini", good(serial_number="NEW-1", confidence=0.95))
    bot.telegram.press_button(ADMIN, card.message_id, next(b for b in card.buttons if b.startswith("re:")))
    assert "NEW-1" in await bot.last_text(ADMIN, lambda t: "NEW-1" in t)


async def test_quota_used_up_reply_is_in_the_users_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", free_photos=0)
    bot.telegram.user(ANN, language_code="pt")
    bot.telegram.send_photo(ANN, make_photo(65))
    text = await bot.last_text(ANN, lambda t: "🔒" in t)
    assert in_order(text, "Você usou suas 0 análises gratuitas", "Análises de fotos ilimitadas", "/paysupport")


@pytest.mark.parametrize(
    ("outcomes", "kind"),
    [
        (["unavailable", "skipped_budget"], "budget"),
        (["skipped_budget"], "budget"),
        (["bad_output", "skipped_budget"], "unreadable"),
        (["unavailable", "rate_limited", "auth_error"], "unreachable"),
        (["skipped_cooldown", "unavailable"], "unreachable"),
        (["error", "bad_output"], "unreadable"),
    ],
)
def test_failure_kind(outcomes: list[str], kind: str) -> None:
    assert replies.failure_kind(outcomes) == kind


def test_failure_texts_mention_free_photos_only_on_the_free_plan() -> None:
    tr = translator("es")
    assert "foto gratuita" in replies.analysis_failed(tr, "budget", free_plan=True)
    assert "gratuita" not in replies.analysis_failed(tr, "budget", free_plan=False)
