"""The bot end to end: updates in through a fake Bot API, answers out, analyses through fake provider servers."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from PIL import Image
from sqlalchemy import select

from bot.runtime.logs import setup_logging
from bot.runtime.models import User
from tests.bot.conftest import ADMIN, ANN, BOB, TOKEN
from tests.conftest import make_photo
from tests.fakes.providers import good, hang, server_error


async def free_used(bot: Any, user_id: int) -> int:
    async with bot.services.sessions() as session:
        user = await session.scalar(select(User).where(User.id == user_id))
        return int(user.free_used) if user else -1


def finished(text: str) -> bool:
    """Not a status line: every status line starts with 🔎, in every language (bot/chat/render.py)."""
    return "🔎" not in text


async def test_start_help_and_commands(start_bot: Any) -> None:
    bot = await start_bot()
    commands = [c["command"] for c in bot.telegram.sent("setMyCommands")[0]["commands"]]
    assert commands[:2] == ["start", "help"] and "workorders" in commands
    bot.telegram.send_command(ANN, "/start")
    text = await bot.last_text(ANN, lambda t: "PLC Copilot" in t)
    assert "3 free photo analyses left" in text
    bot.telegram.send_command(ANN, "/help")
    await bot.last_text(ANN, lambda t: "How to use" in t)


async def test_photo_gets_status_then_a_card_with_receipt(start_bot: Any) -> None:
    bot = await start_bot(cascade="ollama:0.8,gemini:0.7,claude")
    bot.providers.script("ollama", good(confidence=0.4))
    bot.providers.script("gemini", good(confidence=0.9))
    bot.telegram.send_photo(ANN, make_photo(1), caption="drive tripped")
    card = await bot.last_text(ANN, finished)
    message = bot.telegram.last_message(ANN)
    assert message is not None
    history = [m for m in message.history]
    assert history[0].startswith("🔎 Analyzing"), "a status message once a model is needed"
    # the card replaces the status; in between only progress lines (none unless a stage took SLOW_STAGE_S,
    # which on a loaded machine can happen: their policy is tested in test_status without a clock race)
    assert len(history) >= 2 and all(h.startswith("🔎") for h in history[:-1])
    for expected in ("VFD — Allen-Bradley PowerFlex 525", "A1B2C3D4", "F004", "480 V", "What to do", "Safety"):
        assert expected in card
    assert re.search(r"Gemini · \d+% sure · \d", card), "how sure, and from where"
    assert "$" not in card and "tiers tried" not in card, "cost is for admins"
    lines = card.split("\n")
    assert lines.index("⚠️ Safety first") < lines.index("What to do"), "safety before the steps"
    assert "{" not in card and "```" not in card, "never raw JSON or fences"
    assert [b.split(":")[0] for b in message.buttons] == ["wo", "wo", "fb", "fb", "re"]
    assert await free_used(bot, ANN) == 1
    assert bot.providers.calls("gemini")[0].json()["contents"][0]["parts"][-1]["text"].count("drive tripped") == 1


async def test_model_text_is_escaped_in_the_card(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.providers.script("gemini", good(summary="Check <b>wiring</b> & fuse <F1>", model="PF<525>"))
    bot.telegram.send_photo(ANN, make_photo(2))
    card = await bot.last_text(ANN, finished)  # the fake rejects invalid Telegram HTML with a 400
    assert "Check <b>wiring</b> & fuse <F1>" in card and "PF<525>" in card


async def test_image_sent_as_a_file(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    buffer = io.BytesIO()
    Image.open(io.BytesIO(make_photo(3))).save(buffer, format="PNG")
    bot.telegram.send_document(ANN, buffer.getvalue(), "panel.png", "image/png")
    assert "Allen-Bradley" in await bot.last_text(ANN, finished)


async def test_broken_image_file_is_explained_and_costs_nothing(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_document(ANN, b"\xff\xd8\xff\xe0 truncated", "IMG_1.jpg", "image/jpeg")
    text = await bot.last_text(ANN, finished)
    assert "not a photo I can read" in text
    assert bot.providers.calls("gemini") == [] and await free_used(bot, ANN) == 0


async def test_things_that_are_not_photos_get_a_friendly_explanation(start_bot: Any) -> None:
    bot = await start_bot()
    bot.telegram.send_text(ANN, "hello")
    await bot.last_text(ANN, lambda t: "I work with photos" in t)
    bot.telegram.send_sticker(BOB)
    await bot.last_text(BOB, lambda t: "I work with photos" in t)
    bot.telegram.send_voice(BOB)
    bot.telegram.send_document(BOB, b"%PDF-1.7", "manual.pdf", "application/pdf")
    await bot.telegram.wait_for(lambda: len(bot.telegram.bot_messages(BOB)) == 3)
    assert all("I work with photos" in (m.plain or "") for m in bot.telegram.bot_messages(BOB))


async def test_when_every_tier_fails_the_user_is_told_and_keeps_the_free_photo(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini:0.7,claude")
    bot.providers.script("gemini", server_error(503))
    bot.providers.script("claude", server_error(529))
    bot.telegram.send_photo(ANN, make_photo(4))
    text = await bot.last_text(ANN, finished)
    assert "free photo was not used" in text
    assert await free_used(bot, ANN) == 0


async def test_unexpected_failure_still_answers_and_releases_the_quota(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.fail_next("getFile", 500, "Internal Server Error")
    bot.telegram.send_photo(ANN, make_photo(5))
    text = await bot.last_text(ANN, finished)
    assert "Something went wrong" in text and "free photo was not used" in text
    assert await free_used(bot, ANN) == 0


async def test_quota_then_cache_hits_stay_free(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", free_photos=1)
    first = make_photo(6)
    bot.telegram.send_photo(ANN, first)
    await bot.last_text(ANN, finished)
    bot.telegram.send_photo(ANN, make_photo(7))
    text = await bot.last_text(ANN, lambda t: "used your 1 free photo analysis" in t)
    assert "still answered free" in text
    bot.telegram.send_photo(ANN, first)
    card = await bot.last_text(ANN, lambda t: finished(t) and "from an earlier analysis" in t)
    assert "$" not in card
    assert "already analysed stay free" in card and "That was your last" not in card, "a hit used nothing"
    assert len(bot.providers.calls("gemini")) == 1 and await free_used(bot, ANN) == 1


async def test_an_admin_sees_what_the_answer_cost_a_technician_does_not(start_bot: Any) -> None:
    bot = await start_bot(cascade="ollama:0.8,gemini")
    bot.providers.script("ollama", good(confidence=0.4))
    bot.telegram.send_photo(ADMIN, make_photo(40))
    card = await bot.last_text(ADMIN, finished)
    assert re.search(r"Gemini · \d+% sure · \$0\.0", card) and "2 tiers tried" in card
    bot.providers.script("ollama", good(confidence=0.4))
    bot.telegram.send_photo(ANN, make_photo(41))
    card = await bot.last_text(ANN, finished)
    assert re.search(r"Gemini · \d+% sure · ", card) and "$" not in card and "tiers tried" not in card


async def test_a_card_that_is_not_sure_says_so_before_anything_else(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini:0.9")
    bot.providers.script("gemini", good(confidence=0.35))
    bot.telegram.send_photo(ANN, make_photo(42))
    card = await bot.last_text(ANN, finished)
    lines = card.split("\n")
    assert lines[1].startswith("⚠️ Not sure (") and "check on the equipment before acting" in lines[1]
    assert lines[2].startswith("🛑 Fault · Priority: High") and "% sure" not in lines[2]
    assert lines.index("⚠️ Safety first") < lines.index("What to do")


async def test_album_is_one_request_with_every_photo(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.send_photo(ANN, make_photo(8), caption="pump 3", media_group_id="g1")
    bot.telegram.send_photo(ANN, make_photo(9), media_group_id="g1")
    await bot.last_text(ANN, finished)
    calls = bot.providers.calls("gemini")
    assert len(calls) == 1
    parts = calls[0].json()["contents"][0]["parts"]
    assert sum(1 for p in parts if "inlineData" in p or "inline_data" in p) == 2
    assert len(bot.telegram.bot_messages(ANN)) == 1 and await free_used(bot, ANN) == 1


async def test_a_slow_analysis_does_not_delay_another_user(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.providers.script("gemini", hang(2.0))
    bot.telegram.send_photo(ANN, make_photo(10))
    await bot.telegram.wait_for(lambda: len(bot.providers.calls("gemini")) == 1)
    bot.telegram.send_photo(BOB, make_photo(11))
    await bot.last_text(BOB, finished)
    ann = bot.telegram.last_message(ANN)
    assert ann is not None and "Analyzing" in (ann.plain or ""), "Bob was answered while Ann's call was running"
    await bot.last_text(ANN, finished)


async def test_one_users_photos_are_answered_in_the_order_sent(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.providers.script("gemini", hang(1.0), good(manufacturer="Siemens", model="G120"))
    bot.telegram.send_photo(ANN, make_photo(12))
    bot.telegram.send_photo(ANN, make_photo(13))
    await bot.telegram.wait_for(
        lambda: (
            all(finished(m.plain or "") for m in bot.telegram.bot_messages(ANN))
            and len(bot.telegram.bot_messages(ANN)) == 2
        ),
        timeout=15,
    )
    edits = [c for c in bot.telegram.sent("editMessageText", chat_id=ANN) if "Re-check" in str(c.get("reply_markup"))]
    first, second = (m.message_id for m in bot.telegram.bot_messages(ANN))
    assert [c["message_id"] for c in edits] == [first, second]
    assert "Allen-Bradley" in (bot.telegram.bot_messages(ANN)[0].plain or "")


async def test_recheck_asks_for_a_fresh_analysis(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    photo = make_photo(14)
    bot.telegram.send_photo(ANN, photo)
    await bot.last_text(ANN, finished)
    card = bot.telegram.last_message(ANN)
    assert card is not None
    data = next(b for b in card.buttons if b.startswith("re:"))
    bot.providers.script("gemini", good(serial_number="XYZ-999", confidence=0.95))
    bot.telegram.press_button(ANN, card.message_id, data)
    await bot.last_text(ANN, lambda t: "uses one of your free analyses (you have 2 left)" in t)
    question = bot.telegram.last_message(ANN)
    assert question is not None and question.buttons == [
        f"rc:{data[3:]}:{card.message_id}",
        f"rn:{data[3:]}:{card.message_id}",
    ]
    bot.telegram.press_button(ANN, question.message_id, question.buttons[0])
    text = await bot.last_text(ANN, lambda t: "XYZ-999" in t)
    assert "from an earlier analysis" not in text
    assert len(bot.providers.calls("gemini")) == 2
    bot.telegram.send_photo(ANN, photo)
    assert "XYZ-999" in await bot.last_text(ANN, lambda t: "from an earlier analysis" in t), (
        "the fresh analysis replaced the old"
    )


async def test_token_never_reaches_the_logs(start_bot: Any, capfd: Any) -> None:
    root, saved = logging.getLogger(), logging.getLogger().handlers[:]
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore")}
    try:
        setup_logging("DEBUG", [TOKEN, "fake-gemini-key"])
        bot = await start_bot(cascade="gemini")
        bot.telegram.send_photo(ANN, make_photo(15))
        await bot.last_text(ANN, finished)
        # what an exception from a failed download would carry: the file URL with the token in it
        logging.getLogger("telegram.ext").error("GET %s/file/bot%s/photos/1.jpg failed", bot.telegram.base_url, TOKEN)
        logging.getLogger("x").warning("key fake-gemini-key rejected")
    finally:
        root.handlers[:] = saved
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    err = capfd.readouterr().err
    assert "update 1 from user 42: photo" in err, "one line per update with its correlation id"
    assert "[u1]" in err
    assert TOKEN not in err and "fake-gemini-key" not in err
    assert "/file/bot[secret]/photos/1.jpg" in err and "key [secret] rejected" in err
    assert "Set Bot API URL" in err, "PTB itself logs the token-bearing URL at DEBUG; it must be masked"
