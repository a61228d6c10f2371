"""Human review of critical work orders, end to end over the fake Bot API: held, Approve, Correct, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.quality import review
from bot.quality.models import Feedback, WorkOrderReview
from cmmsconnect.models import LocalWorkOrder, OutboxRow
from pipeline import Analysis
from tests.bot.conftest import ADMIN, ANN, BOB
from tests.bot.test_e2e import finished
from tests.conftest import make_photo
from tests.fakes.providers import good

URGENT = {"priority": "urgent", "safety_notes": ["Arc flash risk: de-energise the panel first"]}


async def outbox(bot: Any) -> list[OutboxRow]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def filed(bot: Any) -> list[LocalWorkOrder]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(LocalWorkOrder).order_by(LocalWorkOrder.id))).all())


async def reviews(bot: Any) -> list[WorkOrderReview]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(WorkOrderReview).order_by(WorkOrderReview.id))).all())


async def create(bot: Any, user: int, seed: int) -> Any:
    bot.telegram.send_photo(user, make_photo(seed))
    await bot.last_text(user, finished)
    card = bot.telegram.last_message(user)
    assert card is not None
    bot.telegram.press_button(user, card.message_id, next(b for b in card.buttons if b.startswith("wo:c:")))
    return card


async def review_message(bot: Any) -> Any:
    await bot.last_text(ADMIN, lambda t: "Review before filing" in t)
    message = bot.telegram.last_message(ADMIN)
    assert message is not None
    return message


async def test_an_urgent_work_order_waits_for_an_admin_and_approval_files_it(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", review_priorities="urgent")
    bot.providers.script("gemini", good(**URGENT))
    await create(bot, ANN, 301)
    waiting = await bot.last_text(ANN, lambda t: "waits for an admin" in t)
    assert "priority urgent" in waiting
    asked = await review_message(bot)
    assert asked.plain.startswith("🛡 #") and "PowerFlex 525 · priority: 🚨 Urgent" in asked.plain
    assert "Arc flash risk" in asked.plain and "Asked by" in asked.plain
    assert await outbox(bot) == [], "nothing reaches the CMMS before the admin decides"
    bot.telegram.send_command(ANN, "/workorders")
    listing = await bot.last_text(ANN, lambda t: "Your recent work orders" in t)
    assert "⏳ Allen-Bradley PowerFlex 525 · priority: 🚨 Urgent — waiting for an admin's approval" in listing

    approve = next(b for b in asked.buttons if b.startswith("rv:a:"))
    bot.telegram.press_button(BOB, asked.message_id, approve, chat_id=ADMIN, strict=False)  # not an admin
    await bot.telegram.wait_for(lambda: "Only admins can review work orders." in _answers(bot))
    assert await outbox(bot) == []

    bot.telegram.send_command(ADMIN, "/reviews")  # the waiting list, each again with its buttons
    again = await bot.telegram.wait_for(
        lambda: (
            (m := bot.telegram.last_message(ADMIN)) is not None
            and m.message_id > asked.message_id
            and "Review before filing" in (m.plain or "")
            and m
        )
    )
    assert again.plain == asked.plain and again.buttons == asked.buttons
    bot.telegram.press_button(ADMIN, asked.message_id, approve)
    status = await bot.telegram.wait_for(
        lambda: next((m for m in bot.telegram.bot_messages(ANN) if (m.plain or "").startswith("✅ Work order")), None)
    )
    assert "created in the built-in work-order list" in (status.plain or "")
    assert status.history[0].startswith("⏳ This work order waits")  # the same message, edited
    [row] = await filed(bot)
    assert (row.priority, row.reporter_id, row.serial_number) == ("urgent", ANN, None), "unverified: not a field"
    [held] = await reviews(bot)
    assert (held.state, held.decided_by) == (review.APPROVED, ADMIN)
    bot.telegram.press_button(ADMIN, again.message_id, approve, strict=False)  # a second tap: filed once
    await bot.telegram.wait_for(lambda: any("already decided" in a for a in _answers(bot)))
    assert len(await outbox(bot)) == 1
    async with bot.services.sessions() as session:
        votes = (await session.scalars(select(Feedback))).all()
    assert [(f.kind, f.user_id, f.verdict) for f in votes] == [("vote", ADMIN, "right")], "a label for /quality"
    bot.telegram.send_command(ADMIN, "/reviews")
    await bot.last_text(ADMIN, lambda t: t == "No work order is waiting for review.")


async def test_an_admin_corrects_by_replying_and_the_corrected_work_order_is_filed(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", review_safety_terms="arc flash,gas leak")
    bot.providers.script("gemini", good(**URGENT))
    await create(bot, ANN, 302)
    assert "safety: arc flash" in await bot.last_text(ANN, lambda t: "waits for an admin" in t)
    asked = await review_message(bot)
    bot.telegram.send_text(ADMIN, "priority: high\nbogus: 1", reply_to_message_id=asked.message_id)
    assert "is not 'field: value'" in await bot.last_text(ADMIN, lambda t: t.startswith("❌ Not filed"))
    bot.telegram.send_text(ADMIN, "priority: whenever", reply_to_message_id=asked.message_id)
    await bot.telegram.wait_for(
        lambda: sum((m.plain or "").startswith("❌ Not filed") for m in bot.telegram.bot_messages(ADMIN)) == 2
    )
    assert await outbox(bot) == []

    bot.telegram.send_text(ADMIN, "priority: high\nserial_number: B77-0042", reply_to_message_id=asked.message_id)
    await bot.last_text(ADMIN, lambda t: "corrected: filing it" in t)
    await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))
    status = bot.telegram.last_message(ANN)
    assert status is not None
    assert any("An admin corrected this work order (priority, serial_number)" in h for h in status.history)
    [row] = await filed(bot)
    assert (row.priority, row.serial_number) == ("high", "B77-0042"), "corrected by a person: a verified field"
    async with bot.services.sessions() as session:
        [label] = (await session.scalars(select(Feedback))).all()
    assert (label.kind, label.verdict, label.detail) == (
        "correction",
        "wrong",
        "priority: high; serial_number: B77-0042",
    )


async def test_a_blocked_admin_a_lost_photo_and_a_failed_status_edit_lose_no_work_order(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", review_priorities="urgent", admin_user_ids=[1001, ADMIN])
    bot.telegram.block_user(1001)  # one admin blocked the bot: the other is still asked
    bot.providers.script("gemini", good(**URGENT))
    card = await create(bot, ANN, 306)
    await bot.last_text(ANN, lambda t: "waits for an admin" in t)
    again = next(b for b in card.buttons if b.startswith("wo:c:"))
    bot.telegram.press_button(ANN, card.message_id, again, strict=False)  # a redelivered press while waiting
    await bot.last_text(ANN, lambda t: "still waiting" in t)
    asked = await review_message(bot)
    bot.telegram.fail_next("getFile", 500, "Internal Server Error")  # the photo cannot be fetched any more
    bot.telegram.fail_next("editMessageText", 400, "Bad Request: message to edit not found")  # nor the status
    bot.telegram.press_button(ADMIN, asked.message_id, next(b for b in asked.buttons if b.startswith("rv:a:")))
    created = await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))  # a new reply to the card instead
    assert "created in the built-in work-order list" in created
    async with bot.services.sessions() as session:
        photos = (await session.scalars(select(LocalWorkOrder.photo))).all()
    assert photos == [None], "filed without the photo rather than not at all"
    assert len(await reviews(bot)) == 1


async def test_an_automatic_work_order_waits_too(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", review_priorities="urgent", auto_work_order=True)
    bot.providers.script("gemini", good(**URGENT))
    bot.telegram.send_photo(ANN, make_photo(307))
    await bot.telegram.wait_for(
        lambda: any("waits for an admin" in (m.plain or "") for m in bot.telegram.bot_messages(ANN))
    )
    await review_message(bot)
    assert await outbox(bot) == [] and len(await reviews(bot)) == 1


async def test_a_low_score_holds_only_below_the_bar_and_admins_file_their_own(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", review_below_score=0.7)
    bot.providers.script("gemini", good(confidence=0.95), good(confidence=0.95))
    await create(bot, ANN, 303)
    await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))  # a sure answer is filed at once
    await create(bot, ADMIN, 304)
    await bot.last_text(ADMIN, lambda t: t.startswith("✅ Work order"))
    assert await reviews(bot) == [] and len(await outbox(bot)) == 2


async def test_without_admins_nobody_could_approve_so_it_is_filed(start_bot: Any) -> None:
    bot = await start_bot(cascade="gemini", review_priorities="urgent,high", admin_user_ids=[])
    await create(bot, ANN, 305)
    await bot.last_text(ANN, lambda t: t.startswith("✅ Work order"))
    assert await reviews(bot) == [] and len(await outbox(bot)) == 1


@pytest.mark.parametrize(
    ("fields", "policy", "expected"),
    [
        ({"priority": "urgent"}, review.ReviewPolicy(priorities=frozenset({"urgent"})), ["priority:urgent"]),
        ({"priority": "high"}, review.ReviewPolicy(priorities=frozenset({"urgent"})), []),
        ({"safety_notes": ["GAS LEAK nearby"]}, review.ReviewPolicy(safety_terms=("gas leak",)), ["safety:gas leak"]),
        ({"summary": "arc flash hazard"}, review.ReviewPolicy(safety_terms=("Arc Flash",)), ["safety:Arc Flash"]),
        ({}, review.ReviewPolicy(below_score=0.7), ["score:0.50:0.70"]),
        ({}, review.ReviewPolicy(), []),
    ],
)  # fmt: skip
def test_reasons(fields: dict[str, Any], policy: review.ReviewPolicy, expected: list[str]) -> None:
    analysis = Analysis.model_validate({"equipment_type": "VFD", "confidence": 0.9, **fields})
    assert review.reasons(policy, analysis, 0.5) == expected


def test_corrections_are_parsed_and_validated() -> None:
    analysis = Analysis(equipment_type="VFD", confidence=0.9)
    updates = review.parse_corrections("Priority: HIGH\n\nfault codes: F004, F012\nmodel: -")
    assert updates == {"priority": "high", "fault_codes": ["F004", "F012"], "model": "-"}
    fixed = review.corrected(analysis, updates)
    assert (fixed.priority, fixed.fault_codes, fixed.model) == ("high", ["F004", "F012"], None)
    for bad in ("", "priority high", "colour: red"):
        with pytest.raises(review.CorrectionError):
            review.parse_corrections(bad)
    with pytest.raises(review.CorrectionError):
        review.corrected(analysis, {"priority": "whenever"})


def _answers(bot: Any) -> list[str]:
    return [str(c.get("text", "")) for c in bot.telegram.sent("answerCallbackQuery")]
