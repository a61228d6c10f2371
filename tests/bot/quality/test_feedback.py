"""Feedback through the real wire: right/wrong taps, corrections by reply, re-checks compared with the first answer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.quality.models import Feedback, ShownAnswer
from pipeline import Analysis
from pipeline.agreement import disagreement
from tests.bot.conftest import ANN, BOB
from tests.bot.test_e2e import finished
from tests.conftest import make_photo
from tests.fakes.providers import good


async def rows(bot: Any) -> list[tuple[str, int, str, str, str | None]]:
    async with bot.services.sessions() as session:
        found = await session.scalars(select(Feedback).order_by(Feedback.id))
        return [(f.kind, f.user_id, f.verdict, f.request_id, f.detail) for f in found.all()]


async def shown(bot: Any) -> list[ShownAnswer]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(ShownAnswer).order_by(ShownAnswer.created_at))).all())


async def card_of(bot: Any, user: int) -> Any:
    await bot.last_text(user, finished)
    card = bot.telegram.last_message(user)
    assert card is not None
    return card


def button(card: Any, prefix: str) -> str:
    return next(b for b in card.buttons if b.startswith(prefix))


async def test_a_card_offers_right_and_wrong_and_a_tap_is_stored_with_who_tapped(start_bot: Any) -> None:
    bot = await start_bot(cascade="ollama:0.8,gemini")
    bot.providers.script("ollama", good(confidence=0.4))
    bot.telegram.send_photo(ANN, make_photo(41))
    card = await card_of(bot, ANN)
    token = card.buttons[0].split(":")[2]
    assert card.buttons == [f"wo:c:{token}", f"wo:d:{token}", f"fb:r:{token}", f"fb:w:{token}", f"re:{token}"]
    [answer] = await shown(bot)
    assert (answer.tier, answer.source, answer.user_id) == ("gemini", "model", ANN)

    bot.telegram.press_button(ANN, card.message_id, button(card, "fb:w:"))
    await bot.telegram.wait_for(lambda: bot.telegram.sent("answerCallbackQuery"))
    assert "Reply to the card" in bot.telegram.sent("answerCallbackQuery")[-1]["text"]
    assert await rows(bot) == [("vote", ANN, "wrong", answer.request_id, None)]
    await bot.telegram.wait_for(lambda: "✓" in str(bot.telegram.last_message(ANN).reply_markup))
    labels = [b["text"] for row in bot.telegram.last_message(ANN).reply_markup["inline_keyboard"] for b in row]
    assert "👎 Wrong ✓" in labels and "👍 Right" in labels

    [answer] = await shown(bot)
    assert answer.message_id == card.message_id, "recorded once Telegram had the card"
    bot.telegram.press_button(ANN, card.message_id, button(card, "fb:r:"))  # a changed mind overwrites
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent("answerCallbackQuery")) == 2)
    assert await rows(bot) == [("vote", ANN, "right", answer.request_id, None)]


async def test_filing_a_work_order_keeps_the_vote_buttons_and_the_mark(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ANN, make_photo(42))
    card = await card_of(bot, ANN)
    bot.telegram.press_button(ANN, card.message_id, button(card, "fb:r:"))
    await bot.telegram.wait_for(lambda: "✓" in str(bot.telegram.bot_messages(ANN)[0].reply_markup))
    bot.telegram.press_button(ANN, card.message_id, button(card, "wo:c:"))
    await bot.telegram.wait_for(lambda: not any(b.startswith("wo:") for b in bot.telegram.bot_messages(ANN)[0].buttons))
    kept = bot.telegram.bot_messages(ANN)[0]
    assert [b.split(":")[0] for b in kept.buttons] == ["fb", "fb", "re"]
    assert "👍 Right ✓" in str(kept.reply_markup)


async def test_a_reply_to_the_card_is_a_correction_and_other_replies_are_not(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ANN, make_photo(43))
    card = await card_of(bot, ANN)
    bot.telegram.send_text(ANN, "It is a PowerFlex 753, serial B77", reply_to_message_id=card.message_id)
    await bot.last_text(ANN, lambda t: "correction is saved" in t)
    [answer] = await shown(bot)
    assert await rows(bot) == [("correction", ANN, "wrong", answer.request_id, "It is a PowerFlex 753, serial B77")]
    saved = bot.telegram.last_message(ANN)
    assert saved is not None
    bot.telegram.send_text(ANN, "and another thing", reply_to_message_id=saved.message_id)
    await bot.last_text(ANN, lambda t: "not one of my analysis cards" in t)  # bot/chat/questions.py words it
    assert len(await rows(bot)) == 1


@pytest.mark.parametrize(
    ("second", "verdict", "detail"),
    [
        (good(model="PowerFlex 753", confidence=0.95), "wrong", "re-check by gemini: changed model"),
        (good(summary="Said differently.", confidence=0.95), "right", "re-check by gemini: agrees"),
    ],
)
async def test_a_recheck_is_recorded_as_feedback_on_the_first_answer(
    start_bot: Any, second: Any, verdict: str, detail: str
) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(BOB, make_photo(44))
    card = await card_of(bot, BOB)
    bot.providers.script("gemini", second)
    bot.telegram.press_button(BOB, card.message_id, button(card, "re:"))
    question = await bot.telegram.wait_for(
        lambda: next((m for m in bot.telegram.bot_messages(BOB) if any(b.startswith("rc:") for b in m.buttons)), None)
    )  # on the free plan a re-check asks first
    bot.telegram.press_button(BOB, question.message_id, button(question, "rc:"))
    await bot.telegram.wait_for(
        lambda: (
            "PowerFlex" in (bot.telegram.bot_messages(BOB)[-1].plain or "")
            and any(b.startswith("fb:") for b in bot.telegram.bot_messages(BOB)[-1].buttons)
        )
    )  # the question becomes the re-check's card
    first, again = await shown(bot)
    assert again.request_id != first.request_id
    assert await rows(bot) == [("recheck", BOB, verdict, first.request_id, detail)]


def _a(**fields: Any) -> Analysis:
    base: dict[str, Any] = {
        "equipment_type": "VFD",
        "manufacturer": "Allen-Bradley",
        "model": "PowerFlex 525",
        "serial_number": "A1B2",
        "fault_codes": ["F004"],
        "condition": "fault",
        "confidence": 0.8,
    }
    base.update(fields)
    return Analysis.model_validate(base)


@pytest.mark.parametrize(
    ("first", "second", "changed"),
    [
        (_a(), _a(summary="other words", confidence=0.3, priority="urgent"), []),
        (_a(model="PowerFlex-525"), _a(model="powerflex 525"), []),
        (_a(), _a(model="PowerFlex 753"), ["model"]),
        (_a(), _a(serial_number=None), ["serial_number"]),  # a claim the re-check cannot back is doubt
        (_a(serial_number=None), _a(), []),  # the re-check reading more is not a disagreement
        (_a(fault_codes=["F004", "F5"]), _a(fault_codes=["f5", "F-004"]), []),
        (_a(), _a(fault_codes=["F013"]), ["fault_codes"]),
        (_a(condition="unknown"), _a(), []),
        (_a(condition="warning"), _a(), ["condition"]),
        (_a(), _a(equipment_type="PLC", manufacturer="Siemens"), ["equipment_type", "manufacturer"]),
    ],
)
def test_disagreement(first: Analysis, second: Analysis, changed: list[str]) -> None:
    assert disagreement(first, second) == changed
