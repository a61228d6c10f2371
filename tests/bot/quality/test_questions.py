"""Issue 13's 'done when', over the real wire: an admin answers from the bot alone whether the cheap tier is
good enough (/quality, /whatif), what raising its threshold would cost (/whatif with a candidate), and whether
last week's model change made answers worse (/quality's model-change comparison). The fakes answer differently
per tier, so every figure below is checked against what the fakes were told to say and bill.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.quality import changes
from bot.quality.report import TierQuality
from pipeline import PipelineSettings, format_usd
from pipeline.models import ModelCall
from tests.bot.conftest import ADMIN, ANN
from tests.bot.test_e2e import finished
from tests.conftest import make_photo
from tests.fakes.providers import good

CASCADE = "ollama:0.8,gemini:0.7,claude"
RIGHT = good(confidence=0.9)  # agrees with the strongest tier (Claude: the fakes' default answer)
WRONG_SERIAL = good(confidence=0.9, serial_number="A1B2C3D9")  # sure of itself, and wrong
UNSURE = good(confidence=0.72)  # below ollama's 0.8: escalated to Gemini


async def photos(bot: Any, first_seed: int, local: list[Any]) -> None:
    """One photo per scripted local answer, each answered, then evaluated by every other tier (rate 1.0)."""
    bot.providers.script("ollama", *local)
    sampler = bot.services.sampler
    shown = len(bot.telegram.bot_messages(ANN))
    for n, seed in enumerate(range(first_seed, first_seed + len(local))):
        bot.telegram.send_photo(ANN, make_photo(seed))
        await bot.telegram.wait_for(lambda n=n: len(bot.telegram.bot_messages(ANN)) == shown + n + 1)
        await bot.last_text(ANN, finished)
        await bot.telegram.wait_for(lambda n=n: sampler.started == n + 1)
        await asyncio.gather(*sampler.running)
    sampler.started = 0


async def tap_wrong_on_local_answers(bot: Any, sure_of_wrong: int) -> None:
    cards = [m for m in bot.telegram.bot_messages(ANN) if "local model" in (m.plain or "") and m.buttons]
    wrong = [c for c in cards if "A1B2C3D9" in (c.plain or "")]
    assert len(wrong) == sure_of_wrong
    before = len(bot.telegram.sent("answerCallbackQuery"))
    for card in wrong:
        bot.telegram.press_button(ANN, card.message_id, next(b for b in card.buttons if b.startswith("fb:w:")))
    await bot.telegram.wait_for(lambda: len(bot.telegram.sent("answerCallbackQuery")) == before + len(wrong))


async def admin_says(bot: Any, command: str, marker: str) -> str:
    bot.telegram.send_command(ADMIN, command)
    return await bot.last_text(ADMIN, lambda t: marker in t)


async def test_the_three_questions_from_the_bot_alone(start_bot: Any) -> None:
    bot = await start_bot(cascade=CASCADE, eval_sample_rate=1.0, eval_daily_budget_usd=Decimal("5"), free_photos=50)
    await photos(bot, 400, [RIGHT] * 4 + [WRONG_SERIAL] * 2 + [UNSURE] * 2)
    await tap_wrong_on_local_answers(bot, 2)

    # 1. Is the cheap tier good enough? It answers 6 of 8 alone, and 2 of those 6 were judged wrong.
    quality = await admin_says(bot, "/quality 7d", "Quality")
    local = next(b for b in quality.split("\n\n") if b.startswith("ollama"))
    assert "answers 8: accepted 6, escalated 2 (25%)" in local and "judged wrong 33%" in local
    async with bot.services.sessions() as session:
        gemini_calls = (await session.scalars(select(ModelCall.cost_micro_usd).where(ModelCall.tier == "gemini"))).all()
    assert len(gemini_calls) == 8 and len(set(gemini_calls)) == 1, "Gemini answered every photo (served or eval)"
    per_call = gemini_calls[0]

    # 2. What would raising its threshold cost? /whatif replays the same 8 photos under the candidate.
    whatif = await admin_says(bot, "/whatif 7d ollama:0.95,gemini:0.7,claude", "What if")
    now_line, raised_line = _block(whatif, "ollama:0.80"), _block(whatif, "ollama:0.95")
    assert f"{format_usd(per_call * 1000 * 2 // 8)} per 1000 photos" in now_line  # Gemini for 2 photos in 8
    assert "agrees with strongest 75% of 8" in now_line and "escalated 25%" in now_line
    assert f"{format_usd(per_call * 1000)} per 1000 photos" in raised_line  # Gemini for every photo: 4×
    assert "agrees with strongest 100% of 8" in raised_line and "escalated 100%" in raised_line

    # 3. Did last week's model change make answers worse? A new local model escalates 7 photos in 8.
    await bot.restart()
    bot.providers.ollama_models.append("llava:13b")
    bot = await start_bot(
        cascade=CASCADE,
        eval_sample_rate=1.0,
        eval_daily_budget_usd=Decimal("5"),
        ollama_model="llava:13b",
        free_photos=50,
    )
    await photos(bot, 500, [UNSURE] * 7 + [WRONG_SERIAL])
    await tap_wrong_on_local_answers(bot, 3)  # the one new wrong answer, and the two from before (already wrong)
    quality = await admin_says(bot, "/quality 7d", "Model change")
    change = quality.split("🔄 ")[1].split("\n\n")[0]
    old = PipelineSettings.model_fields["ollama_model"].default
    assert change.startswith(f"Model change on ollama: {old} → llava:13b")
    assert "escalated: 25% of 8 → 88% of 8 (p = 0.01, worse)" in change
    assert "judged wrong: 33% of 6 → 100% of 1 (p = 0.21, not distinguishable yet)" in change


def _block(text: str, spec: str) -> str:
    """The score line of the candidate whose spec starts with ``spec`` (its name and the figures below it)."""
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if spec in line and "per 1000" not in line)
    return lines[at] + " " + lines[at + 1]


def test_a_model_change_is_judged_only_with_enough_evidence() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    before = TierQuality("gemini", "a", answers=40, escalated=4, shown=40, judged_wrong=2, first_seen=t0)
    after = TierQuality("gemini", "b", answers=40, escalated=20, shown=40, judged_wrong=3, first_seen=t0 + timedelta(1))
    other = TierQuality("claude", "c", answers=5, first_seen=t0)
    assert changes.changed_tiers([after, other, before]) == [(before, after)]
    text = "\n".join(changes.change_lines([before, after]))
    assert "escalated: 10% of 40 → 50% of 40 (p = 0.00, worse)" in text
    assert "judged wrong: 5% of 40 → 8% of 40 (p = 0.64, not distinguishable yet)" in text
    assert changes.verdict(10, 40, 2, 40)[0] == "better" and changes.verdict(1, 0, 1, 4)[0] == "no data on one side"
