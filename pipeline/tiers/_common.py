"""What every tier module shares: HTTP status → our error tree, Retry-After parsing, image encoding.

Each provider module still owns its ``_map_error`` (the SDKs raise different classes and carry the status and
headers in different places); once a module has pulled out *status, message, headers* it hands them here so
all five tiers classify a status code the same way:

* 401, 403 → ``TierAuthError`` (the key is broken; retrying elsewhere is right, retrying here is not)
* 408, 409, 5xx, 529 → ``TierUnavailable`` (transient on the provider's side)
* 429 → ``TierRateLimited`` with ``retry_after`` in seconds when the provider said so
* 404, or a 400 that says the model does not exist → ``TierModelNotFound``: the model endpoint was not found,
  which for a generation call means a retired or mistyped model (or a wrong base URL), never this one photo.
  Anthropic answers ``not_found_error``, Gemini ``NOT_FOUND … models/x is not found``, OpenAI 404
  ``model_not_found``, Ollama 404 ``model "x" not found``; xAI has answered a 400 "The model x does not exist".
* any other 4xx → ``TierRejected`` (this request will not succeed here, whatever we wait)
"""

from __future__ import annotations

import base64
import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

from pipeline.errors import (
    TierAuthError,
    TierError,
    TierModelNotFound,
    TierRateLimited,
    TierRejected,
    TierUnavailable,
)
from pipeline.types import PreparedImage

_MODEL_MISSING = re.compile(r"model.{0,120}(does not exist|not found)", re.IGNORECASE | re.DOTALL)
_MAX_MESSAGE = 300  # provider error bodies can be long; the ledger and admin alerts want one line


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).

    Returns None when absent or unparsable; a date in the past gives 0.0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is not a delay
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def short(message: object) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def error_for_status(tier: str, status: int, message: object, headers: Mapping[str, str] | None = None) -> TierError:
    """Classify one HTTP error status into our tree (see module docstring)."""
    text = f"HTTP {status}: {short(message)}"
    if status == 429:
        retry_after = parse_retry_after((headers or {}).get("retry-after"))
        return TierRateLimited(tier, text, retry_after=retry_after)
    if status in (401, 403):
        return TierAuthError(tier, text)
    if status == 404 or (status == 400 and _MODEL_MISSING.search(str(message))):
        return TierModelNotFound(tier, text)
    if status in (408, 409) or status >= 500:
        return TierUnavailable(tier, text)
    return TierRejected(tier, text)


def b64(image: PreparedImage) -> str:
    return base64.b64encode(image.data).decode("ascii")


def data_url(image: PreparedImage) -> str:
    return f"data:{image.mime_type};base64,{b64(image)}"


def as_int(value: Any) -> int:
    """Token counts arrive as int, None or absent; anything else is a provider bug we record as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
