"""Card fitting as Telegram measures it (UTF-16 units of visible text), checked by the fake's HTML parser."""

from __future__ import annotations

import pytest

from bot.chat import render
from pipeline.types import Analysis, Receipt
from tests.fakes.telegram_html import plain_text

RECEIPT = Receipt(
    request_id="r", source="model", tier="gemini", model="m", confidence=0.9, cost_micro_usd=1, duration_ms=1,
    attempts=[],
)  # fmt: skip


def _analysis(**fields: object) -> Analysis:
    base: dict[str, object] = {"equipment_type": "VFD", "summary": "ok", "confidence": 0.9}
    return Analysis.model_validate({**base, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"summary": "🔥" * 1999},
        {"fault_codes": ["F" * 2000, "E\n<code>"], "serial_number": "S\nN" * 40},
        {"recommended_actions": ["x " * 400] * 30, "safety_notes": ["careful " * 50] * 30},
        {"ratings": {f"k{i}" * 10: "v" * 500 for i in range(40)}, "summary": "a\n" * 900},
    ],
)
def test_card_fits_telegram_and_keeps_markup_whole(fields: dict[str, object]) -> None:
    html = render.card(_analysis(**fields), RECEIPT)
    text = plain_text(html)  # raises on an unclosed or misnested tag
    assert render.utf16_len(text) <= render.MAX_MESSAGE
    assert text.startswith("🔧 VFD") and text.rstrip().endswith("s")  # the receipt line ("… 0.0 s") stays


def test_short_cards_are_not_marked_shortened_long_ones_are() -> None:
    assert "shortened" not in render.card(_analysis(), RECEIPT)
    long = render.card(_analysis(recommended_actions=["x " * 150] * 8, safety_notes=["y " * 150] * 8), RECEIPT)
    assert "shortened" in long
    assert long.count("• ") == 8, "safety notes outlast the later actions"


def test_control_and_bidi_characters_never_reach_the_card() -> None:
    html = render.card(_analysis(summary="a\u202eb\x00c", model="M\u2067"), RECEIPT)
    assert "\u202e" not in html and "\x00" not in html and "\u2067" not in html


def test_split_plain_respects_utf16() -> None:
    pieces = render.split_plain("🔥" * 3000 + "\nend")
    assert len(pieces) == 2 and all(render.utf16_len(p) <= render.MAX_MESSAGE for p in pieces)
