"""The pure texts behind the payment, review, forecast and quality surfaces, in every language: each translated
(no English left), with its placeholders filled and its plurals right."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.accounts import forecast, payments
from bot.accounts.forecast import Day, MonthForecast, Spike
from bot.chat import render
from bot.i18n import translator
from bot.quality import canary, changes, review
from bot.quality.report import ShownRow, TierQuality
from pipeline import Analysis

LANGUAGES = ["es", "de", "pt"]
UNTIL = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.mark.parametrize("code", LANGUAGES)
@pytest.mark.parametrize("problem", [payments.STARS_ONLY, payments.NOT_YOURS, payments.PRICE_CHANGED])
def test_every_invoice_refusal_is_translated(code: str, problem: str) -> None:
    text = translator(code).gettext(problem)
    assert text != problem and "Please" not in text and "invoice" not in text
    assert ("/upgrade" in text) == ("/upgrade" in problem)


@pytest.mark.parametrize(
    ("code", "thanks", "renewed", "ended"),
    [
        ("en", "⭐ Thank you! Unlimited photo analyses are on: paid until 2026-12-31 (UTC).",
         "⭐ Your subscription was renewed: paid until 2026-12-31 (UTC).", "your plan has ended"),
        ("es", "⭐ ¡Gracias! Los análisis de fotos ilimitados están activos: pagado hasta el 2026-12-31 (UTC).",
         "⭐ Tu suscripción se ha renovado: pagado hasta el 2026-12-31 (UTC).", "tu plan ha terminado"),
        ("de", "⭐ Danke! Unbegrenzte Fotoanalysen sind aktiv: bezahlt bis 2026-12-31 (UTC).",
         "⭐ Dein Abo wurde verlängert: bezahlt bis 2026-12-31 (UTC).", "Dein Tarif ist beendet"),
        ("pt", "⭐ Obrigado! As análises de fotos ilimitadas estão ativas: pago até 2026-12-31 (UTC).",
         "⭐ A sua subscrição foi renovada: pago até 2026-12-31 (UTC).", "o seu plano terminou"),
    ],
)  # fmt: skip
def test_payment_receipts_in_every_language(code: str, thanks: str, renewed: str, ended: str) -> None:
    tr = translator(code)
    assert render.thanks(UNTIL, tr, renewal=False).startswith(thanks)
    assert render.thanks(UNTIL, tr, renewal=True).startswith(renewed)
    assert ended in render.refunded(None, tr)
    assert "2026-12-31 (UTC)" in render.refunded(UNTIL, tr) and "/upgrade" in render.refunded(UNTIL, tr)
    help_text = tr.gettext(render.PAYSUPPORT)
    assert help_text.startswith("<b>") and "/usage" in help_text and "Stars" in help_text
    problem = tr.gettext(payments.NOT_YOURS)
    assert problem in render.payment_not_credited(problem, tr) and "/paysupport" in render.payment_not_credited("", tr)


@pytest.mark.parametrize(
    ("code", "one", "many", "less", "none"),
    [
        ("en", "Refunded 1 Star to user 42; 1 day taken off, paid until 2026-12-31; subscription cancelled.",
         "Refunded 250 Stars to user 42; 2 days taken off", "less than a day taken off", "no unused days taken off"),
        ("es", "Se reembolsó 1 Star al usuario 42; 1 día descontado, pagado hasta el 2026-12-31; "
               "suscripción cancelada.",
         "Se reembolsaron 250 Stars al usuario 42; 2 días descontados", "descontado menos de un día",
         "no quedaban días sin usar que descontar"),
        ("de", "1 Star an Nutzer 42 erstattet; 1 Tag abgezogen, bezahlt bis 2026-12-31; Abo gekündigt.",
         "250 Stars an Nutzer 42 erstattet; 2 Tage abgezogen", "weniger als ein Tag abgezogen",
         "keine ungenutzten Tage abzuziehen"),
        ("pt", "Foi reembolsada 1 Star ao utilizador 42; 1 dia descontado, pago até 2026-12-31; subscrição cancelada.",
         "Foram reembolsadas 250 Stars ao utilizador 42; 2 dias descontados", "descontado menos de um dia",
         "não havia dias por usar a descontar"),
    ],
)  # fmt: skip
def test_the_refund_report_counts_in_the_admins_plural(code: str, one: str, many: str, less: str, none: str) -> None:
    tr = translator(code)
    assert payments.refund_report(1, 42, timedelta(days=1), UNTIL, cancelled=True, tr=tr) == one
    assert payments.refund_report(250, 42, timedelta(days=2), None, cancelled=False, tr=tr).startswith(many)
    assert less in payments.refund_report(1, 42, timedelta(hours=3), None, cancelled=True, tr=tr)
    assert none in payments.refund_report(1, 42, timedelta(0), None, cancelled=True, tr=tr)


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_uncredited_payment_alert_is_translated_and_escaped(code: str) -> None:
    tr = translator(code)
    text = payments._not_credited_for_admins(42, "stx<1>", payments.STARS_ONLY, tr)
    assert text.startswith("⚠️") and "42" in text and "<code>/refund stx&lt;1&gt;</code>" in text
    assert tr.gettext(payments.STARS_ONLY) in text and "was not credited" not in text


def spike_of(cause: str, expected: float = 1000.0, traffic: float = 2.0) -> Spike:
    return Spike(Day(date(2026, 11, 30), 20, 4, 2000), expected, traffic, 1.0, 0.2, 0.1, cause)


@pytest.mark.parametrize("code", LANGUAGES)
@pytest.mark.parametrize("cause", forecast.CAUSES)
def test_the_spend_spike_alert_names_its_cause_in_every_language(code: str, cause: str) -> None:
    tr = translator(code)
    text = forecast.spike_text(spike_of(cause), tr)
    assert f"<b>{tr.gettext(cause)}</b>" in text and tr.gettext(cause) != cause
    assert "2026-11-30" in text and "$0.0020" in text and "100 %" in text and "+100%" in text
    assert not any(word in text for word in ("Spend on", "Traffic", "Mostly", "photos)", "escalation rate"))
    assert "$0.0020" in forecast.spike_text(spike_of(cause, expected=0.0), tr)
    assert tr.gettext("n/a") in forecast.spike_text(spike_of(cause, traffic=float("inf")), tr)


@pytest.mark.parametrize(
    ("code", "one_photo"), [("en", "(1 photo)"), ("es", "(1 foto)"), ("de", "(1 Foto)"), ("pt", "(1 foto)")]
)
def test_a_spike_of_one_photo_is_singular(code: str, one_photo: str) -> None:
    spike = Spike(Day(date(2026, 11, 30), 1, 0, 2000), 1000.0, 2.0, 1.0, 0.0, 0.0, forecast.MORE_TRAFFIC)
    assert one_photo in forecast.spike_text(spike, translator(code))


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("en", "Month to date: <b>$0.01</b> · projected month end <b>$0.03</b> (at the last 7 days' average"),
        ("es", "En lo que va de mes: <b>$0.01</b> · previsión a fin de mes <b>$0.03</b> (al promedio de los "),
        ("de", "Monat bis heute: <b>$0.01</b> · Prognose zum Monatsende <b>$0.03</b> (beim Schnitt der letzten 7"),
        ("pt", "Mês até hoje: <b>$0.01</b> · previsão para o fim do mês <b>$0.03</b> (à média dos últimos 7 "),
    ],
)
def test_the_month_forecast_in_every_language(code: str, line: str) -> None:
    [text] = forecast.month_lines(MonthForecast(10_000, 30_000, 1_000.0), translator(code))
    assert text.startswith("\n" + line) and "$0.0010/" in text
    assert forecast.month_lines(None, translator(code)) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", ["priority urgent", "safety: arc flash", "score 0.42 < 0.60", "priority urgent"]),
        ("es", ["prioridad urgente", "seguridad: arc flash", "puntuación 0,42 < 0,60", "priority urgent"]),
        ("de", ["Priorität dringend", "Sicherheit: arc flash", "Bewertung 0,42 < 0,60", "priority urgent"]),
        ("pt", ["prioridade urgente", "segurança: arc flash", "pontuação 0,42 < 0,60", "priority urgent"]),
    ],
)
def test_review_reasons_in_every_language(code: str, expected: list[str]) -> None:
    """Reasons are stored as codes and worded per reader; a reason stored in English before codes stays as it is."""
    analysis = Analysis.model_validate(
        {"equipment_type": "VFD", "confidence": 0.9, "priority": "urgent", "summary": "Arc flash hazard"}
    )
    policy = review.ReviewPolicy(frozenset({"urgent"}), ("arc flash",), 0.6)
    codes = review.reasons(policy, analysis, 0.42)
    assert [review.reason_text(r, translator(code)) for r in [*codes, "priority urgent"]] == expected


@pytest.mark.parametrize("code", LANGUAGES)
def test_correction_errors_in_every_language(code: str) -> None:
    tr = translator(code)
    analysis = Analysis(equipment_type="VFD", confidence=0.9)
    problems = []
    for text in ("", "colour: red"):
        with pytest.raises(review.CorrectionError) as caught:
            review.parse_corrections(text)
        problems.append(caught.value.text(tr))
    with pytest.raises(review.CorrectionError) as caught:
        review.corrected(analysis, {"priority": "whenever"})
    problems.append(caught.value.text(tr))
    assert "'colour: red'" in problems[1] and "priority, condition" in problems[1]
    assert "'low', 'medium', 'high', 'urgent'" in problems[2]
    assert not any(w in p for p in problems for w in ("correction given", "is not", "invalid value", "expected"))
    assert str(caught.value) == "invalid value for priority, expected 'low', 'medium', 'high', 'urgent'"


@pytest.mark.parametrize("code", LANGUAGES)
def test_model_change_and_canary_lines_in_every_language(code: str) -> None:
    tr = translator(code)
    before = TierQuality("gemini", "a", answers=40, escalated=4, shown=40, judged_wrong=2, first_seen=T0)
    after = TierQuality("gemini", "b", answers=40, escalated=20, shown=40, judged_wrong=3, first_seen=T0 + timedelta(1))
    text = "\n".join(changes.change_lines([before, after], tr))
    assert "a → b" in text and "10 % " in text and tr.gettext(changes.WORSE) in text
    assert not any(w in text for w in ("Model change", "escalated", "judged wrong", " of 40", "worse", "not dist"))
    english = "\n".join(changes.change_lines([before, after]))
    assert "escalated: 10% of 40 → 50% of 40 (p = 0.00, worse)" in english, "English by default"


@pytest.mark.parametrize("code", LANGUAGES)
def test_canary_lines_in_every_language(code: str) -> None:
    tr = translator(code)
    rows = [ShownRow("gemini", "m", canary.MAIN, 100, wrong=w) for w in (0, 1, 0)]
    rows += [ShownRow("claude", "c", canary.CANARY, 300, wrong=1, rechecks=1)]
    text = "\n".join(canary.arms_text(rows, tr))
    assert text.startswith("\n<b>🐤 ") and "95" in text and ": 3 " in text and ": 1 " in text
    english = ("vs main", "photos", "photo ·", "wrong ", "re-checked", "no data", "more photos", "intervals")
    assert not any(w in text for w in english), text
    assert canary.arms_text(rows[:3], tr) == [], "no canary in the period: no lines"
