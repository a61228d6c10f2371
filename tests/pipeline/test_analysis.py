import json

import pytest

from pipeline.analysis import ANALYSIS_SCHEMA, BadAnalysis, build_prompt, parse_analysis

GOOD = {
    "equipment_type": "motor",
    "manufacturer": "WEG",
    "model": "W22",
    "serial_number": "",
    "ratings": {"power": "7.5 kW", "rpm": 1760},
    "fault_codes": [],
    "condition": "normal",
    "summary": "WEG W22 motor nameplate.",
    "recommended_actions": [],
    "safety_notes": [],
    "priority": "low",
    "confidence": 0.92,
    "extra_key": "ignored",
}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD) + "\n```",
        "Here is the analysis:\n```\n" + json.dumps(GOOD) + "\n```\nHope it helps.",
        "Sure! " + json.dumps(GOOD),
    ],
)
def test_parse_accepts_plain_fenced_and_wrapped_json(text: str) -> None:
    analysis = parse_analysis(text)
    assert analysis.manufacturer == "WEG"
    assert analysis.serial_number is None  # blank means not readable
    assert analysis.ratings == {"power": "7.5 kW", "rpm": "1760"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty reply"),
        ("I cannot see any equipment.", "unparsable"),
        ("{not json}", "unparsable"),
        ("[1, 2]", "unparsable"),
        (json.dumps({**GOOD, "confidence": 1.7}), "schema-invalid: confidence"),
        (json.dumps({**GOOD, "condition": "broken"}), "schema-invalid: condition"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "equipment_type"}), "schema-invalid: equipment_type"),
    ],
)
def test_parse_rejects(text: str, message: str) -> None:
    with pytest.raises(BadAnalysis, match=message):
        parse_analysis(text)


def test_schema_requires_what_the_model_must_always_say() -> None:
    assert set(ANALYSIS_SCHEMA["required"]) == {"equipment_type", "condition", "summary", "priority", "confidence"}


def test_prompt_quotes_caption_and_counts_photos() -> None:
    prompt = build_prompt("  pump 3 tripped ", 2)
    assert 'The technician wrote: "pump 3 tripped"' in prompt
    assert "The 2 photos" in prompt
    assert "technician wrote" not in build_prompt(None, 1)
