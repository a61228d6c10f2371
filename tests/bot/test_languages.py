"""Their language (issue 14): the "/" menu per language, status lines in the user's language, a cached card only
in the language it was written in, and work orders in the plant's language. Over the fake Bot API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.models import InboxUpdate
from cmmsconnect.models import LocalWorkOrder
from pipeline.models import ModelCall
from tests.bot.conftest import ADMIN, ANN, BOB
from tests.conftest import make_photo
from tests.fakes.providers import Text, analysis_json, good, has_image, server_error


def done(text: str) -> bool:
    """Every status line starts with 🔎, in every language."""
    return "🔎" not in text


async def test_the_command_menu_is_set_in_every_language(start_bot: Any) -> None:
    bot = await start_bot()
    menus = {call.get("language_code"): call["commands"] for call in bot.telegram.sent("setMyCommands")}
    assert set(menus) == {None, "es", "de", "pt"}
    descriptions = {code: {c["command"]: c["description"] for c in commands} for code, commands in menus.items()}
    assert descriptions[None]["language"] == "The language I answer in"
    assert descriptions["es"]["language"] == "El idioma en el que respondo"
    assert descriptions["de"]["workorders"] == "Deine letzten Arbeitsaufträge"
    assert descriptions["pt"]["upgrade"] == "Fotos ilimitadas com Telegram Stars"
    assert all([c["command"] for c in menu] == [c["command"] for c in menus[None]] for menu in menus.values())


async def test_status_lines_are_in_the_users_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ANN, language_code="de")
    bot.providers.script("gemini", Text(analysis_json(), delay=2.0))  # past SLOW_STAGE_S
    bot.telegram.send_photo(ANN, make_photo(401))
    await bot.last_text(ANN, done)
    message = bot.telegram.last_message(ANN)
    assert message is not None
    assert message.history[0] == "🔎 Analysiere…"
    assert "🔎 Analysiere… frage Gemini (Cloud)" in message.history, message.history
    assert not any("Analyzing" in (h or "") for h in message.history)


async def test_a_cached_card_is_only_handed_out_in_its_own_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ANN, language_code="es")
    bot.telegram.user(BOB, language_code="de")
    photo = make_photo(402)
    bot.telegram.send_photo(ANN, photo)
    await bot.last_text(ANN, done)
    bot.telegram.send_photo(BOB, photo)
    await bot.last_text(BOB, done)
    prompts = [c.json()["contents"][0]["parts"][-1]["text"] for c in bot.providers.calls("gemini")]
    assert len(prompts) == 2 and "in Spanish" in prompts[0] and "in German" in prompts[1]
    bot.telegram.send_photo(ANN, photo)  # the same photo again in Spanish: from the cache, free
    await bot.telegram.wait_for(lambda: len(bot.telegram.bot_messages(ANN)) == 2)
    await bot.last_text(ANN, lambda t: "de un análisis anterior" in t)
    assert len(bot.providers.calls("gemini")) == 2


def test_every_status_line_is_translated() -> None:
    from bot.chat import render
    from bot.i18n import translator
    from pipeline import Progress

    stages = [Progress("cache"), Progress("plate"), Progress("tier", "ollama", True), Progress("tier", "claude")]
    for code in ("es", "de", "pt"):
        texts = [render.status_text(p, translator(code)) for p in [*stages, Progress("done")]]
        assert all(t.startswith("🔎") and "Analyzing" not in t for t in texts), (code, texts)
    assert (
        render.status_text(Progress("tier", "claude"), translator("pt")) == "🔎 A analisar… a consultar Claude (nuvem)"
    )


def test_the_work_order_labels_in_english_are_cmmsconnects_own() -> None:
    from bot.chat import plant
    from cmmsconnect import Labels

    assert plant.labels("en") == Labels(), "the catalogue's English texts and cmmsconnect's defaults never drift"
    assert plant.labels("de").equipment == "Anlage: {name}"


async def _file(bot: Any, user_id: int, seed: int) -> str:
    bot.telegram.send_photo(user_id, make_photo(seed))
    await bot.last_text(user_id, done)
    card = bot.telegram.last_message(user_id)
    assert card is not None
    bot.telegram.press_button(user_id, card.message_id, next(b for b in card.buttons if b.startswith("wo:c:")))
    await bot.last_text(user_id, lambda t: t.startswith("✅"))
    async with bot.services.sessions() as session:
        orders = (await session.scalars(select(LocalWorkOrder).order_by(LocalWorkOrder.id))).all()
    return str(orders[-1].description)


async def test_work_orders_are_written_in_the_plants_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", plant_language="de")
    bot.telegram.user(ANN, language_code="es")
    spanish = good(
        summary="El variador muestra F004.",
        recommended_actions=["Medir la tensión"],
        safety_notes=["Aplicar lockout/tagout antes de abrir"],
    )
    german = {
        "summary": "Der Umrichter zeigt F004.",
        "recommended_actions": ["Spannung messen"],
        "safety_notes": ["Vor dem Öffnen Lockout/Tagout anwenden"],
    }
    bot.providers.script("gemini", spanish, Text(json.dumps(german), 300, 60))
    description = await _file(bot, ANN, 403)
    assert description.startswith("Der Umrichter zeigt F004.")
    assert (
        "Anlage: Allen-Bradley PowerFlex 525 (VFD)" in description
        and "Empfohlene Maßnahmen:\n- Spannung messen" in description
    )
    assert "Sicherheitshinweise:" in description and "El variador" not in description
    translation = bot.providers.calls("gemini")[-1].json()
    prompt = translation["contents"][0]["parts"][-1]["text"]
    assert "from Spanish into German" in prompt and not has_image("gemini", translation)
    async with bot.services.sessions() as session:
        rows = (await session.scalars(select(ModelCall).where(ModelCall.request_id.like("t-%")))).all()
    assert [(r.outcome, r.cost_micro_usd) for r in rows] == [("answered", round(300 * 0.10 + 60 * 0.40))]


async def test_a_failed_translation_still_files_the_work_order_and_says_so(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", plant_language="en")
    bot.telegram.user(ANN, language_code="pt")
    bot.providers.script("gemini", good(summary="O inversor mostra F004."), server_error(503))
    description = await _file(bot, ANN, 404)
    assert description.startswith("(Written in Português: the translation into English failed.) O inversor")
    assert "Equipment: Allen-Bradley PowerFlex 525" in description


async def test_no_translation_when_the_technician_writes_the_plants_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    await _file(bot, ANN, 405)
    assert len(bot.providers.calls("gemini")) == 1


async def test_admin_replies_are_in_the_admins_language_and_a_grant_in_the_users(start_bot: Any) -> None:
    bot = await start_bot()
    bot.telegram.user(ADMIN, language_code="de")
    bot.telegram.user(ANN, language_code="es")
    bot.telegram.send_text(ANN, "hola")  # Ann is known to the bot, in Spanish
    await bot.last_text(ANN, lambda t: "Trabajo con fotos" in t)
    bot.telegram.send_command(ADMIN, "/grant")
    await bot.last_text(ADMIN, lambda t: t.startswith("Verwendung: /grant NUTZER_ID TAGE"))
    bot.telegram.send_command(ADMIN, f"/grant {ANN} 30")
    await bot.last_text(ADMIN, lambda t: t.startswith(f"✅ Nutzer {ANN} hat unbegrenzte Fotos bis"))
    await bot.last_text(ANN, lambda t: t.startswith("⭐ Un administrador te ha dado fotos ilimitadas"))
    bot.telegram.send_command(ADMIN, "/budget daily lots")
    await bot.last_text(ADMIN, lambda t: "„lots“ ist kein Dollarbetrag" in t and "Verwendung:" in t)


async def test_budget_and_cost_reports_are_in_the_admins_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ADMIN, language_code="pt")
    bot.telegram.send_photo(ANN, make_photo(406))
    await bot.last_text(ANN, done)
    bot.telegram.send_command(ADMIN, "/budget daily 0")
    text = await bot.last_text(ADMIN, lambda t: "Orçamento de" in t)
    assert "✅ Limite diário de toda a análise na nuvem: <b>" not in text, "plain text, tags rendered"
    assert "🛑 A análise na nuvem está agora parada para todos" in text and "Budget for" not in text
    bot.telegram.send_command(ADMIN, "/cost")
    cost = await bot.last_text(ADMIN, lambda t: t.startswith("💰 Custo,"))
    assert "1 análise" in cost and "Por nível" in cost and "1 chamada" in cost and "Spent" not in cost
    await bot.last_text(ADMIN, lambda t: t.startswith("Gasto na nuvem, custo por foto e acertos de cache"))


async def test_refusals_and_recovery_are_in_the_users_language(start_bot: Any) -> None:
    """What the bot says when it does not act: a voice note, an edited message, a stale button, too many photos
    a minute, and "I was restarted" after a crash — in Spanish for a Spanish Telegram."""
    bot = await start_bot(cascade="gemini", photos_per_minute=1)
    bot.telegram.user(ANN, language_code="es")
    bot.telegram.send_voice(ANN)
    assert "Trabajo con fotos 📷" in await bot.last_text(ANN, lambda t: "📷" in t)
    sent = bot.telegram.send_text(ANN, "hola")
    await bot.last_text(ANN, lambda t: "Hola" in t or "fotos" in t)
    bot.telegram.edit_message(sent, text="hola otra vez")
    assert "No actúo sobre mensajes editados" in await bot.last_text(ANN, lambda t: "✏️" in t)
    bot.telegram.send_photo(ANN, make_photo(450))
    await bot.last_text(ANN, done)
    card = bot.telegram.last_message(ANN)
    assert card is not None
    bot.telegram.press_button(ANN, card.message_id, "zz:stale", strict=False)
    await bot.telegram.wait_for(lambda: bot.telegram.sent("answerCallbackQuery"))
    assert (
        bot.telegram.sent("answerCallbackQuery")[-1]["text"]
        == "Ese botón ya no funciona. Envía la foto de nuevo, por favor."
    )
    bot.telegram.send_photo(ANN, make_photo(451))  # the second photo within the minute
    assert "Son más de 1 fotos por minuto" in await bot.last_text(ANN, lambda t: "⏳" in t)


async def test_after_a_crash_the_user_is_told_in_their_language(
    start_bot: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """An interrupted button press is not replayed (its query expired with the old process): the user hears so,
    in their language (bot/updates/recovery.py)."""
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ANN, language_code="de")
    bot.telegram.send_command(ANN, "/start")
    await bot.last_text(ANN, lambda t: bool(t))
    status = bot.telegram.last_message(ANN)
    assert status is not None
    await bot.restart()
    async with sessions.begin() as session:  # what a process killed mid-press leaves in the inbox
        session.add(
            InboxUpdate(
                update_id=990_001, chat_id=ANN, kind="callback_query", done=False, attempts=1,
                payload={"update_id": 990_001, "callback_query": {"id": "x", "from": {"id": ANN}}},
                status_message_id=status.message_id, accepted_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )  # fmt: skip
    await start_bot(cascade="gemini")
    text = await bot.last_text(ANN, lambda t: "neu gestartet" in t)
    assert "Es wurde nichts berechnet" in text
