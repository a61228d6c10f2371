"""No English where a technician or admin reads the bot in Spanish, German or Portuguese: work orders and their
status, /workorders, /outbox, /reviews, /quality, /whatif, the /cost chart, /usage's questions and the admins'
alerts, each end to end over the fake Bot API (and the fake CMMS where one is needed)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image

from tests.bot.conftest import ADMIN, ANN, BOB
from tests.conftest import make_photo
from tests.fakes.cmms import FakeWebhookReceiver
from tests.fakes.http import Reply
from tests.fakes.providers import good, unauthorized

ADMIN2 = 1001
URGENT = {"priority": "urgent", "safety_notes": ["Arc flash risk: de-energise the panel first"]}


def done(text: str) -> bool:
    """Every status line starts with 🔎, in every language."""
    return "🔎" not in text


def answers(bot: Any) -> list[str]:
    return [str(c.get("text")) for c in bot.telegram.sent("answerCallbackQuery")]


async def card(bot: Any, user_id: int, seed: int) -> Any:
    """The card for a new photo: the newest message once it is finished and has its buttons."""
    bot.telegram.send_photo(user_id, make_photo(seed))

    def finished_card() -> Any:
        last = bot.telegram.last_message(user_id)
        return last if last is not None and last.buttons and done(last.plain or "") else None

    return await bot.telegram.wait_for(finished_card)


def press(bot: Any, user_id: int, message: Any, prefix: str, strict: bool = True) -> None:
    data = next(b for b in message.buttons if b.startswith(prefix))
    bot.telegram.press_button(user_id, message.message_id, data, strict=strict)


async def say(bot: Any, user_id: int, command: str, marker: str) -> str:
    bot.telegram.send_command(user_id, command)
    return await bot.last_text(user_id, lambda t: marker in t)


@pytest.fixture
def webhook() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(secret="hook-secret") as receiver:
        yield receiver


def webhook_settings(webhook: FakeWebhookReceiver, **more: Any) -> dict[str, Any]:
    return {
        "cmms_backend": "webhook", "cmms_webhook_url": f"{webhook.base_url}/hook",
        "cmms_webhook_secret": "hook-secret", **more,
    }  # fmt: skip


async def test_work_orders_in_spanish_from_the_button_to_the_list(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ANN, language_code="es")
    empty = await say(bot, ANN, "/workorders", "Aún no tienes")
    assert empty == "Aún no tienes órdenes de trabajo. Pulsa 📝 Crear orden de trabajo debajo de un análisis."
    first = await card(bot, ANN, 601)
    press(bot, ANN, first, "wo:c:")
    created = await bot.last_text(ANN, lambda t: t.startswith("✅"))
    assert (
        created.startswith("✅ Orden de trabajo ") and "creada en la lista integrada de órdenes de trabajo" in created
    )
    status = bot.telegram.last_message(ANN)
    assert status is not None and status.history[0] is not None
    assert status.history[0].startswith("📝 Registrando la orden de trabajo <b>")
    assert "en la lista integrada de órdenes de trabajo… (prioridad: Alta)" in status.history[0]
    press(bot, ANN, first, "wo:c:", strict=False)  # a second press files nothing and says so
    again = await bot.last_text(ANN, lambda t: "ya se registró" in t)
    assert again.startswith("Esta orden de trabajo ya se registró: ✅") and "(entregada, " in again
    second = await card(bot, ANN, 602)
    press(bot, ANN, second, "wo:d:")
    await bot.telegram.wait_for(lambda: "Descartado: sin orden de trabajo." in answers(bot))
    assert "Registrando la orden de trabajo…" in answers(bot)
    listing = await say(bot, ANN, "/workorders", "Tus órdenes")
    assert listing.startswith("Tus órdenes de trabajo recientes (en la lista integrada de órdenes de trabajo)")
    assert "(entregada, " in listing
    replies = [h or "" for m in bot.telegram.bot_messages(ANN) if not m.buttons for h in m.history]  # not the cards
    everything = " ".join(replies + answers(bot))
    for english in ("Work order", "Filing", "already filed", "created in", "priority", "delivered"):
        assert english not in everything, english


async def test_a_cmms_that_is_down_then_refuses_speaks_german_to_the_technician_and_portuguese_to_the_admin(
    start_bot: Any, webhook: FakeWebhookReceiver
) -> None:
    down = Reply(503, json={"error": "maintenance"})
    webhook.fail_next("receive", down, Reply(422, json={"error": "title too long"}))
    bot = await start_bot(cascade="gemini", outbox_poll_s=0.5, cmms_backoff_base_s=0.2, **webhook_settings(webhook))
    bot.telegram.user(ANN, language_code="de")
    bot.telegram.user(ADMIN, language_code="pt")
    press(bot, ANN, await card(bot, ANN, 603), "wo:c:")
    refused = await bot.last_text(ANN, lambda t: t.startswith("❌"))
    status = bot.telegram.last_message(ANN)
    assert status is not None  # one message, edited as the outbox reported: filing, queued, refused
    queued = next(h or "" for h in status.history if (h or "").startswith("⏳"))
    assert queued.startswith("⏳ In der Warteschlange: keine Verbindung mit der Webhook-Schnittstelle des Werks. ")
    assert queued.endswith("</b> wird automatisch angelegt.")
    assert (
        refused.startswith("❌ Der Arbeitsauftrag ")
        and "von der Webhook-Schnittstelle des Werks nicht angenommen" in refused
    )
    assert "Den Grund sehen deine Admins in /outbox; du musst nichts weiter tun." in refused
    assert "422" not in refused and "title too long" not in refused, "the CMMS's words are for admins only"

    await say(bot, ADMIN, "/start", "PLC Copilot")
    listing = await say(bot, ADMIN, "/outbox", "Caixa de saída")
    assert listing.startswith("Caixa de saída (webhook): 1 por registar\n#")
    assert "(recusada, " in listing and ", 2 tentativas — " in listing and "422" in listing
    assert listing.endswith("Envie /outbox retry ID para tentar uma de novo agora.")
    row = listing.split("#", 1)[1].split(" ", 1)[0]
    usage = "Uso: /outbox – o que ainda não foi registado · /outbox retry ID – tentar de novo uma linha agora"
    assert await say(bot, ADMIN, "/outbox frobnicate", "Uso:") == usage
    assert (
        await say(bot, ADMIN, "/outbox retry 99999", "Não há")
        == f"Não há nenhuma linha 99999 na caixa de saída.\n{usage}"
    )
    retrying = await say(bot, ADMIN, f"/outbox retry {row}", "A tentar")
    assert retrying.startswith(f"A tentar de novo a linha {row}: ⏳") and "(pendente, " in retrying
    created = await bot.last_text(ANN, lambda t: t.startswith("✅"))
    assert "in der Webhook-Schnittstelle des Werks angelegt" in created and created.startswith("✅ Arbeitsauftrag ")
    assert (
        await say(bot, ADMIN, "/outbox", "vazia")
        == "A caixa de saída está vazia: todas as ordens de serviço foram registadas."
    )


async def test_a_dead_work_order_is_told_to_each_admin_in_their_language(
    start_bot: Any, webhook: FakeWebhookReceiver
) -> None:
    down = Reply(503, json={"error": "maintenance"})
    webhook.fail_next("receive", *[down] * 5)
    bot = await start_bot(
        cascade="gemini", outbox_poll_s=0.5, cmms_backoff_base_s=2.0, cmms_dead_after_hours=0.0002,
        admin_user_ids=[ADMIN, ADMIN2], **webhook_settings(webhook),
    )  # fmt: skip  # dead 0.72 s after filing; the one retry is due 1–2 s after the first attempt
    bot.telegram.user(ANN, language_code="pt")
    bot.telegram.user(ADMIN, language_code="de")
    bot.telegram.user(ADMIN2, language_code="es")
    for admin in (ADMIN, ADMIN2):  # an admin's language is known once the bot has seen them
        await say(bot, admin, "/start", "PLC Copilot")
    press(bot, ANN, await card(bot, ANN, 604), "wo:c:")
    told = await bot.last_text(ANN, lambda t: t.startswith("❌"), timeout=15)
    assert told.startswith("❌ Não foi possível enviar ") and " para o webhook da fábrica após 1 tentativa; " in told
    german = await bot.last_text(ADMIN, lambda t: t.startswith("📮"))
    spanish = await bot.last_text(ADMIN2, lambda t: t.startswith("📮"))
    assert (
        german.startswith("📮 Arbeitsauftrag ") and "konnte nach 1 Versuch nicht in webhook angelegt werden" in german
    )
    assert german.endswith("Mit /outbox kannst du es erneut versuchen.")
    assert spanish.startswith("📮 La orden de trabajo ") and "no se pudo registrar en webhook tras 1 intento" in spanish
    assert spanish.endswith("Usa /outbox para reintentarla.")


async def test_reviews_in_spanish_for_the_admin_and_the_technician(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", review_priorities="urgent")
    bot.telegram.user(ADMIN, language_code="es")
    bot.telegram.user(ANN, language_code="es")
    assert await say(bot, ADMIN, "/reviews", "Ninguna") == "Ninguna orden de trabajo espera revisión."
    bot.providers.script("gemini", good(**URGENT))
    press(bot, ANN, await card(bot, ANN, 605), "wo:c:")
    await bot.last_text(ANN, lambda t: "espera la aprobación" in t)
    asked = await bot.last_text(ADMIN, lambda t: t.startswith("🛡"))
    assert "PowerFlex 525 · prioridad: 🚨 Urgente" in asked
    bot.telegram.send_command(ADMIN, "/reviews")  # the count, then the review again with its buttons
    await bot.telegram.wait_for(
        lambda: any(m.plain == "1 orden de trabajo espera revisión:" for m in bot.telegram.bot_messages(ADMIN))
    )
    await bot.telegram.wait_for(lambda: bot.telegram.last_message(ADMIN).plain == asked)
    waiting = await say(bot, ANN, "/workorders", "Tus órdenes")
    assert "⏳ Allen-Bradley PowerFlex 525 · prioridad: 🚨 Urgente — " in waiting
    review = bot.telegram.last_message(ADMIN)
    assert review is not None
    press(bot, ADMIN, review, "rv:a:")
    await bot.telegram.wait_for(lambda: any(a.endswith(" aprobada: registrándola.") for a in answers(bot)))
    press(bot, ADMIN, review, "rv:a:", strict=False)  # decided already: the state is named in Spanish
    await bot.telegram.wait_for(lambda: "Ya se decidió sobre esta orden de trabajo (aprobada)." in answers(bot))


async def test_quality_and_whatif_in_german(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ADMIN, language_code="de")
    empty = await say(bot, ADMIN, "/whatif", "Bewertungsmenge")  # no evaluation set yet
    assert empty.startswith("Die Bewertungsmenge ist für diesen Zeitraum leer: Setze EVAL_SAMPLE_RATE")
    bad = await say(bot, ADMIN, "/whatif 7d nonsense:2", "Verwendung")
    assert "Verwendung: /whatif [today|7d|30d|all] [CASCADE …]\nz. B. /whatif 30d" in bad
    assert (
        await say(bot, ADMIN, "/quality yesterday", "Verwendung: /quality") == "Verwendung: /quality [today|7d|30d|all]"
    )
    await card(bot, ANN, 606)
    text = await say(bot, ADMIN, "/quality", "Qualität")
    assert text.startswith("🎯 Qualität, die letzten 7 Tage\nGezeigte Antworten: 1 · als falsch beurteilt: 0 (0%)")
    assert "Antworten 1: angenommen 1, eskaliert 0 (0%)" in text and "pro angenommene Antwort · p50 " in text
    assert "gezeigt 1: 👍 0 · 👎 0 · Korrekturen 0 · erneute Prüfungen 0 · als falsch beurteilt 0%" in text
    photo = await bot.telegram.wait_for(lambda: (m := bot.telegram.last_message(ADMIN)) and m.kind == "photo" and m)
    assert photo.plain == "Angenommen vs. als falsch beurteilt, die letzten 7 Tage"
    png = Image.open(io.BytesIO(bot.telegram._files[photo.json["photo"][0]["file_id"]][1]))
    assert png.info["Title"] == "Genauigkeit je Stufe und Modell, die letzten 7 Tage"


async def test_the_cost_chart_is_drawn_in_the_admins_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ADMIN, language_code="de")
    await card(bot, ANN, 607)
    bot.telegram.send_command(ADMIN, "/cost 7d")
    photo = await bot.telegram.wait_for(lambda: (m := bot.telegram.last_message(ADMIN)) and m.kind == "photo" and m)
    assert photo.plain.startswith("Cloud-Ausgaben, Kosten pro Foto und Cache-Treffer")
    png = Image.open(io.BytesIO(bot.telegram._files[photo.json["photo"][0]["file_id"]][1]))
    assert png.size == (780, 1020)
    assert png.info["Title"] == "Cloud-Ausgaben pro Tag"
    assert png.info["Description"] == "Kosten pro Foto (¢) · Aus dem Cache beantwortet (%)"


async def test_usage_shows_the_free_questions_left_today_in_the_users_language(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", free_questions_per_day=10)
    bot.telegram.user(ANN, language_code="pt")
    before = await say(bot, ANN, "/usage", "Perguntas")
    assert (
        "Análises gratuitas: 0 de 3 usadas, restam 3.\nPerguntas gratuitas hoje: 0 de 10 usadas, restam 10." in before
    )
    bot.telegram.send_text(ANN, "o que significa F004 num PowerFlex 525?")
    await bot.last_text(ANN, lambda t: t.startswith("💬"))
    after = await say(bot, ANN, "/usage", "Perguntas gratuitas hoje: 1 de 10")
    assert "Perguntas gratuitas hoje: 1 de 10 usadas, restam 9." in after
    admin = await say(bot, ADMIN, "/usage", "admin")
    assert "question" not in admin and "left" not in admin, "no allowance beside an unlimited plan"
    bot.telegram.user(BOB, language_code="es")
    spanish = await say(bot, BOB, "/usage", "Preguntas")
    assert (
        "Análisis gratuitos: 0 de 3 usados, quedan 3.\nPreguntas gratuitas hoy: 0 de 10 usadas, quedan 10." in spanish
    )


async def test_admin_alerts_reach_each_admin_in_their_own_language(start_bot: Any) -> None:
    bot = await start_bot(
        cascade="gemini:0.7,claude", budget_alert_usd=Decimal("0.000001"), admin_user_ids=[ADMIN, ADMIN2]
    )
    bot.telegram.user(ADMIN, language_code="de")
    bot.telegram.user(ADMIN2, language_code="es")
    for admin in (ADMIN, ADMIN2):
        await say(bot, admin, "/start", "PLC Copilot")
    bot.providers.script("gemini", unauthorized())
    await card(bot, ANN, 608)
    german = await bot.telegram.wait_for(
        lambda: (t := [m.plain or "" for m in bot.telegram.bot_messages(ADMIN)[1:]]) and len(t) >= 2 and t
    )
    spanish = await bot.telegram.wait_for(
        lambda: (t := [m.plain or "" for m in bot.telegram.bot_messages(ADMIN2)[1:]]) and len(t) >= 2 and t
    )
    assert any(t.startswith("🔑 Der API-Schlüssel für gemini wurde abgelehnt") for t in german), german
    assert any(t.startswith("💸 Die Cloud-Ausgaben von heute liegen bei $") for t in german), german
    assert any(t.startswith("🔑 La clave de API de gemini fue rechazada") for t in spanish), spanish
    assert any(t.startswith("💸 El gasto en la nube de hoy es de $") for t in spanish), spanish
