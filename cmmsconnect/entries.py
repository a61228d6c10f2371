"""Read-only views of outbox rows handed to the bot (never ORM objects, which would tie it to a session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cmmsconnect.models import OutboxRow
from cmmsconnect.workorder import Reporter, WorkOrder

ReportStatus = Literal["created", "queued-retry", "dead", "rejected"]


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    key: str
    backend: str
    status: str  # pending | created | delivered | failed | dead (models.OutboxStatus)
    title: str
    reporter_id: int
    chat_id: int | None
    message_id: int | None
    remote_id: str | None
    remote_url: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    is_new: bool = False  # True only from the submit that inserted the row

    @classmethod
    def of(cls, row: OutboxRow, *, is_new: bool = False) -> OutboxEntry:
        return cls(
            id=row.id,
            key=row.key,
            backend=row.backend,
            status=row.status,
            title=row.title,
            reporter_id=row.reporter_id,
            chat_id=row.chat_id,
            message_id=row.message_id,
            remote_id=row.remote_id,
            remote_url=row.remote_url,
            attempts=row.attempts,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            is_new=is_new,
        )


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery attempt did, so the bot can edit the Telegram status message it sent at submit."""

    entry_id: int
    key: str
    status: ReportStatus
    chat_id: int | None
    message_id: int | None
    reporter_id: int
    title: str
    attempts: int
    remote_id: str | None = None
    url: str | None = None
    next_attempt_at: datetime | None = None
    error: str | None = None
    photo_attached: bool = False


def work_order_to_json(wo: WorkOrder) -> dict[str, Any]:
    """The work order as stored on the outbox row; the photo is kept in its own column."""
    return {
        "key": wo.key,
        "title": wo.title,
        "description": wo.description,
        "priority": wo.priority,
        "reporter": {"id": wo.reporter.id, "name": wo.reporter.name},
        "created_at": wo.created_at.isoformat(),
        "equipment_type": wo.equipment_type,
        "manufacturer": wo.manufacturer,
        "model": wo.model,
        "serial_number": wo.serial_number,
        "fault_codes": list(wo.fault_codes),
        "chat_id": wo.chat_id,
        "message_id": wo.message_id,
        "asset": wo.asset,
    }


def work_order_from_json(data: dict[str, Any], photo: bytes | None) -> WorkOrder:
    return WorkOrder(
        key=data["key"],
        title=data["title"],
        description=data["description"],
        priority=data["priority"],
        reporter=Reporter(id=int(data["reporter"]["id"]), name=str(data["reporter"]["name"])),
        created_at=datetime.fromisoformat(data["created_at"]),
        equipment_type=data.get("equipment_type"),
        manufacturer=data.get("manufacturer"),
        model=data.get("model"),
        serial_number=data.get("serial_number"),
        fault_codes=tuple(data.get("fault_codes") or ()),
        photo=photo,
        chat_id=data.get("chat_id"),
        message_id=data.get("message_id"),
        asset=data.get("asset"),
    )
