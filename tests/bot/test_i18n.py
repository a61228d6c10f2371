"""The message catalogue: up to date with the code, complete in every language, placeholders intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import bot
from bot.i18n import LANGUAGES, choose_language, translator
from bot.i18n.catalog import LOCALES, po_path

PLACEHOLDER = re.compile(r"\{(\w*)\}")
TRANSLATED = [code for code in LANGUAGES if code != "en"]


def _ids(message_id: str | tuple[str, ...]) -> tuple[str, ...]:
    return message_id if isinstance(message_id, tuple) else (message_id,)


def source_messages() -> set[str | tuple[str, ...]]:
    found = extract_from_dir(
        Path(bot.__file__).parent,
        method_map=[("**.py", "python")],
        keywords={"gettext": None, "ngettext": (1, 2), "N_": None},
    )
    return {message for _file, _line, message, _comments, _context in found}


def test_the_template_holds_exactly_the_strings_in_the_code() -> None:
    with (LOCALES / "messages.pot").open("rb") as source:
        template = {m.id for m in read_po(source) if m.id}
    assert template == source_messages(), "run `make messages` and translate the new entries"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_string_is_translated_with_the_same_placeholders(code: str) -> None:
    with po_path(code).open("rb") as source:
        catalog = read_po(source, locale=code)
    assert {m.id for m in catalog if m.id} == source_messages(), f"{code}: run `make messages`"
    for message in catalog:
        if not message.id:
            continue
        strings = _ids(message.string)
        assert all(s.strip() for s in strings) and not message.fuzzy, f"{code}: untranslated {message.id!r}"
        english = _ids(message.id)[-1]  # a missing placeholder loses a value; an unknown one raises KeyError
        for text in strings:
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(english)), f"{code}: {text!r}"
            for tag in ("b", "i"):
                assert text.count(f"<{tag}>") == english.count(f"<{tag}>") == text.count(f"</{tag}>"), text


@pytest.mark.parametrize(
    ("chosen", "telegram", "expected"),
    [
        (None, None, "en"),
        (None, "es", "es"),
        (None, "pt-br", "pt"),
        (None, "de-AT", "de"),
        (None, "fr", "en"),  # not offered: English
        ("de", "es", "de"),  # /language wins over Telegram's
        ("xx", "pt", "pt"),  # a stored code no longer offered falls through
        ("", "es", "es"),
    ],
)
def test_choose_language(chosen: str | None, telegram: str | None, expected: str) -> None:
    assert choose_language(chosen, telegram) == expected


def test_translator_plurals_and_fallback() -> None:
    de = translator("de")
    assert (
        de.ngettext("🎟 {n} free analysis left.", "🎟 {n} free analyses left.", 1, n=1) == "🎟 Noch 1 kostenlose Analyse."
    )
    assert (
        de.ngettext("🎟 {n} free analysis left.", "🎟 {n} free analyses left.", 2, n=2) == "🎟 Noch 2 kostenlose Analysen."
    )
    assert translator("fr").code == "en" and translator("fr").gettext("Keep this answer") == "Keep this answer"
    assert translator("es").prompt_name == "Spanish"
