"""Logging: one line per event with the update's correlation id; secrets never reach a log line.

The httpx logger prints request URLs, and Telegram puts the bot token in every URL, so httpx is held at
WARNING and every record also passes a filter that masks the token and API keys wherever they appear.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterable

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")

_TOKEN_IN_TEXT = re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{30,}\b")
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(cid)s] %(message)s"


class RedactingFilter(logging.Filter):
    """Adds ``cid`` to records and masks known secrets and anything shaped like a bot token."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
        return _TOKEN_IN_TEXT.sub("[token]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.cid = correlation_id.get()
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: str, secrets: Iterable[str]) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter(secrets))
    root.handlers[:] = [handler]
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "apscheduler", "google_genai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
