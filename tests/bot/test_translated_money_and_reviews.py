"""The last English-only surfaces, end to end over the fake Bot API in Spanish, German and Portuguese: Stars
payments (refused invoices, thanks, renewal, /paysupport, a refund, an uncredited payment and its admin alert),
the reasons a work order waits for review and the admin's bad corrections, /cost's month forecast, the spend-spike
alert, the canary lines of /quality and the /whatif table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.quality.canary import CANARY, MAIN, arm_for
from pipeline.ledger import record_attempts
from pipeline.types import Attempt
from tests.bot.conftest import ADMIN, ANN, BOB
from tests.bot.quality.test_feedback import button, card_of
from tests.bot.test_translated_surfaces import card, press, say
from tests.conftest import make_photo
from tests.fakes.providers import good

PRICE = 250


def told(bot: Any, user_id: int, marker: str) -> int:
    return sum(marker in (m.plain or "") for m in bot.telegram.bot_messages(user_id))


async def test_stars_payments_in_spanish_and_the_refund_report_in_german(start_bot: Any) -> None:
    bot = await start_bot(stars_monthly_price=PRICE, free_photos=0)
    bot.telegram.user(ANN, language_code="es")
    bot.telegram.user(ADMIN, language_code="de")
    await say(bot, ANN, "/start", "PLC Copilot")
    await say(bot, ADMIN, "/start", "PLC Copilot")
    bot.telegram.pre_checkout(ANN, f"plan30:{BOB}", PRICE)
    bot.telegram.pre_checkout(ANN, f"plan30:{ANN}", PRICE - 1)
    bot.telegram.pre_checkout(ANN, f"plan30:{ANN}", PRICE, currency="USD")
    answers = await bot.telegram.wait_for(
        lambda: (a := bot.telegram.sent("answerPreCheckoutQuery")) and len(a) == 3 and a
    )
    assert [a["error_message"] for a in answers] == [
        "Esta factura no es para tu cuenta. Envía /upgrade para obtener una nueva.",
        "El precio ha cambiado desde que se emitió esta factura. Envía /upgrade para obtener una nueva.",
        "Este plan solo se paga con Telegram Stars.",
    ]

    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxES1", is_first_recurring=True)
    thanks = await bot.last_text(ANN, lambda t: t.startswith("⭐"))
    assert thanks.startswith("⭐ ¡Gracias! Los análisis de fotos ilimitados están activos: pagado hasta el ")
    assert thanks.endswith(" (UTC). Envía fotos cuando quieras.")
    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", PRICE, "stxES2", is_recurring=True)
    assert (await bot.last_text(ANN, lambda t: "renovado" in t)).startswith("⭐ Tu suscripción se ha renovado: ")
    help_text = await say(bot, ANN, "/paysupport", "Ayuda")
    assert help_text.startswith("Ayuda con los pagos\nEl plan ilimitado se paga con Telegram Stars")

    bot.telegram.send_command(ADMIN, "/refund stxES1")
    report = await bot.last_text(ADMIN, lambda t: "erstattet" in t)
    assert report.startswith(f"250 Stars an Nutzer {ANN} erstattet; 30 Tage abgezogen, bezahlt bis ")
    assert report.endswith("; Abo gekündigt.")
    notice = await bot.last_text(ANN, lambda t: t.startswith("↩️"))
    assert notice.startswith("↩️ Tu pago en Stars se reembolsó y se descontaron los días que pagaba: sigues teniendo")
    assert notice.endswith("/upgrade para suscribirte de nuevo.")
    bot.telegram.send_command(ADMIN, "/refund stxES1")
    await bot.last_text(ADMIN, lambda t: t == "Diese Zahlung wurde bereits erstattet.")
    bot.telegram.send_command(ADMIN, "/refund nope")
    await bot.last_text(ADMIN, lambda t: t == "Keine Stars-Zahlung mit dieser Charge-ID.")
    bot.telegram.send_command(ADMIN, "/refund stxES2")
    await bot.last_text(ANN, lambda t: "tu plan ha terminado" in t)


async def test_an_uncredited_payment_is_explained_in_portuguese_and_alerted_in_german(start_bot: Any) -> None:
    bot = await start_bot(stars_monthly_price=PRICE, free_photos=0)
    bot.telegram.user(ANN, language_code="pt")
    bot.telegram.user(ADMIN, language_code="de")
    await say(bot, ANN, "/start", "PLC Copilot")
    await say(bot, ADMIN, "/start", "PLC Copilot")
    bot.telegram.successful_payment(ANN, f"plan30:{ANN}", 1, "stxCHEAP", is_first_recurring=True)
    told_user = await bot.last_text(ANN, lambda t: t.startswith("⚠️"))
    assert told_user == (
        "⚠️ O seu pagamento chegou, mas não pôde ser aplicado à sua conta: O preço mudou desde que esta fatura foi "
        "emitida. Envie /upgrade para obter uma nova. Um administrador foi avisado e vai reembolsá-lo. /paysupport "
        "para obter ajuda."
    )
    alert = await bot.last_text(ADMIN, lambda t: "/refund stxCHEAP" in t)
    assert alert == (
        f"⚠️ Eine Zahlung von Nutzer {ANN} wurde nicht gutgeschrieben: Der Preis hat sich seit dieser Rechnung "
        "geändert. Bitte sende /upgrade für eine neue. Erstatte sie mit /refund stxCHEAP"
    )
    bot.telegram.send_command(ADMIN, "/refund stxCHEAP")
    report = await bot.last_text(ADMIN, lambda t: "erstattet" in t)
    assert report == (
        f"1 Star an Nutzer {ANN} erstattet; keine ungenutzten Tage abzuziehen, der bezahlte Zeitraum ist beendet; "
        "Abo gekündigt."
    )


URGENT = {"priority": "urgent", "safety_notes": ["Arc flash risk: de-energise the panel first"]}


async def test_why_a_work_order_waits_in_german_and_the_admins_bad_corrections_in_spanish(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", review_priorities="urgent", review_safety_terms="arc flash")
    bot.telegram.user(ANN, language_code="de")
    bot.telegram.user(ADMIN, language_code="es")
    await say(bot, ADMIN, "/start", "PLC Copilot")
    bot.providers.script("gemini", good(**URGENT))
    press(bot, ANN, await card(bot, ANN, 701), "wo:c:")
    waiting = await bot.last_text(ANN, lambda t: t.startswith("⏳"))
    assert waiting.endswith("(Priorität dringend, Sicherheit: arc flash).")
    asked = await bot.last_text(ADMIN, lambda t: t.startswith("🛡"))
    assert "Motivo: prioridad urgente, seguridad: arc flash\n" in asked
    review = bot.telegram.last_message(ADMIN)
    assert review is not None

    bot.telegram.send_text(ADMIN, "priority: high\nbogus: 1", reply_to_message_id=review.message_id)
    bad = await bot.last_text(ADMIN, lambda t: t.startswith("❌"))
    assert bad.startswith("❌ No registrada: 'bogus: 1' no es 'campo: valor' con un campo de priority, condition, ")
    bot.telegram.send_text(ADMIN, "priority: whenever", reply_to_message_id=review.message_id)
    await bot.telegram.wait_for(lambda: told(bot, ADMIN, "❌") == 2)
    assert bot.telegram.last_message(ADMIN).plain == (
        "❌ No registrada: valor no válido para priority, se esperaba 'low', 'medium', 'high', 'urgent'. "
        "Responde de nuevo con líneas como priority: high"
    )
    bot.telegram.send_text(ADMIN, "\n", reply_to_message_id=review.message_id)
    await bot.telegram.wait_for(lambda: told(bot, ADMIN, "no se indicó ninguna corrección") == 1)


async def test_the_month_forecast_and_the_spend_spike_alert_in_german(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini")
    bot.telegram.user(ADMIN, language_code="de")
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    async with bot.services.sessions.begin() as session:
        for back in range(0, 9):
            when = today - timedelta(days=back)
            for n in range(20 if back == 1 else 10 if back else 1):
                attempt = Attempt("gemini", "gemini", "gemini-m", "accepted", cost_micro_usd=100)
                record_attempts(session, request_id=f"r{back}-{n}", user_id=1, attempts=[attempt], now=when)
    text = await say(bot, ADMIN, "/cost today", "Monat bis heute")
    assert "Month" not in text and "projected" not in text
    assert "Prognose zum Monatsende" in text and "(beim Schnitt der letzten 7 Tage von $0.0011/Tag)" in text

    alerts = bot.services.alerts
    assert alerts is not None
    await alerts.check_all()
    [hot] = [m.plain or "" for m in bot.telegram.bot_messages(ADMIN) if "📈" in (m.plain or "")]
    yesterday = (today - timedelta(days=1)).date().isoformat()
    assert hot == (
        f"📈 Die Ausgaben am {yesterday} betrugen $0.0020, 100 % über dem gleitenden Schnitt von $0.0010/Tag. "
        "Verkehr +100% (20 Fotos), Kosten pro Foto +0%, Eskalationsrate 0 % (vorher 0 %). "
        "Hauptsächlich: mehr Verkehr."
    )


async def test_the_canary_lines_of_quality_in_german(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", canary_cascade="claude", canary_percent=50)
    bot.telegram.user(ADMIN, language_code="de")
    settings = (bot.settings.bot, bot.settings.pipeline)
    main_user = next(u for u in range(100, 200) if arm_for(*settings, u) == MAIN)
    canary_user = next(u for u in range(100, 200) if arm_for(*settings, u) == CANARY)
    bot.telegram.send_photo(main_user, make_photo(711))
    await card_of(bot, main_user)
    bot.telegram.send_photo(canary_user, make_photo(712))
    canary_card = await card_of(bot, canary_user)
    bot.telegram.press_button(canary_user, canary_card.message_id, button(canary_card, "fb:w:"))
    await bot.telegram.wait_for(lambda: bot.telegram.sent("answerCallbackQuery"))
    text = await say(bot, ADMIN, "/quality today", "Qualität")
    lines = text[text.index("🐤") :].split("\n")
    assert lines[0] == "🐤 Canary vs. Hauptversion (95-%-Intervalle)"
    assert lines[1].startswith("Hauptversion: 1 Foto · $") and " · falsch 0% (0%–79%) · nachgeprüft 0%" in lines[1]
    assert lines[2].startswith("Canary: 1 Foto · $") and " · falsch 100% (21%–100%)" in lines[2]
    assert lines[3].startswith("Fehlerrate: p = ") and lines[3].endswith("noch nicht unterscheidbar; mehr Fotos nötig")
    assert lines[4].startswith("Nachprüfungsrate: p = 1.00")


async def test_the_whatif_table_in_portuguese(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", eval_sample_rate=1.0, eval_daily_budget_usd=Decimal("5"))
    bot.telegram.user(ADMIN, language_code="pt")
    await card(bot, ANN, 713)
    sampler = bot.services.sampler
    assert sampler is not None
    for task in await bot.telegram.wait_for(lambda: list(sampler.running)):
        await task  # the other tiers' answers: the evaluation set
    table = await say(bot, ADMIN, "/whatif 7d", "Conjunto de avaliação")
    assert "Conjunto de avaliação: 1 foto · níveis por custo: " in table and "mais forte (referência): gemini" in table
    assert "pedido:      gemini" in table and "por 1000 fotos · concorda com o mais forte " in table
    assert "Fronteira custo/precisão (strongest):" in table
    assert not any(word in table for word in ("photos", "asked for", "agrees with", "escalated", "frontier"))
