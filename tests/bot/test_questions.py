"""Questions get answers (issue 14), end to end over the fake Bot API and the fake provider servers: a caption's
question on the card and in the work order, a new question on a cached photo, follow-up replies to a card,
text-only equipment questions, the free-question allowance, and bad input that costs nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.accounts.questions import questions_left
from bot.chat import cards, render
from bot.chat.topics import is_equipment_question, looks_like_question
from bot.runtime.models import User
from cmmsconnect.models import LocalWorkOrder
from pipeline.models import ModelCall
from tests.bot.conftest import ADMIN, ANN, BOB
from tests.bot.test_e2e import finished, free_used
from tests.conftest import make_photo
from tests.fakes.providers import answered, good, has_image, server_error

GROUP = {"id": -100778, "type": "supergroup", "title": "Line 3"}
QUESTION = "what size are the DC bus fuses?"
ANSWER = "Use the fuse rating on the drive's label (30 A class J on most 7.5 kW units); check the manual."


async def questions_used(bot: Any, user_id: int) -> int:
    async with bot.services.sessions() as session:
        user = await session.scalar(select(User).where(User.id == user_id))
        return int(user.questions_used) if user else 0


async def ledger(bot: Any) -> list[ModelCall]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(ModelCall).order_by(ModelCall.id))).all())


def text_calls(bot: Any, provider: str = "gemini") -> list[dict[str, Any]]:
    return [c.json() for c in bot.providers.calls(provider) if not has_image(provider, c.json())]


def prompt_of(call: dict[str, Any]) -> str:
    return str(call["contents"][0]["parts"][-1]["text"])


async def card_of(bot: Any, chat_id: int = ANN) -> Any:
    await bot.last_text(chat_id, finished)
    card = bot.telegram.last_message(chat_id)
    assert card is not None
    return card


async def test_a_caption_question_is_answered_first_on_the_card_and_in_the_work_order(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.providers.script("gemini", good(answer=ANSWER))
    bot.telegram.send_photo(ANN, make_photo(301), caption=QUESTION)
    card = await card_of(bot)
    text = card.plain or ""
    lines = text.split("\n")
    assert lines[0] == f"❓ {QUESTION}" and lines[1] == f"💬 {ANSWER}", "the question and its answer lead"
    assert text.index(ANSWER) < text.index("VFD — Allen-Bradley") < text.index("Safety")
    assert render.utf16_len(text) <= render.MAX_MESSAGE
    bot.telegram.press_button(ANN, card.message_id, next(b for b in card.buttons if b.startswith("wo:c:")))
    await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))
    async with bot.services.sessions() as session:
        order = (await session.scalars(select(LocalWorkOrder))).one()
    assert order.description.startswith(f"Question: {QUESTION}\nAnswer: {ANSWER}\n\n")


async def test_a_new_question_on_a_cached_photo_is_answered_in_words_not_dropped(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    photo = make_photo(302)
    bot.telegram.send_photo(ANN, photo)
    await card_of(bot)
    bot.providers.script("gemini", answered(ANSWER))
    bot.telegram.send_photo(ANN, photo, caption=QUESTION)
    await bot.telegram.wait_for(lambda: len([m for m in bot.telegram.bot_messages(ANN) if "💬" in (m.plain or "")]))
    card = next(m for m in bot.telegram.bot_messages(ANN) if "💬" in (m.plain or ""))
    assert (card.plain or "").startswith(f"❓ {QUESTION}\n💬 {ANSWER}")
    assert "from an earlier analysis" in (card.plain or "")
    calls = bot.providers.calls("gemini")
    assert len(calls) == 2 and not has_image("gemini", calls[1].json()), "a text-only call, not a second photo"
    assert "PowerFlex 525" in prompt_of(calls[1].json()), "asked in the context of the cached analysis"
    assert await free_used(bot, ANN) == 1, "the photo was already analysed: no free photo"
    assert await questions_used(bot, ANN) == 1, "the question is counted as one"
    rows = [r for r in await ledger(bot) if r.request_id.startswith("q-")]
    assert [(r.outcome, r.cost_micro_usd) for r in rows] == [("answered", round(420 * 0.10 + 40 * 0.40))]


async def test_a_reply_to_a_card_is_answered_in_its_context_and_can_go_on(start_bot: Any) -> None:
    bot = await start_bot(cascade="ollama:0.8,gemini")
    bot.providers.script("ollama", good(confidence=0.95))
    bot.telegram.send_photo(ANN, make_photo(303), caption="drive tripped")
    card = await card_of(bot)
    bot.providers.script("ollama", server_error(503))  # the local model falls over: the cloud tier answers
    bot.providers.script("gemini", answered(ANSWER))
    bot.telegram.send_text(ANN, QUESTION, reply_to_message_id=card.message_id)
    reply = await bot.last_text(ANN, lambda t: ANSWER in t)
    assert reply.startswith(f"💬 {QUESTION}\n\n{ANSWER}")
    assert "About the VFD" not in reply and "About the Allen-Bradley PowerFlex 525 card · Gemini" in reply
    assert "🎟 9 free questions left today." in reply and "$" not in reply, "cost is for admins"
    prompt = prompt_of(text_calls(bot)[0])
    assert "PowerFlex 525" in prompt and "drive tripped" in prompt and f'"""{QUESTION}"""' in prompt
    outcomes = [(r.tier, r.outcome) for r in await ledger(bot) if r.request_id.startswith("q-")]
    assert outcomes == [("ollama", "unavailable"), ("gemini", "answered")]
    answer_message = bot.telegram.last_message(ANN)
    assert answer_message is not None
    bot.providers.script("gemini", answered("Class J, 600 V."))
    bot.telegram.send_text(ANN, "and their voltage rating?", reply_to_message_id=answer_message.message_id)
    await bot.last_text(ANN, lambda t: "Class J, 600 V." in t)
    assert "PowerFlex 525" in prompt_of(text_calls(bot)[-1]), "a reply to the answer keeps the card's context"
    assert await questions_used(bot, ANN) == 2 and await free_used(bot, ANN) == 1
    bot.telegram.press_button(ANN, card.message_id, next(b for b in card.buttons if b.startswith("wo:c:")))
    await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))
    async with bot.services.sessions() as session:
        order = (await session.scalars(select(LocalWorkOrder))).one()
    assert (
        f"Follow-up questions:\n- Question: {QUESTION}\n  Answer: {ANSWER}\n"
        "- Question: and their voltage rating?\n  Answer: Class J, 600 V.\n\n"
    ) in order.description, "what was asked about the card goes into its work order"


async def test_a_text_question_about_equipment_is_answered_and_chit_chat_gets_the_help(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_text(ANN, "hello")
    await bot.last_text(ANN, lambda t: "I work with photos" in t)
    bot.telegram.send_text(ANN, "what does F004 mean on a PowerFlex 525?")
    answer = await bot.last_text(ANN, lambda t: t.startswith("💬 what does F004"))
    assert "F004 is UnderVoltage" in answer and "Reply to this message" not in answer
    assert len(text_calls(bot)) == 1 and await free_used(bot, ANN) == 0
    bot.telegram.send_text(ADMIN, "F004 on a PowerFlex 525?")
    admin = await bot.last_text(ADMIN, lambda t: t.startswith("💬"))
    assert "$0.0001" in admin and "free questions" not in admin, "admins see the cost, no allowance"
    bot.telegram.send_command(ADMIN, "/cost")
    cost = await bot.last_text(ADMIN, lambda t: "Cost" in t)
    assert "0 analyses" in cost and "2 questions answered" in cost, "questions are spend, not photo analyses"


async def test_bad_input_gets_a_clear_answer_and_costs_nothing(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_text(ANN, "F004 " + "why" * 1665)  # 5,000 characters
    text = await bot.last_text(ANN, lambda t: t.startswith("✂️"))
    assert "5000 characters" in text and "500" in text and "Nothing was charged" in text
    bot.telegram.send_command(ANN, "/help")
    await bot.last_text(ANN, lambda t: "How to use" in t)
    help_message = bot.telegram.last_message(ANN)
    assert help_message is not None
    bot.telegram.send_text(ANN, "what does F004 mean?", reply_to_message_id=help_message.message_id)
    await bot.last_text(ANN, lambda t: "not one of my analysis cards" in t)
    bot.telegram.send_photo(ANN, make_photo(304), group=GROUP)
    card = await card_of(bot, GROUP["id"])
    calls = len(bot.providers.calls("gemini"))
    bot.telegram.send_text(BOB, QUESTION, reply_to_message_id=card.message_id, group=GROUP)
    await bot.last_text(GROUP["id"], lambda t: "Only the person who sent this photo" in t)
    bot.telegram.send_text(BOB, "what does F004 mean on a PowerFlex 525?", group=GROUP)  # not a reply: not ours
    bot.telegram.send_text(BOB, "hello", reply_to_message_id=card.message_id, group=GROUP)
    await bot.telegram.wait_for(lambda: len(bot.telegram.bot_messages(GROUP["id"])) == 3)
    assert len(bot.providers.calls("gemini")) == calls, "no model call for any of it"
    assert await questions_used(bot, ANN) == 0 and await questions_used(bot, BOB) == 0


async def test_the_allowance_runs_out_and_a_failed_answer_is_given_back(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", free_questions_per_day=1, cooldown_s=0.0)
    bot.providers.script("gemini", server_error(503))
    bot.telegram.send_text(ANN, "F004 on a PowerFlex 525?")
    text = await bot.last_text(ANN, lambda t: t.startswith("😕"))
    assert "Nothing was charged" in text and await questions_used(bot, ANN) == 0
    bot.telegram.send_text(ANN, "F005 on a PowerFlex 525?")
    await bot.last_text(ANN, lambda t: "0 free questions left today" in t)
    bot.telegram.send_text(ANN, "F012 on a PowerFlex 525?")
    text = await bot.last_text(ANN, lambda t: t.startswith("🔒"))
    assert "today's 1 free question" in text
    assert len(bot.providers.calls("gemini")) == 2, "no call once the allowance is used"


async def test_a_spanish_technician_gets_the_answer_in_spanish(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ANN, language_code="es")
    bot.telegram.send_text(ANN, "¿qué significa F004 en un PowerFlex 525?")
    text = await bot.last_text(ANN, lambda t: t.startswith("💬"))
    assert "🎟 Te quedan 9 preguntas gratuitas hoy." in text
    assert "Write the answer in Spanish" in prompt_of(text_calls(bot)[0])
    assert json.loads(json.dumps(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what does F004 mean on a PowerFlex 525?", True),
        ("F004?", False),  # one word: not enough to spend a call on
        ("drive shows F4 after start", True),
        ("E-12 on the HMI", True),
        ("why does the pump trip on start", True),
        ("qué significa la falla del variador", True),
        ("Warum löst die Sicherung aus?", True),
        ("o disjuntor desarma sempre", True),
        ("siemens sinamics g120 alarm", True),
        ("hello", False),
        ("thanks a lot", False),
        ("ok 👍", False),
        ("", False),
        ("see you at 5 pm", False),
    ],
)
def test_which_texts_are_worth_a_model_call(text: str, expected: bool) -> None:
    assert is_equipment_question(text) is expected


@pytest.mark.parametrize(
    ("day", "used", "expected"),
    [(None, 0, 10), (date(2026, 12, 1), 3, 7), (date(2026, 12, 1), 12, 0), (date(2026, 11, 30), 10, 10)],
)
def test_the_daily_allowance_rule(day: date | None, used: int, expected: int) -> None:
    assert questions_left(day=day, used=used, today=date(2026, 12, 1), limit=10) == expected


async def test_a_delivered_answer_stays_delivered_when_keeping_it_with_the_card_fails(
    start_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ANN, make_photo(305))
    card = await card_of(bot)

    async def database_gone(*args: object) -> None:
        raise OperationalError("UPDATE cards", {}, Exception("database is locked"))

    monkeypatch.setattr(cards, "add_follow_up", database_gone)  # the bookkeeping after the answer fails
    bot.providers.script("gemini", answered(ANSWER))
    bot.telegram.send_text(ANN, QUESTION, reply_to_message_id=card.message_id)
    await bot.last_text(ANN, lambda t: t.startswith("💬"))
    bot.telegram.send_text(ANN, "hello")  # the chat's updates run in order: once this is answered, that one is done
    await bot.last_text(ANN, lambda t: "I work with photos" in t)
    answer = next(m for m in bot.telegram.bot_messages(ANN) if (m.plain or "").startswith("💬"))
    assert ANSWER in (answer.plain or "") and await questions_used(bot, ANN) == 1, "delivered, kept and counted"


async def test_when_the_caption_question_gets_no_answer_the_photo_is_analysed_with_it(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini:0.7,claude", cooldown_s=0.0)
    photo = make_photo(306)
    bot.telegram.send_photo(ANN, photo)
    await card_of(bot)
    bot.providers.script("gemini", server_error(503), good(answer=ANSWER))  # the text call fails, then the photo
    bot.providers.script("claude", server_error(529))
    bot.telegram.send_photo(ANN, photo, caption=QUESTION)
    await bot.telegram.wait_for(lambda: len(bot.telegram.bot_messages(ANN)) == 2)
    card = await bot.last_text(ANN, finished)
    assert card.startswith(f"❓ {QUESTION}\n💬 {ANSWER}"), "asked again, with the photo"
    assert has_image("gemini", bot.providers.calls("gemini")[-1].json())
    assert await questions_used(bot, ANN) == 0, "the question that got no answer was given back"
    assert await free_used(bot, ANN) == 2, "the photo analysis that answered it counts as one"


async def test_questions_share_the_per_user_rate_limit_and_are_not_charged_when_refused(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", photos_per_minute=1)
    bot.telegram.send_text(ANN, "what does F004 mean on a PowerFlex 525?")
    await bot.last_text(ANN, lambda t: t.startswith("💬"))
    bot.telegram.send_text(ANN, "and F005 on a PowerFlex 525?")
    text = await bot.last_text(ANN, lambda t: t.startswith("⏳"))
    assert "more than 1 requests a minute" in text and "nothing was charged" in text
    assert len(text_calls(bot)) == 1 and await questions_used(bot, ANN) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what size are the DC bus fuses?", True),
        ("why does it trip", True),
        ("¿qué fusible lleva?", True),
        ("Welche Sicherung gehört da rein", True),
        ("o que significa F004", True),
        ("It is a PowerFlex 753, serial B77", False),  # a correction (bot/quality), not a question
        ("es un motor de 10 kW", False),
        ("wrong serial", False),
    ],
)
def test_which_replies_to_a_card_are_follow_up_questions(text: str, expected: bool) -> None:
    assert looks_like_question(text) is expected
