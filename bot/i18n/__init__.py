"""The user's language: a gettext message catalogue (English, Spanish, German, Portuguese) and who gets which.

Texts are written in English in the code and marked for translation by calling a ``Translator``::

    tr = await i18n.translator_for(session, user_id)        # or i18n.translator("es")
    tr.gettext("You have {n} free photos left.", n=3)     # looks up, then fills {placeholders}
    tr.ngettext("{n} analysis left", "{n} analyses left", n, n=n)

``make messages`` extracts every ``gettext``/``ngettext``/``N_`` string into ``locales/messages.pot`` and
merges it into each ``locales/<lang>/LC_MESSAGES/messages.po``; translators edit the ``.po`` files. The
``.po`` sources are compiled in memory when a language is first used (Babel), so a fresh clone needs no build
step. A test fails when the catalogue is out of date, when a string is untranslated, or when a translation's
``{placeholders}`` differ from the English ones.

Which language: the one the user chose with /language, else Telegram's ``language_code`` when supported,
else English (``choose_language``, pure).
"""

from bot.i18n.catalog import LANGUAGES, PROMPT_NAMES, Translator, translator
from bot.i18n.choice import choose_language, translator_for

__all__ = ["LANGUAGES", "N_", "PROMPT_NAMES", "Translator", "choose_language", "translator", "translator_for"]


def N_(message: str) -> str:
    """Marks a string for the catalogue where it is defined; translate it where it is shown."""
    return message
