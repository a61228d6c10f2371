"""The pure texts behind the translated surfaces: work-order reports in every language with their plurals, the
/outbox listing, /usage's question line, the /cost chart's dates and words."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from PIL import Image

from bot.accounts import reports
from bot.accounts.quota import Standing
from bot.chat import costchart, replies, workorders
from bot.i18n import translator
from bot.quality import report as quality
from bot.quality.report import TierQuality
from cmmsconnect import DeliveryReport, OutboxEntry

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
ENGLISH = ("Work order", "Queued", "Could not", "did not accept", "attempt", "admins were told", "open")


def report(status: str, attempts: int = 1, url: str | None = None) -> DeliveryReport:
    return DeliveryReport(
        entry_id=7, key="tg-1-2", status=status, chat_id=1, message_id=2, reporter_id=42,  # type: ignore[arg-type]
        title="Pump <3> trips", attempts=attempts, remote_id="WO-12", url=url,
    )  # fmt: skip


@pytest.mark.parametrize("code", ["es", "de", "pt"])
@pytest.mark.parametrize("status", ["created", "queued-retry", "rejected", "dead"])
def test_every_delivery_report_is_translated_and_escaped(code: str, status: str) -> None:
    text = workorders.report_text(report(status, url="https://cmms.example/wo/12"), "MaintainX", translator(code))
    assert "Pump &lt;3&gt; trips" in text and "MaintainX" in text
    assert not any(word in text for word in ENGLISH), text
    assert text.count("<b>") == text.count("</b>") == 1


@pytest.mark.parametrize(
    ("code", "one", "two"),
    [("en", "after 1 attempt;", "after 2 attempts;"), ("de", "nach 1 Versuch nicht", "nach 2 Versuchen nicht"),
     ("es", "tras 1 intento;", "tras 2 intentos;"), ("pt", "após 1 tentativa;", "após 2 tentativas;")],
)  # fmt: skip
def test_a_dead_report_counts_its_attempts_in_the_languages_plural(code: str, one: str, two: str) -> None:
    tr = translator(code)
    assert one in workorders.report_text(report("dead", 1), "Odoo", tr)
    assert two in workorders.report_text(report("dead", 2), "Odoo", tr)


def test_a_created_report_links_to_the_cmms_in_the_readers_words() -> None:
    text = workorders.report_text(report("created", url="https://cmms.example/wo?id=12&x=1"), "Odoo", translator("de"))
    assert text == (
        "✅ Arbeitsauftrag <b>WO-12</b> in Odoo angelegt: Pump &lt;3&gt; trips — "
        '<a href="https://cmms.example/wo?id=12&amp;x=1">öffnen</a>'
    )


def entry(status: str, attempts: int, error: str | None = None) -> OutboxEntry:
    return OutboxEntry(
        id=3, key="k", backend="webhook", status=status, title="Motor M-4", reporter_id=42, chat_id=1, message_id=2,
        remote_id=None, remote_url=None, attempts=attempts, last_error=error, next_attempt_at=WHEN, created_at=WHEN,
        delivered_at=None,
    )  # fmt: skip


def test_the_outbox_listing_in_german() -> None:
    tr = translator("de")
    text = workorders.outbox_text([entry("dead", 1, "HTTP 503 <html>"), entry("pending", 3)], "webhook", tr)
    assert text.split("\n") == [
        "<b>Postausgang</b> (webhook): 2 nicht angelegt",
        "#3 🪦 Motor M-4 (abgelaufen, 2026-12-01), 1 Versuch — HTTP 503 &lt;html&gt;",
        "#3 ⏳ Motor M-4 (ausstehend, 2026-12-01), 3 Versuche",
        "Sende <code>/outbox retry ID</code>, um einen sofort erneut zu versuchen.",
    ]
    assert (
        workorders.outbox_text([], "webhook", tr) == "Der Postausgang ist leer: Alle Arbeitsaufträge wurden angelegt."
    )
    assert "(mystery, " in workorders.entry_line(entry("mystery", 0), tr), "a status the bot does not know: as is"


@pytest.mark.parametrize(("limit", "left", "line"), [(10, 7, "Free questions today: 3 of 10 used, <b>7</b> left."),
                                                     (10, 0, "Free questions today: 10 of 10 used, <b>0</b> left."),
                                                     (0, 0, None), (10, None, None)])  # fmt: skip
def test_usage_names_the_questions_left_only_when_they_are_counted(
    limit: int, left: int | None, line: str | None
) -> None:
    text = replies.usage(
        translator("en"), Standing("free", 1, 2, None), limit=3, questions_limit=limit, questions_left=left
    )
    assert (line in text) if line else ("question" not in text)


@pytest.mark.parametrize(("code", "shown"), [("en", "Dec 1"), ("es", "1 dic"), ("de", "1. Dez."), ("pt", "1 de dez.")])
def test_chart_dates_are_written_the_languages_way(code: str, shown: str) -> None:
    assert costchart.day_label(date(2026, 12, 1), translator(code)) == shown


@pytest.mark.parametrize(
    ("code", "title", "panels"),
    [("en", "Cloud spend per day", "Cost per photo (¢) · Answered from the cache (%)"),
     ("es", "Gasto en la nube por día", "Coste por foto (¢) · Respondidas desde la caché (%)"),
     ("pt", "Gasto na nuvem por dia", "Custo por foto (¢) · Respondidas pela cache (%)")],
)  # fmt: skip
def test_the_chart_is_labelled_in_the_admins_language(code: str, title: str, panels: str) -> None:
    days = [date(2026, 11, 20 + i) for i in range(7)]
    data = costchart.ChartData(days, {"google": [0, 1_000, 0, 0, 2_000, 0, 500]}, [0, 2, 0, 0, 3, 0, 1], [0] * 7)
    png = Image.open(io.BytesIO(costchart.render(data, translator(code))))
    assert (png.info["Title"], png.info["Description"], png.size) == (title, panels, (780, 1020))


@pytest.mark.parametrize("code", ["en", "es", "de", "pt"])
def test_the_quality_chart_keeps_a_long_title_and_its_legend_apart_and_inside(code: str) -> None:
    tr = translator(code)
    tiers = [TierQuality("ollama", "granite3.2-vision:2b", calls=9, answers=8, accepted=6, escalated=2, shown=6)]
    title = tr.gettext(quality.CHART_TITLE, period=tr.gettext(reports.PERIOD_LABELS["30d"]))
    figure = quality.chart_figure(tiers, title, tr)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    axes = figure.axes[0]
    legend = axes.get_legend()
    assert legend is not None
    boxes = [axes.title.get_window_extent(renderer), legend.get_window_extent(renderer)]
    page = figure.bbox
    for box in boxes:  # nothing cut at the edges of the picture
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, (code, box)
    assert not boxes[0].overlaps(boxes[1]), code
