"""Settings of the bot, and the composition of every package's settings into one ``AppSettings``.

Built once in ``main()`` (never at import time) and injected; ``.env`` is read from the working directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.i18n.catalog import LANGUAGES
from cmmsconnect.settings import CmmsSettings
from pipeline.settings import PipelineSettings

# Telegram tokens are "<bot id>:<35 characters>"; anything else is a copy-paste accident.
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # setWebhook's secret_token
PRIORITIES = ("low", "medium", "high", "urgent")


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # Telegram's limit across chats, messages (edits included) per second; raise it only against a test server.
    telegram_rate_limit: float = Field(default=30.0, gt=0, le=10_000)
    database_url: str = "sqlite+aiosqlite:///data/plc-copilot.db"
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    free_photos: int = Field(default=3, ge=0)
    # Text answers (follow-ups, equipment questions) per UTC day on the free plan (bot/accounts/questions.py).
    free_questions_per_day: int = Field(default=10, ge=0, le=1000)
    # Photo requests (a photo or an album) per user per minute, admins excepted; 0 = no limit
    # (bot/accounts/ratelimit.py).
    photos_per_minute: int = Field(default=10, ge=0, le=600)
    album_wait_s: float = Field(default=1.5, gt=0, le=10)
    log_level: str = "INFO"
    # The language work orders are written in, whatever the technician's (bot/chat/plant.py): en, es, de or pt.
    plant_language: str = "en"
    # Work orders: file without asking after each analysis, and how often the outbox worker runs.
    auto_work_order: bool = False
    outbox_poll_s: float = Field(default=10.0, ge=0.5, le=3600)
    # Money (bot/accounts/budget.py, bot/accounts/payments.py). Dollar amounts are Decimal here and integer
    # micro-USD everywhere after: never a float. /budget changes are stored in the database and override these defaults.
    stars_monthly_price: int = Field(default=250, ge=1, le=10000)  # Telegram caps subscriptions at 10000 Stars
    daily_budget_usd: Decimal = Field(default=Decimal("5.00"), ge=0, decimal_places=6)
    user_daily_budget_usd: Decimal | None = Field(default=None, ge=0, decimal_places=6)
    budget_alert_usd: Decimal = Field(default=Decimal("10.00"), ge=0, decimal_places=6)
    cost_baseline_model: str = "claude-haiku-5-5"
    # The fleet (README "Deployment"): webhook ingress and workers on PostgreSQL (bot/fleet/).
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    worker_concurrency: int = Field(default=16, ge=1, le=512)
    tier_max_concurrent: int = Field(default=8, ge=0, le=1000)
    fleet_stalled_after_s: float = Field(default=30.0, ge=3, le=3600)
    eval_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # bot/quality/sampling.py
    eval_daily_budget_usd: Decimal = Field(default=Decimal("0.50"), ge=0, decimal_places=6)
    canary_percent: float = Field(default=0.0, ge=0.0, le=100.0)  # share of users on CANARY_CASCADE
    # Human review of critical work orders (bot/quality/review.py): any of these holds a work order for an admin.
    review_priorities: Annotated[list[str], NoDecode] = Field(default_factory=list)
    review_safety_terms: Annotated[list[str], NoDecode] = Field(default_factory=list)
    review_below_score: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
            except ValueError:
                raise ValueError("ADMIN_USER_IDS must be comma-separated Telegram user ids, e.g. 12345,67890") from None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_alphabet(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

    @field_validator("review_priorities", "review_safety_terms", mode="before")
    @classmethod
    def _split_words(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("review_priorities")
    @classmethod
    def _known_priorities(cls, value: list[str]) -> list[str]:
        wrong = [p for p in value if p.lower() not in PRIORITIES]
        if wrong:
            raise ValueError(f"REVIEW_PRIORITIES takes {', '.join(PRIORITIES)}; not {', '.join(wrong)}")
        return [p.lower() for p in value]

    @field_validator("plant_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        code = value.strip().lower()
        if code not in LANGUAGES:
            raise ValueError(f"PLANT_LANGUAGE must be one of {', '.join(LANGUAGES)} (got {value!r})")
        return code

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def token_problem(self) -> str | None:
        """Why the token cannot be used, or None."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value().strip():
            return (
                "TELEGRAM_BOT_TOKEN is not set. Put it in .env (copy .env.example) or the environment. "
                "Get a token from @BotFather in Telegram: send /newbot and follow the steps."
            )
        if not TOKEN_PATTERN.match(self.telegram_bot_token.get_secret_value().strip()):
            return (
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected '<digits>:<35 characters>' as "
                "@BotFather shows it). Check .env for quotes or spaces."
            )
        return None


@dataclass(frozen=True)
class AppSettings:
    bot: BotSettings
    pipeline: PipelineSettings
    cmms: CmmsSettings


def load_settings(env_file: str | None = ".env") -> AppSettings:
    """Read every package's settings from the environment and ``env_file`` (None: environment only)."""
    return AppSettings(
        bot=BotSettings(_env_file=env_file),
        pipeline=PipelineSettings(_env_file=env_file),
        cmms=CmmsSettings(_env_file=env_file),
    )
