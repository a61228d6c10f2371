"""CmmsSettings from the environment, and build_connector picking the backend."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmmsconnect import CmmsSettings, build_connector
from cmmsconnect.connectors.atlas import AtlasConnector
from cmmsconnect.connectors.local import LocalConnector
from cmmsconnect.connectors.maintainx import MaintainXConnector
from cmmsconnect.connectors.odoo import OdooConnector
from cmmsconnect.connectors.webhook import WebhookConnector


def settings(**values: object) -> CmmsSettings:
    return CmmsSettings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults() -> None:
    config = settings()
    assert config.backend == "local" and config.dead_after_hours == 72 and config.missing() == []
    assert config.maintainx_base_url == "https://api.getmaintainx.com/v1"


def test_from_environment_with_secrets_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMMS_BACKEND", "maintainx")
    monkeypatch.setenv("CMMS_MAINTAINX_API_KEY", "very-secret")
    monkeypatch.setenv("CMMS_DEAD_AFTER_HOURS", "24")
    config = settings()
    assert config.backend == "maintainx" and config.dead_after_hours == 24
    assert "very-secret" not in repr(config)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="backend"):
        settings(backend="sap")


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({}, LocalConnector),
        ({"backend": "webhook", "webhook_url": "http://127.0.0.1:9/h", "webhook_secret": "s"}, WebhookConnector),
        ({"backend": "maintainx", "maintainx_api_key": "k"}, MaintainXConnector),
        (
            {"backend": "atlas", "atlas_base_url": "http://127.0.0.1:9", "atlas_email": "a@b", "atlas_password": "p"},
            AtlasConnector,
        ),
        (
            {
                "backend": "odoo",
                "odoo_url": "http://127.0.0.1:9",
                "odoo_db": "d",
                "odoo_login": "l",
                "odoo_api_key": "k",
            },
            OdooConnector,
        ),
    ],
)
async def test_build_connector(
    values: dict[str, object], kind: type, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    connector = build_connector(settings(**values), sessionmaker)
    assert isinstance(connector, kind) and connector.name == (values.get("backend") or "local")
    await connector.aclose()


def test_missing_settings_are_named() -> None:
    with pytest.raises(ValueError, match="CMMS_ATLAS_EMAIL, CMMS_ATLAS_PASSWORD"):
        build_connector(settings(backend="atlas", atlas_base_url="http://x"), None)  # type: ignore[arg-type]
