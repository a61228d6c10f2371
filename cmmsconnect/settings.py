"""Settings of cmmsconnect: every variable is ``CMMS_*`` (documented in the bot's .env.example).

Built once by the bot and injected; nothing here is read at import time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["local", "webhook", "maintainx", "atlas", "odoo"]


class CmmsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CMMS_", env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    backend: Backend = "local"

    # Outbox worker
    dead_after_hours: float = Field(default=72.0, gt=0)  # after this a row is dead and the admins are alerted
    backoff_base_s: float = Field(default=5.0, gt=0)
    backoff_cap_s: float = Field(default=1800.0, gt=0)
    worker_concurrency: int = Field(default=4, ge=1)
    worker_batch: int = Field(default=20, ge=1)
    lease_s: float = Field(default=300.0, gt=0)  # a claimed row is left alone this long (crash recovery)

    # HTTP / RPC
    timeout_s: float = Field(default=20.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)

    webhook_url: str = ""
    webhook_secret: SecretStr | None = None
    webhook_max_photo_bytes: int = 1_000_000  # the photo travels inline as base64

    maintainx_base_url: str = "https://api.getmaintainx.com/v1"
    maintainx_app_url: str = "https://app.getmaintainx.com"
    maintainx_api_key: SecretStr | None = None
    maintainx_organization_id: int | None = None  # only for multi-organization tokens

    atlas_base_url: str = ""  # the API root, e.g. https://atlas.example.com/api
    atlas_app_url: str = ""  # the web app, for links in Telegram; empty: no link
    atlas_email: str = ""
    atlas_password: SecretStr | None = None

    odoo_url: str = ""
    odoo_db: str = ""
    odoo_login: str = ""
    odoo_api_key: SecretStr | None = None

    def missing(self) -> list[str]:
        """Names of the variables the chosen backend needs but that are empty."""
        needed: dict[str, dict[str, object]] = {
            "local": {},
            "webhook": {"CMMS_WEBHOOK_URL": self.webhook_url, "CMMS_WEBHOOK_SECRET": self.webhook_secret},
            "maintainx": {"CMMS_MAINTAINX_API_KEY": self.maintainx_api_key},
            "atlas": {
                "CMMS_ATLAS_BASE_URL": self.atlas_base_url,
                "CMMS_ATLAS_EMAIL": self.atlas_email,
                "CMMS_ATLAS_PASSWORD": self.atlas_password,
            },
            "odoo": {
                "CMMS_ODOO_URL": self.odoo_url,
                "CMMS_ODOO_DB": self.odoo_db,
                "CMMS_ODOO_LOGIN": self.odoo_login,
                "CMMS_ODOO_API_KEY": self.odoo_api_key,
            },
        }
        return [name for name, value in needed[self.backend].items() if not value]
