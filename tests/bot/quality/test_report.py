"""Accuracy by tier and model: pure aggregation table-tested, then /quality and `plc-copilot quality` end to
end with fake providers that answer differently per tier, so every figure is checked against what happened."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from bot.quality.cli import quality_report
from bot.quality.report import ShownRow, aggregate, percentile
from pipeline import format_usd
from pipeline.ledger import Recorded
from pipeline.models import ModelCall
from pipeline.types import Usage
from tests.bot.conftest import ADMIN, ANN
from tests.bot.quality.test_feedback import button, card_of
from tests.conftest import make_photo
from tests.fakes.providers import Text, analysis_json, good, invalid_json


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [([], 50, None), ([7], 95, 7), ([1, 2, 3, 4], 50, 2), ([4, 1, 3, 2], 95, 4), (list(range(1, 101)), 95, 95)],
)
def test_percentile_is_nearest_rank(values: list[int], p: float, expected: int | None) -> None:
    assert percentile(values, p) == expected


def _call(tier: str, outcome: str, cost: int = 0, latency: int = 100, **kw: Any) -> Recorded:
    return Recorded(
        request_id=kw.get("request_id", "r"), tier=tier, model=kw.get("model", f"{tier}-m"), outcome=outcome,
        purpose="serve", arm=None, cost_micro_usd=cost, latency_ms=latency, usage=Usage(), score=None,
        analysis=None, evidence=kw.get("evidence"), user_id=None, created_at=datetime.now(UTC),
    )  # fmt: skip


def test_aggregate_counts_calls_answers_feedback_and_evidence_per_tier_and_model() -> None:
    calls = [
        _call("ollama", "escalated", latency=1000, evidence={"model": "confirmed", "serial_number": "contradicted"}),
        _call("gemini", "accepted", cost=300, latency=2000, evidence={"model": "confirmed", "serial_number": "absent"}),
        _call("ollama", "accepted", latency=3000),
        _call("ollama", "unavailable", latency=50),
        _call("ollama", "skipped_cooldown", latency=0),  # not a call
        _call("cache", "hit_exact"),  # not a call
        _call("gemini", "escalated", cost=200, latency=4000),
        _call("gemini", "bad_output", cost=100, latency=500),
        _call("gemini", "accepted", cost=100, latency=900, model="gemini-new"),  # a model change is its own row
    ]
    shown = [
        ShownRow("gemini", "gemini-m", right=1),
        ShownRow("gemini", "gemini-m", wrong=1, corrections=1),
        ShownRow("gemini", "gemini-m", rechecks=1, recheck_disagreed=1),
        ShownRow("ollama", "ollama-m", rechecks=1),
        ShownRow(None, None),
    ]
    ollama, gemini, new = aggregate(calls, shown)
    assert (ollama.tier, ollama.calls, ollama.answers, ollama.accepted, ollama.escalated, ollama.errors) == (
        "ollama", 3, 2, 1, 1, 1)  # fmt: skip
    assert (ollama.p50, ollama.p95, ollama.cost_per_accepted, ollama.escalation_rate) == (1000, 3000, 0, 0.5)
    assert (ollama.confirmed, ollama.contradicted, ollama.shown, ollama.rechecks, ollama.wrong_rate) == (
        1, 1, 1, 1, 0.0)  # fmt: skip
    assert (gemini.calls, gemini.accepted, gemini.cost_micro_usd, gemini.cost_per_accepted) == (3, 1, 600, 600)
    assert (gemini.thumbs_up, gemini.thumbs_down, gemini.corrections, gemini.recheck_disagreed) == (1, 1, 1, 1)
    assert (gemini.shown, gemini.judged_wrong, gemini.confirmed) == (3, 2, 1)
    assert gemini.p50 == 2000 and gemini.p95 == 4000 and (new.model, new.calls, new.shown) == ("gemini-new", 1, 0)
    assert new.wrong_rate is None and new.cost_per_accepted == 100


def test_no_accepted_answer_has_no_cost_per_accepted_answer() -> None:
    [only] = aggregate([_call("claude", "unavailable", cost=0)], [])
    assert only.cost_per_accepted is None and only.escalation_rate is None and only.errors == 1


def _billed(tokens: int, **fields: Any) -> Text:
    return Text(analysis_json(**fields), input_tokens=tokens, output_tokens=tokens // 20)


async def test_quality_report_through_the_bot_and_the_cli(start_bot: Any, tmp_path: Path, capsys: Any) -> None:
    bot = await start_bot(cascade="ollama:0.8,gemini:0.8,claude")
    fake = bot.providers
    # photo 1: the local model is unsure, Gemini answers; photo 2: local answers; photo 3: local fails, Gemini
    # is unsure, Claude answers.
    fake.script("ollama", good(confidence=0.5), good(confidence=0.95), invalid_json())
    fake.script("gemini", _billed(1500, confidence=0.9), _billed(1200, confidence=0.6))
    fake.script("claude", _billed(1800, confidence=0.9))
    cards = []
    for n, seed in enumerate((51, 52, 53), start=1):
        bot.telegram.send_photo(ANN, make_photo(seed))
        await bot.telegram.wait_for(lambda n=n: len(bot.telegram.bot_messages(ANN)) == n)
        cards.append(await card_of(bot, ANN))
    gemini_card, local_card, claude_card = cards
    bot.telegram.press_button(ANN, gemini_card.message_id, button(gemini_card, "fb:w:"))
    bot.telegram.press_button(ANN, local_card.message_id, button(local_card, "fb:r:"))
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent("answerCallbackQuery")) == 2)
    bot.telegram.send_text(ANN, "Serial is A1B2C3D5", reply_to_message_id=claude_card.message_id)
    await bot.last_text(ANN, lambda t: "correction is saved" in t)

    async with bot.services.sessions() as session:
        spent = dict((await session.execute(
            select(ModelCall.tier, func.sum(ModelCall.cost_micro_usd)).group_by(ModelCall.tier))).all())  # fmt: skip
    assert spent["gemini"] > 0 and spent["claude"] > 0 and spent["ollama"] == 0

    bot.telegram.send_command(ANN, "/quality")
    await bot.last_text(ANN, lambda t: "I work with photos" in t)  # not an admin: answered as unknown

    bot.telegram.send_command(ADMIN, "/quality all")
    text = await bot.last_text(ADMIN, lambda t: "Quality" in t)
    blocks = {b.split("\n")[0].split(" · ")[0]: b for b in text.split("\n\n")[1:]}
    assert "Answers shown: 3 · judged wrong: 2 (67%)" in text
    assert "answers 2: accepted 1, escalated 1 (50%) · errors 1" in blocks["ollama"]
    assert "shown 1: 👍 1 · 👎 0 · corrections 0 · re-checks 0 · judged wrong 0%" in blocks["ollama"]
    assert "$0.0000 per accepted answer" in blocks["ollama"]
    assert "answers 2: accepted 1, escalated 1 (50%)" in blocks["gemini"] and "errors" not in blocks["gemini"]
    assert "shown 1: 👍 0 · 👎 1 · corrections 0 · re-checks 0 · judged wrong 100%" in blocks["gemini"]
    assert f"{format_usd(spent['gemini'])} per accepted answer" in blocks["gemini"], "both Gemini calls, 1 accepted"
    assert "answers 1: accepted 1, escalated 0 (0%)" in blocks["claude"] and "corrections 1" in blocks["claude"]
    assert f"{format_usd(spent['claude'])} per accepted answer" in blocks["claude"]
    assert "p50" in blocks["claude"] and "p95" in blocks["claude"]
    await bot.telegram.wait_for(lambda: bot.telegram.sent("sendPhoto", chat_id=ADMIN))

    chart = tmp_path / "quality.png"
    capsys.readouterr()
    assert await quality_report(bot.settings, "all", chart) == 0  # `plc-copilot quality all --chart …`
    out = capsys.readouterr().out
    assert "answers 2: accepted 1, escalated 1 (50%) · errors 1" in out and "<b>" not in out
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_quality_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["--env-file", os.devnull, "quality", "today"]) == 0
    assert "No model answers in this period." in capsys.readouterr().out
