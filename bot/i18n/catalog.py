"""Loading the ``.po`` catalogues and the ``Translator`` handlers call.

Babel parses the ``.po`` source and writes the binary ``.mo`` into memory; the standard library's
``GNUTranslations`` then does lookups and plural rules exactly as gettext does. Each language is loaded once,
on first use (never at import time).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
# The languages offered, by ISO 639-1 code, each named in its own language (for the /language buttons).
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "de": "Deutsch", "pt": "Português"}
# How the models are told which language to write in.
PROMPT_NAMES: dict[str, str] = {"en": "English", "es": "Spanish", "de": "German", "pt": "Portuguese"}
SOURCE_LANGUAGE = "en"


class Translator:
    """One language's texts. ``gettext``/``ngettext`` look up, then fill ``{name}`` placeholders from kwargs."""

    def __init__(self, code: str, translations: gettext.NullTranslations) -> None:
        self.code = code
        self._translations = translations

    @property
    def prompt_name(self) -> str:
        return PROMPT_NAMES[self.code]

    def gettext(self, message: str, /, **values: object) -> str:
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text.format(**values) if values else text


def po_path(code: str) -> Path:
    return LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translator(code: str) -> Translator:
    """The translator for a supported language code; English (the source texts) for anything else."""
    if code not in LANGUAGES or code == SOURCE_LANGUAGE:
        return Translator(SOURCE_LANGUAGE, gettext.NullTranslations())
    with po_path(code).open("rb") as source:
        catalog = read_po(source, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy (unchecked) translation falls back to English
    compiled.seek(0)
    return Translator(code, gettext.GNUTranslations(compiled))
