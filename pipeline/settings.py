"""Settings of the pipeline package (environment variables documented in .env.example)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PipelineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # Local tier: Ollama on the plant laptop. Empty host disables the tier.
    ollama_host: str = ""
    ollama_model: str = "granite3.2-vision:2b"  # Apache-2.0: the bot is a paid service
    ollama_timeout_s: float = 45.0
    ollama_connect_timeout_s: float = 1.0

    gemini_api_key: SecretStr | None = None
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_model: str = "gemini-2.5-flash-lite"

    xai_api_key: SecretStr | None = None
    xai_base_url: str = "https://api.x.ai/v1"
    xai_model: str = "grok-4.3"

    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str = "https://api.anthropic.com"
    anthropic_model: str = "claude-haiku-5-5"

    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4.1-mini"

    # Order and acceptance thresholds; the last tier needs none. Cheapest first (README "Default models"):
    # free local, Gemini Flash-Lite, Claude Haiku 5.5, then Grok 4.3, the dearest per photo, last.
    cascade: str = "ollama:0.80,gemini:0.70,claude:0.80,grok"
    canary_cascade: str = ""  # a candidate CASCADE for CANARY_PERCENT of users (bot/quality/canary.py)
    cloud_timeout_s: float = 30.0
    request_timeout_s: float = 60.0
    cooldown_s: float = 60.0

    cache_max_distance: int = Field(default=8, ge=0, le=32)
    cache_ttl_hours: float = 24.0

    max_photo_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 60_000_000
    # Decode threads, shared round-robin between users (pipeline/fairpool.py); also bounds decode memory.
    intake_workers: int = Field(default=2, ge=1, le=32)

    prices_path: Path | None = None

    # The local nameplate reader (OCR, free, offline): its text checks every model answer and answers alone
    # when no tier can. Off: answers are judged on the model's confidence only, and no unit is recognised.
    plate_reader: bool = True
    plate_reader_threads: int = Field(default=1, ge=1, le=16)
    plate_reader_concurrency: int = Field(default=1, ge=1, le=8)  # photos read at once (~0.5 GB each)
    plate_reader_max_side: int = Field(default=1280, ge=320, le=4096)
