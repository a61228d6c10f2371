import json

import pytest

from pipeline.analysis import ANALYSIS_SCHEMA, STANDARD_SAFETY_NOTES, BadAnalysis, build_prompt, parse_analysis

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
    assert 'The technician wrote: """pump 3 tripped"""' in prompt
    assert "The 2 photos" in prompt
    assert "technician wrote" not in build_prompt(None, 1)


def test_parse_bounds_every_field_a_model_fills() -> None:
    huge = {
        **GOOD,
        "model": "M" * 5000,
        "fault_codes": ["F" * 4500, {"nested": 1}, "E\n2"] + [f"X{i}" for i in range(40)],
        "summary": "🔥" * 2000,
        "recommended_actions": "one string, not a list",
        "ratings": {"input": {"voltage": "480 V", "phases": [3, "~"]}, "ip": None, "x" * 99: "y" * 999},
    }
    analysis = parse_analysis(json.dumps(huge))
    assert analysis.model is not None and len(analysis.model) <= 120
    assert len(analysis.fault_codes) == 10 and all(len(c) <= 40 for c in analysis.fault_codes)
    assert "E 2" in analysis.fault_codes, "line breaks never survive in one-line fields"
    assert len(analysis.summary) <= 800
    assert analysis.recommended_actions == ["one string, not a list"]
    assert analysis.ratings["input voltage"] == "480 V" and analysis.ratings["input phases"] == "3, ~"
    assert all(len(k) <= 40 and len(v) <= 80 for k, v in analysis.ratings.items())
    assert "{" not in str(analysis.ratings.values()), "never Python syntax"


def test_parse_strips_control_and_bidi_characters() -> None:
    text = json.dumps({**GOOD, "summary": "Reset\u202e F004\x00 now\x1b[31m", "model": "W22\u2066"})
    analysis = parse_analysis(text)
    assert analysis.summary == "Reset F004 now[31m" and analysis.model == "W22"


@pytest.mark.parametrize(
    ("notes", "kept_standard"),
    [([], True), (["Wear gloves"], True), (["Apply lockout/tagout before opening"], False)],
)
def test_safety_floor_adds_the_standard_notes_when_isolation_is_missing(notes: list[str], kept_standard: bool) -> None:
    analysis = parse_analysis(json.dumps({**GOOD, "safety_notes": notes}))
    assert (analysis.safety_notes[: len(STANDARD_SAFETY_NOTES)] == list(STANDARD_SAFETY_NOTES)) is kept_standard
    assert all(n in analysis.safety_notes for n in notes)


@pytest.mark.parametrize(
    ("sentence", "dropped"),
    [
        ("Safe to open now, no lockout needed.", True),
        ("No need to lock out.", True),
        ("Lockout is not required here.", True),
        ("It can be opened live.", True),
        ("Skip the lockout.", True),
        ("Never work without lockout.", False),
        ("Do not skip lockout.", False),
        ("Without lockout the drive is dangerous.", False),
        ("Check the DC bus fuses.", False),
    ],
)
def test_safety_floor_drops_claims_that_isolation_is_unnecessary(sentence: str, dropped: bool) -> None:
    analysis = parse_analysis(
        json.dumps({**GOOD, "summary": f"Motor OK. {sentence}", "recommended_actions": [sentence]})
    )
    assert (sentence not in analysis.summary) is dropped
    assert (analysis.recommended_actions == []) is dropped
