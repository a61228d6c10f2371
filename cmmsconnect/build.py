"""Pick and construct the connector CMMS_BACKEND names (the bot calls this once in post_init)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmmsconnect.connector import Connector
from cmmsconnect.connectors.atlas import AtlasConnector
from cmmsconnect.connectors.local import LocalConnector
from cmmsconnect.connectors.maintainx import MaintainXConnector
from cmmsconnect.connectors.odoo import OdooConnector
from cmmsconnect.connectors.webhook import WebhookConnector
from cmmsconnect.settings import CmmsSettings


def _secret(value: object) -> str:
    get = getattr(value, "get_secret_value", None)
    return str(get()) if callable(get) else ""


def build_connector(settings: CmmsSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> Connector:
    """The configured connector; ValueError naming the missing variables when the backend is not set up."""
    if missing := settings.missing():
        raise ValueError(f"CMMS_BACKEND={settings.backend} needs {', '.join(missing)}")
    timeout_s, connect_s = settings.timeout_s, settings.connect_timeout_s
    match settings.backend:
        case "local":
            return LocalConnector(sessionmaker)
        case "webhook":
            return WebhookConnector(
                settings.webhook_url,
                _secret(settings.webhook_secret),
                max_photo_bytes=settings.webhook_max_photo_bytes,
                timeout_s=timeout_s,
                connect_timeout_s=connect_s,
            )
        case "maintainx":
            return MaintainXConnector(
                settings.maintainx_base_url,
                _secret(settings.maintainx_api_key),
                organization_id=settings.maintainx_organization_id,
                app_url=settings.maintainx_app_url,
                timeout_s=timeout_s,
                connect_timeout_s=connect_s,
            )
        case "atlas":
            return AtlasConnector(
                settings.atlas_base_url,
                settings.atlas_email,
                _secret(settings.atlas_password),
                app_url=settings.atlas_app_url,
                timeout_s=timeout_s,
                connect_timeout_s=connect_s,
            )
        case "odoo":
            return OdooConnector(
                settings.odoo_url,
                settings.odoo_db,
                settings.odoo_login,
                _secret(settings.odoo_api_key),
                timeout_s=timeout_s,
                connect_timeout_s=connect_s,
            )
