"""Questions and translations: words in, words out, through the tiers a photo goes to.

A question (``questions.py`` words the prompt and reads the reply) or a work order's translation is a small
text-only request to the cascade's tiers in ``CASCADE`` order, each called as a photo's tiers are
(``tiercall.py``): the same breakers (a tier cooling down is skipped; a failure here cools it down for photos
too, fleet-wide), the same prices, the same spending guard before every cloud call, the same call slots and the
same ledger. The first reply that parses is taken; an error or an unparsable reply falls through to the next
tier. There is no confidence escalation: a question costs a fraction of a photo and the card it refers to
already carries the analysis's own certainty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.cascade import Cascade
from pipeline.errors import nobody_answered
from pipeline.ledger import record_attempts
from pipeline.questions import (
    MAX_OUTPUT_TOKENS,
    QUESTION_SCHEMA,
    TRANSLATION_PREFIX,
    Answered,
    Texts,
    build_question_prompt,
    build_translation_prompt,
    new_request_id,
    parse_answer,
    translation_parser,
    translation_schema,
)
from pipeline.types import Analysis, Attempt, SpendingGuard, TierRequest

T = TypeVar("T")


@dataclass
class _Asked(Generic[T]):
    """The tiers asked for one request, in order, and the first reply that parsed (None: none did)."""

    attempts: list[Attempt] = field(default_factory=list)
    value: T | None = None
    tier: str | None = None
    model: str | None = None
    budget_refused: bool = False


class TextPath:
    def __init__(
        self,
        cascade: Cascade,
        sessions: async_sessionmaker[AsyncSession],
        *,
        timeout_s: float,
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self._cascade = cascade
        self._sessions = sessions
        self._timeout_s = timeout_s
        self._clock = clock
        self._now = now

    async def ask(
        self,
        question: str,
        *,
        context: Analysis | None = None,
        caption: str | None = None,
        user_id: int | None = None,
        guard: SpendingGuard | None = None,
        language: str | None = None,
    ) -> Answered:
        """Answer a question in words: about ``context`` (the analysis of a card, with ``caption``, the note its
        photo came with) or on its own. Raises ``QuestionTooLong`` before any call, ``NoTierAvailable`` when no
        tier could be asked and ``AnalysisFailed`` when every tier asked failed."""
        started = self._clock()
        prompt = build_question_prompt(question, context=context, caption=caption, language=language)
        request_id = new_request_id()
        asked = await self._first(
            prompt, request_id, started, user_id=user_id, guard=guard, schema=QUESTION_SCHEMA, parse=parse_answer,
            max_output_tokens=MAX_OUTPUT_TOKENS,
        )  # fmt: skip
        answer, tier, model = asked.value, asked.tier, asked.model
        if answer is None or tier is None or model is None:
            raise nobody_answered(asked.attempts, budget_refused=asked.budget_refused)
        return Answered(
            text=answer.answer,
            confidence=answer.confidence,
            request_id=request_id,
            tier=tier,
            model=model,
            cost_micro_usd=sum(a.cost_micro_usd for a in asked.attempts),
            duration_ms=int((self._clock() - started) * 1000),
            attempts=asked.attempts,
        )

    async def translate(
        self,
        texts: Texts,
        *,
        source: str,
        target: str,
        user_id: int | None = None,
        guard: SpendingGuard | None = None,
    ) -> tuple[Texts, int]:
        """``texts`` (field → text or list) from ``source`` into ``target`` (English language names); returns
        the translation and its cost in µUSD. Raises like ``ask``."""
        started = self._clock()
        prompt = build_translation_prompt(texts, source=source, target=target)
        size = sum(len(v) if isinstance(v, str) else sum(map(len, v)) for v in texts.values())
        asked = await self._first(
            prompt, new_request_id(TRANSLATION_PREFIX), started, user_id=user_id, guard=guard,
            schema=translation_schema(texts), parse=translation_parser(texts), max_output_tokens=min(4000, 200 + size),
        )  # fmt: skip
        if asked.value is None:
            raise nobody_answered(asked.attempts, budget_refused=asked.budget_refused)
        return asked.value, sum(a.cost_micro_usd for a in asked.attempts)

    async def _first(
        self,
        prompt: str,
        request_id: str,
        started: float,
        *,
        user_id: int | None,
        guard: SpendingGuard | None,
        schema: dict[str, Any],
        parse: Callable[[str], T],
        max_output_tokens: int,
    ) -> _Asked[T]:
        """Ask the cascade's tiers in order until one's reply parses, and record every attempt in the ledger."""
        request = TierRequest([], prompt, schema, max_output_tokens)
        asked: _Asked[T] = _Asked()
        for step in self._cascade.steps:
            call = await self._cascade.caller.call(
                step.tier, request, parse=parse, user_id=user_id, guard=guard, deadline=started + self._timeout_s
            )
            asked.budget_refused = asked.budget_refused or call.budget_refused
            if call.value is None:
                asked.attempts.append(call.attempt)
                if call.out_of_time:
                    break
                continue
            asked.attempts.append(replace(call.attempt, confidence=getattr(call.value, "confidence", None)))
            asked.value, asked.tier, asked.model = call.value, call.attempt.tier, call.model
            break
        if asked.attempts:
            async with self._sessions.begin() as session:
                record_attempts(
                    session, request_id=request_id, user_id=user_id, attempts=asked.attempts, now=self._now()
                )
        return asked
