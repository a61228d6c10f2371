"""Canary: a stable share of users on a candidate cascade; /quality compares the arms with how sure it is."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.quality.canary import CANARY, MAIN, arm_for, arms, two_proportion_p, wilson
from bot.quality.report import ShownRow
from bot.runtime.settings import BotSettings
from pipeline import PipelineSettings
from pipeline.models import ModelCall
from tests.bot.conftest import ADMIN
from tests.bot.quality.test_feedback import button, card_of
from tests.conftest import make_photo


def _settings(percent: float, cascade: str = "claude") -> tuple[BotSettings, PipelineSettings]:
    return BotSettings(_env_file=None, canary_percent=percent), PipelineSettings(_env_file=None, canary_cascade=cascade)


def test_arms_are_stable_proportional_and_grow_without_moving_users() -> None:
    users = range(1, 5001)
    ten = [arm_for(*_settings(10), u) for u in users]
    assert 0.08 < ten.count(CANARY) / len(ten) < 0.12
    assert ten == [arm_for(*_settings(10), u) for u in users]
    twenty = [arm_for(*_settings(20), u) for u in users]
    assert all(b == CANARY for a, b in zip(ten, twenty, strict=True) if a == CANARY)
    assert arm_for(*_settings(0), 1) is None and arm_for(*_settings(50, cascade=""), 1) is None


@pytest.mark.parametrize(
    ("hits", "n", "low", "high"),
    [(0, 0, 0.0, 1.0), (0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (81, 263, 0.2553, 0.3662)],
)
def test_wilson_interval(hits: int, n: int, low: float, high: float) -> None:
    got = wilson(hits, n)
    assert got == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "p"),
    [
        (10, 100, 10, 100, 1.0),
        (10, 100, 25, 100, 0.0052),
        (1, 10, 2, 10, 0.5312),
        (0, 5, 0, 5, 1.0),
        (1, 0, 1, 1, None),
    ],
)
def test_two_proportion_test(k1: int, n1: int, k2: int, n2: int, p: float | None) -> None:
    got = two_proportion_p(k1, n1, k2, n2)
    assert got == (None if p is None else pytest.approx(p, abs=1e-4))


def test_arm_stats_from_shown_answers() -> None:
    shown = [ShownRow("gemini", "g", MAIN, 100, wrong=1), ShownRow("gemini", "g", MAIN, 300, rechecks=1),
             ShownRow("claude", "c", CANARY, 900, corrections=1), ShownRow("gemini", "g", None, 5)]  # fmt: skip
    table = arms(shown)
    assert (table[MAIN].photos, table[MAIN].cost_per_photo, table[MAIN].wrong, table[MAIN].rechecked) == (2, 200, 1, 1)
    assert (table[CANARY].photos, table[CANARY].wrong) == (1, 1) and None not in table


async def test_canary_users_get_the_candidate_cascade_and_quality_compares_the_arms(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", canary_cascade="claude", canary_percent=50)
    settings = (bot.settings.bot, bot.settings.pipeline)
    main_user = next(u for u in range(100, 200) if arm_for(*settings, u) == MAIN)
    canary_user = next(u for u in range(100, 200) if arm_for(*settings, u) == CANARY)
    bot.telegram.send_photo(main_user, make_photo(71))
    assert "Gemini" in (main_card := await bot.last_text(main_user, lambda t: "% sure" in t))
    bot.telegram.send_photo(canary_user, make_photo(72))
    assert "Claude" in await bot.last_text(canary_user, lambda t: "% sure" in t) and main_card
    card = await card_of(bot, canary_user)
    bot.telegram.press_button(canary_user, card.message_id, button(card, "fb:w:"))
    await bot.telegram.wait_for(lambda: bot.telegram.sent("answerCallbackQuery"))
    async with bot.services.sessions() as session:
        arms_seen = set((await session.execute(select(ModelCall.tier, ModelCall.arm))).all())
    assert arms_seen == {("gemini", MAIN), ("claude", CANARY)}

    bot.telegram.send_command(ADMIN, "/quality today")
    text = await bot.last_text(ADMIN, lambda t: "Quality" in t)
    assert "Canary vs main" in text
    assert "main: 1 photo ·" in text and "wrong 0% (0%–79%)" in text
    assert "canary: 1 photo ·" in text and "wrong 100% (21%–100%)" in text
    assert "wrong-rate: p = 0.16, not distinguishable yet" in text
