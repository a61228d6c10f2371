"""Render what a person sees on a phone: chat pages at 390 CSS px, screenshotted by headless Chromium.

    .venv/bin/python tools/chatshots.py OUT_DIR [--lang es]

Builds the replies with the same functions the bot uses (/help for a technician and for an admin, /usage on
each plan, /budget after ``/budget daily 0``, /cost for a week, and the /cost chart as Telegram shows a photo,
a work order's status messages and /workorders, /outbox, the admins' alerts, /quality with its chart),
wraps each in a Telegram-like chat bubble and writes ``OUT_DIR/<name>.html`` and ``OUT_DIR/<name>.png``.
Needs ``chromium`` on PATH (Debian: ``apt-get install chromium``). The numbers are made up but realistic;
the layout, wording and lengths are the bot's. The screenshots are for looking at, not for committing.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.accounts import alerts, budget, reports
from bot.accounts.quota import Standing
from bot.chat import budget_report, costchart, questions, render, replies, workorders
from bot.i18n import translator
from bot.quality import report as quality
from cmmsconnect import DeliveryReport, OutboxEntry
from pipeline import PipelineEvent
from pipeline.questions import Answered
from pipeline.types import Analysis, Attempt, Receipt

WIDTH = 390
PAGE = """<!doctype html><meta charset="utf-8"><style>
body {{ margin: 0; background: #c8d9b6; font: 15px/1.35 -apple-system, "Segoe UI", Roboto, sans-serif; }}
.chat {{ padding: 10px 8px; }}
.bubble {{ background: #fff; border-radius: 14px; padding: 7px 10px 8px; max-width: 330px; margin: 0 0 8px;
  white-space: pre-wrap; overflow-wrap: anywhere; box-shadow: 0 1px 1px rgba(0,0,0,.15); }}
.me {{ background: #e1fec6; margin-left: auto; width: fit-content; }}
.photo {{ padding: 3px; }} .photo img {{ width: 100%; border-radius: 12px; display: block; }}
.caption {{ padding: 5px 7px 2px; }}
code {{ font-size: 14px; }}
blockquote {{ margin: 2px 0; padding: 2px 8px; border-left: 3px solid #3a8fd9; background: #eef5fc; }}
blockquote[expandable] {{ max-height: 3.9em; overflow: hidden; position: relative; }}
blockquote[expandable]::after {{ content: "▾"; position: absolute; right: 6px; bottom: 0; color: #3a8fd9; }}
</style><div class="chat">{body}</div>"""


def bubble(html: str, mine: bool = False) -> str:
    return f'<div class="bubble{" me" if mine else ""}">{html}</div>'


def photo_bubble(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode()
    return (
        f'<div class="bubble photo"><img src="data:image/png;base64,{data}"><div class="caption">{caption}</div></div>'
    )


def sample_report() -> reports.CostReport:
    line = reports.Line
    gemini = ("google", 30, 95_000, 6_800, 8_210, 2)
    claude = ("anthropic", 9, 41_000, 2_100, 40_100)
    ollama = ("ollama", 35, 60_000, 4_000, 0, 1)
    return reports.CostReport(
        "7d",
        analyses=41,
        cache_hits=12,
        total_micro_usd=48_310,
        by_provider=[line(*claude), line(*gemini), line(*ollama)],
        by_tier=[line("claude (anthropic)", *claude[1:]), line("gemini (google)", *gemini[1:]), line(*ollama)],
        top_users=[("Ana (5512)", 30_100), ("Jörg (7781)", 18_210)],
        baseline_model="claude-haiku-4-5",
        baseline_micro_usd=131_000,
    )


def sample_chart(today: date) -> costchart.ChartData:
    days = [today - timedelta(days=6 - i) for i in range(7)]
    return costchart.ChartData(
        days,
        spend={"anthropic": [9_000, 0, 14_100, 0, 0, 8_000, 9_000], "google": [2_100, 0, 1_900, 900, 0, 2_210, 1_100]},
        analyses=[8, 0, 11, 3, 0, 9, 10],
        cache_hits=[2, 0, 4, 1, 0, 2, 3],
    )


def sample_card(confidence: float) -> tuple[Analysis, Receipt]:
    """A realistic drive fault as a model answers it, and the receipt of a two-tier cascade."""
    analysis = Analysis(
        equipment_type="VFD", manufacturer="Allen-Bradley", model="PowerFlex 525", serial_number="A1B2C3D4",
        fault_codes=["F004"], condition="fault", priority="high", confidence=confidence,
        summary="The drive shows F004 (UnderVoltage): the DC bus voltage fell below its minimum, usually a "
        "supply dip, a lost phase or a failing pre-charge circuit.",
        ratings={"input": "380-480 V AC 3ph", "power": "7.5 kW", "output current": "17 A"},
        recommended_actions=["Measure the incoming line voltage on all three phases", "Inspect the DC bus fuses",
                             "Check the pre-charge contactor", "Reset the fault and watch the DC bus voltage"],
        safety_notes=["Lock out and tag out, then wait 5 minutes for the DC bus to discharge before opening the "
                      "drive", "Verify zero voltage at the DC bus terminals with a rated meter"],
    )  # fmt: skip
    attempts = [
        Attempt("ollama", "ollama", "granite3.2-vision:2b", "escalated", confidence=0.4),
        Attempt("gemini", "google", "gemini-3-flash", "accepted", cost_micro_usd=210, confidence=confidence),
    ]
    receipt = Receipt(
        request_id="r1", source="model", tier="gemini", model="gemini-3-flash", confidence=confidence,
        cost_micro_usd=210, duration_ms=2400, attempts=attempts, low_confidence=confidence < 0.6,
    )  # fmt: skip
    return analysis, receipt


SAMPLE_ANALYSIS = {
    "equipment_type": "VFD", "manufacturer": "Allen-Bradley", "model": "PowerFlex 525", "serial_number": "A1B2C3D4",
    "ratings": {"voltage": "480 V", "power": "7.5 kW", "current": "12 A"}, "fault_codes": ["F004"],
    "condition": "fault", "priority": "high", "confidence": 0.86,
    "summary": "The drive shows F004 (UnderVoltage): the DC bus voltage fell below its minimum.",
    "recommended_actions": ["Check the incoming line voltage", "Inspect the DC bus fuses"],
    "safety_notes": ["Apply lockout/tagout and wait for the DC bus to discharge before opening the drive"],
    "answer": "The DC bus fuses are rated on the drive's label; on a 7.5 kW 480 V PowerFlex 525 they are usually "
    "30 A class J. Check the manual for your frame before replacing them.",
}  # fmt: skip


def question_pages(tr: Any) -> dict[str, str]:
    """A photo whose caption asks something, its card (the answer first), and a follow-up reply."""
    analysis = Analysis.model_validate(SAMPLE_ANALYSIS)
    receipt = Receipt("r", "model", "gemini", "gemini-2.5-flash-lite", 0.86, 146, 2400, [])
    question = "what size are the DC bus fuses?"
    card = render.card(analysis, receipt, tr=tr, question=question) + "\n\n" + replies.card_quota_line(tr, 2)
    follow = "and what voltage rating?"
    answered = Answered("Class J, 600 V: the fuse holder in the drive takes 600 V class J fuses.", 0.8, "q", "gemini",
                        "gemini-2.5-flash-lite", 119, 900)  # fmt: skip
    answer = questions.answer_html(tr, follow, answered, about=analysis, left=9, admin=False)
    chat = bubble(f"📷 {question}", mine=True) + bubble(card) + bubble(f"↩️ {follow}", mine=True) + bubble(answer)
    text = bubble("what does F004 mean on a PowerFlex 525?", mine=True) + bubble(
        questions.answer_html(tr, "what does F004 mean on a PowerFlex 525?", answered, about=None, left=8, admin=False)
    )
    return {"question-card": chat, "text-question": text}


def work_order_pages(tr: Any, now: datetime) -> dict[str, str]:
    """A technician's work order through the outbox's reports, /workorders, and an admin's /outbox."""
    cmms = workorders.cmms_name("webhook", tr)
    title = "Allen-Bradley PowerFlex 525 VFD – F004 UnderVoltage"

    def report(status: str, attempts: int = 1) -> str:
        sent = DeliveryReport(1, "k", status, 1, 2, 5512, title, attempts, "WO-1042", "https://cmms.example/wo/1042")  # type: ignore[arg-type]
        return workorders.report_text(sent, cmms, tr)

    def entry(n: int, status: str, attempts: int, error: str | None = None) -> OutboxEntry:
        return OutboxEntry(
            n, "k", "webhook", status, title, 5512, 1, 2, f"WO-{1040 + n}" if status == "delivered" else None, None,
            attempts, error, now, now - timedelta(days=n), None,
        )  # fmt: skip

    filing = tr.gettext(workorders.FILING_STATUS, title=title, cmms=cmms, priority=workorders.priority_name("high", tr))
    listing = workorders.recent_text([entry(1, "delivered", 1), entry(2, "dead", 6)], [], cmms, tr)
    outbox = workorders.outbox_text(
        [entry(2, "dead", 6, "HTTP 503: Service Unavailable"), entry(3, "failed", 1, "HTTP 422: title too long")],
        "webhook", tr,
    )  # fmt: skip
    return {
        "workorder": bubble(filing)
        + bubble(report("queued-retry"))
        + bubble(report("created"))
        + bubble(report("rejected"))
        + bubble(report("dead", 6))
        + bubble("/workorders", mine=True)
        + bubble(listing),
        "outbox": bubble("/outbox", mine=True)
        + bubble(outbox)
        + bubble("/outbox retry 2", mine=True)
        + bubble(tr.gettext(workorders.RETRYING, id=2, entry=workorders.entry_line(entry(2, "pending", 6), tr))),
    }


def alert_pages(tr: Any) -> dict[str, str]:
    window = alerts.RecentWindow(100, 12, 41)
    shown = [
        alerts.spend_alert(12_400_000, 10_000_000),
        alerts.cache_alert(window),
        alerts.expensive_alert(window, "claude"),
        alerts.event_alert(PipelineEvent("key_rejected", "gemini", "HTTP 401: API key not valid")),
        alerts.event_alert(PipelineEvent("model_missing", "grok", "HTTP 404: model not found")),
    ]
    return {"alerts": "".join(bubble(a.text(tr)) for a in shown if a is not None)}


def quality_pages(tr: Any) -> dict[str, str]:
    tiers = [
        quality.TierQuality("ollama", "granite3.2-vision:2b", calls=40, answers=38, accepted=29, escalated=9,
                            latencies=[2100, 2600, 3900], confirmed=41, contradicted=3, shown=29, thumbs_up=11,
                            thumbs_down=2, corrections=1, rechecks=2, recheck_disagreed=1, judged_wrong=3),
        quality.TierQuality("gemini", "gemini-3-flash", calls=11, answers=11, accepted=10, escalated=1,
                            cost_micro_usd=2_310, latencies=[1800, 2400], shown=10, thumbs_up=4, judged_wrong=0),
    ]  # fmt: skip
    built = quality.QualityReport("7d", tiers, [])
    period = tr.gettext(reports.PERIOD_LABELS["7d"])
    png = quality.chart_png(tiers, tr.gettext(quality.CHART_TITLE, period=period), tr)
    return {
        "quality": bubble("/quality", mine=True)
        + bubble(quality.report_text(built, tr))
        + photo_bubble(png, tr.gettext(quality.CHART_CAPTION, period=period))
    }


def pages(lang: str) -> dict[str, str]:
    tr = translator(lang)
    now = datetime.now(UTC)
    free = Standing("free", 1, 2, None)
    paid = Standing("paid", 3, 0, now + timedelta(days=21))
    admin_commands = [*replies.ADMIN_COMMANDS]
    help_args = {"free_photos": 3, "stars_price": 250, "auto_work_order": False}
    caps = budget.Caps(daily=0, alert=10_000_000, user_default=None, users={5512: 500_000})
    view = budget_report.BudgetView(
        now.date(), 31_200, 33_000, caps, [("anthropic", 27_000), ("google", 4_200)],
        [budget_report.UserCap(5512, "Ana", 12_000, 500_000)],
    )  # fmt: skip
    chart = sample_chart(now.date())
    sure, unsure = sample_card(0.86), sample_card(0.35)
    quota_line = replies.card_quota_line(tr, 2)
    return {
        "card": bubble("📷 (photo of a drive) what size are the DC bus fuses?", mine=True)
        + bubble(render.card(*sure, tr=tr) + "\n\n" + quota_line),
        "card-unsure": bubble("📷 (photo of a drive)", mine=True) + bubble(render.card(*unsure, tr=tr)),
        "card-admin": bubble("📷 (photo of a drive)", mine=True) + bubble(render.card(*sure, tr=tr, admin=True)),
        "help": bubble("/help", mine=True) + bubble(replies.help_text(tr, admin_commands=None, **help_args)),
        "help-admin": bubble("/help", mine=True)
        + bubble(replies.help_text(tr, admin_commands=admin_commands, **help_args)),
        "usage": bubble("/usage", mine=True)
        + bubble(replies.usage(tr, free, limit=3, questions_limit=10, questions_left=7))
        + bubble("/usage", mine=True)
        + bubble(replies.usage(tr, paid, limit=3, questions_limit=10, questions_left=None)),
        "budget": bubble("/budget daily 0", mine=True)
        + bubble(budget_report.changed("daily", 0, 5_000_000, {}, tr) + "\n\n" + budget_report.report(view, tr)),
        "cost": bubble("/cost", mine=True)
        + bubble(reports.report_text(sample_report(), tr))
        + photo_bubble(costchart.render(chart, tr), costchart.caption(chart, tr)),
        **question_pages(tr),
        **work_order_pages(tr, now),
        **alert_pages(tr),
        **quality_pages(tr),
    }


def screenshot(html_file: Path, png: Path, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--hide-scrollbars", f"--window-size={WIDTH},{height}",
             f"--screenshot={png}", html_file.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--height", type=int, default=1400, help="CSS px captured (the phone shows ~750)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, body in pages(args.lang).items():
        html_file = args.out / f"{name}-{args.lang}.html"
        html_file.write_text(PAGE.format(body=body), encoding="utf-8")
        screenshot(html_file, args.out / f"{name}-{args.lang}.png", args.height)
        print(args.out / f"{name}-{args.lang}.png")


if __name__ == "__main__":
    main()
