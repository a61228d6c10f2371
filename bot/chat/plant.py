"""Work orders in the plant's language (``PLANT_LANGUAGE``), whatever language the technician reads.

A work order is read by planners and the next shift, not only by the technician who sent the photo, so it is
written in one language per plant: the fixed words (``Labels``) come from the bot's catalogue in that
language, and the free text the model wrote for the technician (summary, steps, safety notes, the question and
its answer) is translated into it through the pipeline's text path when the card was written in another
language. The translation is a priced call like any other (budget caps, ledger; it is the plant's requirement,
so it does not spend the technician's free questions). If it fails, the work order is still filed, in the
technician's language, with a line saying so: a work order that is not filed is worse than one in Spanish.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot import i18n
from bot.i18n import N_
from bot.runtime.services import Services
from cmmsconnect import Labels
from pipeline import PipelineError

log = logging.getLogger(__name__)

# cmmsconnect.Labels field → its English text, marked for the catalogue (a test keeps them equal to Labels()).
LABELS: dict[str, str] = {
    "question": N_("Question: {text}"),
    "answer": N_("Answer: {text}"),
    "equipment": N_("Equipment: {name}"),
    "doubtful": N_("{names} unverified: read by AI, not confirmed on the nameplate"),
    "unverified": N_("unverified: read by AI, not confirmed on the nameplate"),
    "manufacturer": N_("manufacturer"),
    "model": N_("model"),
    "and_": N_("and"),
    "serial": N_("Serial number: {serial}"),
    "serial_unread": N_("Serial number: not read from the photo"),
    "asset": N_("Asset: {asset} (equipment register, identified by the serial on its nameplate)"),
    "ratings": N_("Ratings: {ratings}"),
    "fault_codes": N_("Fault codes: {codes}"),
    "condition": N_("Condition: {condition}. Priority suggested: {priority}."),
    "actions": N_("Recommended actions:"),
    "safety": N_("Safety notes:"),
    "reported_by": N_("Reported by {name} (Telegram user {id})"),
    "in_chat": N_(", chat {chat}"),
    "in_message": N_(" message {message}"),
    "ai_notice": N_("Produced with AI assistance from a photo; verify on site before acting on it."),
    "inspection": N_("inspection"),
    "condition_title": N_("condition {condition}"),
    "follow_ups": N_("Follow-up questions:"),
}
UNTRANSLATED = N_("(Written in {language}: the translation into {plant} failed.)")

# The free text of an analysis a work order carries; identifiers, codes and ratings are never translated.
_FREE_TEXT = ("summary", "recommended_actions", "safety_notes", "answer")


def labels(code: str) -> Labels:
    """The work order's fixed words in the language ``code`` (the catalogue's; English when untranslated)."""
    tr = i18n.translator(code)
    return Labels(**{name: tr.gettext(text) for name, text in LABELS.items()})  # placeholders stay unfilled


async def in_plant_language(
    services: Services,
    fields: dict[str, Any],
    question: str | None,
    *,
    written_in: str | None,
    user_id: int,
    follow_ups: Sequence[tuple[str, str]] = (),
) -> tuple[dict[str, Any], str | None, list[tuple[str, str]]]:
    """``fields``, ``question`` and ``follow_ups`` with their free text in the plant's language (unchanged when
    they already are); on failure the originals with a note in front of the summary."""
    plant = services.settings.bot.plant_language
    source = written_in if written_in in i18n.LANGUAGES else "en"
    pairs = list(follow_ups)
    if source == plant:
        return fields, question, pairs
    texts: dict[str, str | list[str]] = {}
    for key in _FREE_TEXT:
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            texts[key] = value
        elif isinstance(value, list) and value:
            texts[key] = [str(v) for v in value]
    if question and question.strip():
        texts["question"] = question
    if pairs:
        texts["follow_up_questions"] = [q for q, _ in pairs]
        texts["follow_up_answers"] = [a for _, a in pairs]
    if not texts:
        return fields, question, pairs
    names = i18n.PROMPT_NAMES
    try:
        translated, cost = await services.pipeline.translate(
            texts, source=names[source], target=names[plant], user_id=user_id, guard=services.guard
        )
    except PipelineError:
        log.warning("work order not translated from %s into %s; filing it as written", source, plant, exc_info=True)
        note = i18n.translator(plant).gettext(
            UNTRANSLATED, language=i18n.LANGUAGES[source], plant=i18n.LANGUAGES[plant]
        )
        summary = str(fields.get("summary") or "")
        return {**fields, "summary": f"{note} {summary}".strip()}, question, pairs
    log.info("work order translated from %s into %s for %d µUSD", source, plant, cost)
    out = {**fields, **{k: v for k, v in translated.items() if k in _FREE_TEXT}}
    asked = translated.get("question")
    questions, answers = translated.get("follow_up_questions", []), translated.get("follow_up_answers", [])
    if isinstance(questions, list) and isinstance(answers, list) and len(questions) == len(answers) == len(pairs):
        pairs = list(zip(questions, answers, strict=True))
    return out, asked if isinstance(asked, str) else question, pairs
