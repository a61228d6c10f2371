"""Shared fixtures: a migrated database per test (both backends), a fixed clock, a sample analysis, fake CMMSs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmmsconnect import Reporter, WorkOrder, work_order_from_analysis
from tests.fakes.cmms import FakeAtlas, FakeMaintainX, FakeOdoo, FakeWebhookReceiver

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

ANALYSIS: dict[str, Any] = {
    "equipment_type": "VFD",
    "manufacturer": "Allen-Bradley",
    "model": "PowerFlex 525",
    "serial_number": "SN-1234",
    "ratings": {"voltage": "480 V", "power": "7.5 kW"},
    "fault_codes": ["F004 overcurrent"],
    "condition": "fault",
    "summary": "Drive tripped on overcurrent during acceleration.",
    "recommended_actions": ["Check motor insulation", "Increase acceleration time"],
    "safety_notes": ["Lock out before opening the cabinet"],
    "priority": "high",
    "confidence": 0.86,
}


def jpeg(size: tuple[int, int] = (64, 48), *, noise: bool = False) -> bytes:
    """A JPEG; with ``noise`` one that compresses about like a camera photo (gradient plus sensor noise)."""
    image = Image.new("RGB", size, (200, 30, 30))
    if noise:
        gradient, grain = Image.linear_gradient("L").resize(size), Image.effect_noise(size, 40)
        image = Image.merge("RGB", (gradient, grain, Image.blend(gradient, grain, 0.5)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def make_wo(key: str = "tg-1-2", *, photo: bytes | None = None, **overrides: Any) -> WorkOrder:
    return work_order_from_analysis(
        {**ANALYSIS, **overrides},
        key=key,
        photo=photo,
        reporter=Reporter(id=42, name="Dana"),
        chat_id=1,
        message_id=2,
        created_at=T0,
    )


@pytest.fixture
def sessionmaker(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """The shared ``sessions`` fixture (a migrated database on each backend) under this package's name."""
    return sessions


@pytest.fixture
def maintainx() -> Iterator[FakeMaintainX]:
    with FakeMaintainX() as fake:
        yield fake


@pytest.fixture
def atlas() -> Iterator[FakeAtlas]:
    with FakeAtlas() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as fake:
        yield fake


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo()
    fake.start()
    yield fake
    fake.stop()
