"""The outbox: nothing lost, nothing twice — against real connectors talking to fake CMMSs on loopback."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmmsconnect import CmmsSettings, Connector, DeliveryReport, Outbox, WorkOrder
from cmmsconnect.connectors.atlas import AtlasConnector
from cmmsconnect.connectors.local import LocalConnector
from cmmsconnect.connectors.maintainx import MaintainXConnector
from cmmsconnect.connectors.odoo import OdooConnector
from cmmsconnect.connectors.webhook import WebhookConnector
from cmmsconnect.delivery import Worker
from cmmsconnect.models import OutboxRow
from tests.cmms.conftest import T0, jpeg, make_wo
from tests.fakes.cmms import SLOW, FakeAtlas, FakeMaintainX, FakeOdoo, FakeWebhookReceiver
from tests.fakes.http import Reply

Maker = async_sessionmaker[AsyncSession]


def outbox(sessionmaker: Maker, connector: Connector, **settings: Any) -> Outbox:
    config = CmmsSettings(_env_file=None, **settings)  # type: ignore[call-arg]
    return Outbox(sessionmaker, connector, config, clock=lambda: T0, rand=lambda: 0.0)


async def submit(sessionmaker: Maker, box: Outbox, wo: WorkOrder) -> int:
    async with sessionmaker.begin() as session:
        return (await box.submit(session, wo)).id


async def run_out_leases(sessionmaker: Maker) -> None:
    """What the passing of ``lease_s`` does: leases are on the database's clock, which tests cannot move."""
    async with sessionmaker.begin() as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(update(OutboxRow).where(OutboxRow.locked_until.is_not(None)).values(locked_until=past))


def mx(fake: FakeMaintainX, timeout_s: float = 5.0) -> MaintainXConnector:
    return MaintainXConnector(fake.base_url, fake.api_key, timeout_s=timeout_s)


async def test_submit_joins_the_callers_transaction(sessionmaker: Maker) -> None:
    box = outbox(sessionmaker, LocalConnector(sessionmaker))
    async with sessionmaker() as session:
        await box.submit(session, make_wo())
        await session.rollback()
    assert await box.pending_and_dead() == []
    async with sessionmaker.begin() as session:
        entry = await box.submit(session, make_wo())
    assert entry.is_new and entry.status == "pending" and entry.next_attempt_at == T0


async def test_duplicate_submit_returns_the_first_row(sessionmaker: Maker) -> None:
    box = outbox(sessionmaker, LocalConnector(sessionmaker))
    async with sessionmaker.begin() as session:
        first = await box.submit(session, make_wo())
    async with sessionmaker.begin() as session:
        again = await box.submit(session, make_wo(summary="a redelivered update"))
    assert again.id == first.id and not again.is_new

    async def tap() -> bool:
        async with sessionmaker.begin() as session:
            return (await box.submit(session, make_wo("tg-7-7"))).is_new

    assert sorted(await asyncio.gather(tap(), tap(), tap())) == [False, False, True]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxRow)) == 2


async def test_cmms_down_then_up_gives_exactly_one_work_order_with_photo(
    sessionmaker: Maker, maintainx: FakeMaintainX
) -> None:
    maintainx.fail_next("create", Reply(503), Reply(502), Reply(500))
    box = outbox(sessionmaker, mx(maintainx))
    photo = jpeg()
    entry_id = await submit(sessionmaker, box, make_wo(photo=photo))
    now, delays = T0, []
    for _ in range(3):
        (report,) = await box.deliver_due(now)
        assert report.status == "queued-retry" and report.next_attempt_at is not None
        assert await box.deliver_due(report.next_attempt_at - timedelta(seconds=1)) == []  # not due yet
        delays.append((report.next_attempt_at - now).total_seconds())
        now = report.next_attempt_at
    (report,) = await box.deliver_due(now)
    await box.aclose()

    assert delays == [2.5, 5.0, 10.0]  # exponential (jitter pinned to 0 by the injected random)
    assert report.status == "created" and report.photo_attached and report.attempts == 4
    assert report.url == f"https://app.getmaintainx.com/workorders/{report.remote_id}"
    (wo_id,) = maintainx.work_orders
    assert [a[2] for a in maintainx.attachments[wo_id]] == [photo]
    assert (await box.get(entry_id)).status == "delivered"  # type: ignore[union-attr]
    async with sessionmaker() as session:  # delivered: the photo bytes leave the outbox, the hash stays
        stored = (await session.execute(select(OutboxRow.photo, OutboxRow.photo_sha256))).one()
    assert stored.photo is None and stored.photo_sha256 is not None
    assert await box.deliver_due(now + timedelta(hours=1)) == []


class ProcessDied(BaseException):
    """Stands for the process being killed: nothing after it runs, no handler catches it."""


class DiesOnAttach:
    def __init__(self, inner: MaintainXConnector) -> None:
        self.inner = inner
        self.name, self.max_photo_bytes = inner.name, inner.max_photo_bytes
        self.create, self.find_by_ref, self.url_for, self.aclose = (
            inner.create,
            inner.find_by_ref,
            inner.url_for,
            inner.aclose,
        )

    async def attach_photo(self, remote_id: str, photo: bytes) -> None:
        raise ProcessDied


async def test_crash_between_created_and_photo_resumes_without_a_second_work_order(
    sessionmaker: Maker, maintainx: FakeMaintainX
) -> None:
    dying = outbox(sessionmaker, DiesOnAttach(mx(maintainx)), lease_s=300)  # type: ignore[arg-type]
    entry_id = await submit(sessionmaker, dying, make_wo(photo=jpeg()))
    with pytest.raises(ProcessDied):
        await dying.deliver_due(T0)
    await dying.aclose()
    entry = await dying.get(entry_id)
    assert entry is not None and entry.status == "created" and entry.remote_id is not None

    restarted = outbox(sessionmaker, mx(maintainx), lease_s=300)
    assert await restarted.deliver_due(T0 + timedelta(seconds=10)) == []  # the dead worker's lease still holds
    await run_out_leases(sessionmaker)  # 300 s later
    (report,) = await restarted.deliver_due(T0 + timedelta(seconds=301))
    await restarted.aclose()
    assert report.status == "created" and report.remote_id == entry.remote_id
    assert len(maintainx.calls_to("^/workorders$")) == 1 and len(maintainx.work_orders) == 1
    assert len(maintainx.attachments[int(entry.remote_id)]) == 1


async def test_timeout_after_sending_searches_before_sending_again(
    sessionmaker: Maker, maintainx: FakeMaintainX
) -> None:
    maintainx.fail_next("create", SLOW)
    box = outbox(sessionmaker, mx(maintainx, timeout_s=0.4))
    await submit(sessionmaker, box, make_wo(photo=jpeg()))
    (first,) = await box.deliver_due(T0)
    assert first.status == "queued-retry" and "Timeout" in (first.error or "")
    (second,) = await box.deliver_due(first.next_attempt_at)
    await box.aclose()
    assert second.status == "created" and second.photo_attached
    assert len(maintainx.work_orders) == 1 and len([c for c in maintainx.calls if c.method == "POST"]) == 1
    assert maintainx.calls_to("^/workorders$")[-1].method == "GET"  # the [ref:…] search
    (wo_id,) = maintainx.work_orders
    assert second.remote_id == str(wo_id) and len(maintainx.attachments[wo_id]) == 1


async def test_429_retry_after_is_honoured(sessionmaker: Maker, maintainx: FakeMaintainX) -> None:
    maintainx.fail_next("create", Reply(429, json={}, headers={"Retry-After": "120"}))
    box = outbox(sessionmaker, mx(maintainx))
    await submit(sessionmaker, box, make_wo())
    (report,) = await box.deliver_due(T0)
    assert report.status == "queued-retry" and report.next_attempt_at == T0 + timedelta(seconds=120)
    assert await box.deliver_due(T0 + timedelta(seconds=119)) == []
    (report,) = await box.deliver_due(T0 + timedelta(seconds=120))
    await box.aclose()
    assert report.status == "created" and len(maintainx.work_orders) == 1
    assert {c.method for c in maintainx.calls_to("^/workorders$")} == {"POST"}  # a 429 was not sent: no search


async def test_rejected_then_admin_retry(sessionmaker: Maker, maintainx: FakeMaintainX) -> None:
    maintainx.fail_next("create", Reply(400, json={"errors": [{"error": "title too long"}]}))
    box = outbox(sessionmaker, mx(maintainx))
    entry_id = await submit(sessionmaker, box, make_wo())
    (report,) = await box.deliver_due(T0)
    assert report.status == "rejected" and "title too long" in (report.error or "")
    assert await box.deliver_due(T0 + timedelta(days=1)) == []
    assert [(e.id, e.status) for e in await box.pending_and_dead()] == [(entry_id, "failed")]
    retried = await box.retry(entry_id)
    assert retried is not None and retried.status == "pending"
    (report,) = await box.deliver_due(T0)
    await box.aclose()
    assert report.status == "created" and await box.pending_and_dead() == []


async def test_dead_after_the_window_alerts_and_can_be_retried(sessionmaker: Maker, maintainx: FakeMaintainX) -> None:
    alerts: list[DeliveryReport] = []

    async def on_dead(report: DeliveryReport) -> None:
        alerts.append(report)

    maintainx.fail_next("create", *[Reply(503)] * 20)
    config = CmmsSettings(_env_file=None, dead_after_hours=1, backoff_cap_s=600)  # type: ignore[call-arg]
    box = Outbox(sessionmaker, mx(maintainx), config, clock=lambda: T0, rand=lambda: 0.5, on_dead=on_dead)
    entry_id = await submit(sessionmaker, box, make_wo())
    now = T0
    while True:
        (report,) = await box.deliver_due(now)
        if report.status == "dead":
            break
        assert report.next_attempt_at is not None and report.attempts < 20
        now = report.next_attempt_at
    assert now >= T0 + timedelta(hours=1) and [a.entry_id for a in alerts] == [entry_id]
    assert alerts[0].error and "503" in alerts[0].error
    assert [(e.id, e.status) for e in await box.pending_and_dead()] == [(entry_id, "dead")]
    assert await box.deliver_due(now + timedelta(hours=5)) == []

    maintainx._script.clear()
    later = datetime(2026, 3, 5, tzinfo=T0.tzinfo)
    box2 = Outbox(sessionmaker, mx(maintainx), config, clock=lambda: later)
    await box2.retry(entry_id)
    (report,) = await box2.deliver_due(later)
    await box.aclose()
    await box2.aclose()
    assert report.status == "created" and len(maintainx.work_orders) == 1


async def test_two_workers_never_deliver_the_same_row(sessionmaker: Maker, maintainx: FakeMaintainX) -> None:
    first, second = outbox(sessionmaker, mx(maintainx)), outbox(sessionmaker, mx(maintainx))
    for n in range(5):
        await submit(sessionmaker, first, make_wo(f"k-{n}", photo=jpeg()))
    reports = [r for batch in await asyncio.gather(first.deliver_due(T0), second.deliver_due(T0)) for r in batch]
    await first.aclose()
    await second.aclose()
    assert sorted(r.key for r in reports) == [f"k-{n}" for n in range(5)]
    assert len(maintainx.work_orders) == 5 and all(len(a) == 1 for a in maintainx.attachments.values())


async def submit_many(sessionmaker: Maker, box: Outbox, count: int) -> None:
    async with sessionmaker.begin() as session:
        for n in range(count):
            await box.submit(session, make_wo(f"many-{n}"))


async def test_eight_workers_over_300_due_rows_each_claim_a_different_batch(
    sessionmaker: Maker, maintainx: FakeMaintainX
) -> None:
    """Eight workers (eight connections) claim at the same moment. Before, each read the same first batch and
    then compare-and-set it row by row: on PostgreSQL one worker won them all and seven got nothing. Now each
    locks its own rows and skips the others' (FOR UPDATE SKIP LOCKED)."""
    config = CmmsSettings(_env_file=None, worker_batch=20)  # type: ignore[call-arg]
    connector = mx(maintainx)
    box = Outbox(sessionmaker, connector, config, clock=lambda: T0)
    await submit_many(sessionmaker, box, 300)
    workers = [Worker(sessionmaker, connector, config) for _ in range(8)]
    claims = await asyncio.gather(*(worker.claim(T0) for worker in workers))
    assert [len(ids) for ids in claims] == [20] * 8, "every worker got a full batch"
    assert len({entry for ids in claims for entry in ids}) == 160, "and no row went to two workers"
    again = await asyncio.gather(*(worker.claim(T0) for worker in workers))
    assert sum(len(ids) for ids in again) == 140, "the rest, and none of the leased rows"
    await box.aclose()


async def test_a_worker_with_a_clock_ahead_cannot_steal_a_leased_row(
    sessionmaker: Maker, maintainx: FakeMaintainX
) -> None:
    """Leases are on the database's clock: a machine whose clock runs an hour ahead sees the row as due, but
    not as free (before, it compared the lease with its own clock and delivered the row a second time)."""
    config = CmmsSettings(_env_file=None, lease_s=300)  # type: ignore[call-arg]
    connector = mx(maintainx)
    box = Outbox(sessionmaker, connector, config, clock=lambda: T0)
    await submit(sessionmaker, box, make_wo("leased"))
    first, skewed = Worker(sessionmaker, connector, config), Worker(sessionmaker, connector, config)
    assert len(await first.claim(T0)) == 1
    assert await skewed.claim(T0 + timedelta(hours=1)) == []
    await run_out_leases(sessionmaker)
    assert len(await skewed.claim(T0 + timedelta(hours=1))) == 1
    await box.aclose()


async def test_atlas_end_to_end_with_token_expiry_and_outage(sessionmaker: Maker, atlas: FakeAtlas) -> None:
    connector = AtlasConnector(atlas.base_url, atlas.email, atlas.password, timeout_s=5)
    box = outbox(sessionmaker, connector)
    atlas.fail_next("create", Reply(503))
    photo = jpeg()
    await submit(sessionmaker, box, make_wo(photo=photo))
    (report,) = await box.deliver_due(T0)
    assert report.status == "queued-retry"
    atlas.expire_tokens()
    (report,) = await box.deliver_due(report.next_attempt_at)
    await box.aclose()
    assert report.status == "created" and report.photo_attached
    (body,) = atlas.work_orders.values()
    (file_id,) = atlas.files  # uploaded once, reused by the retry
    assert body["image"] == {"id": file_id} and atlas.files[file_id][1] == photo


async def test_webhook_unknown_outcome_is_resent_with_the_same_key(
    sessionmaker: Maker, receiver: FakeWebhookReceiver
) -> None:
    receiver.fail_next("receive", SLOW)
    box = outbox(sessionmaker, WebhookConnector(f"{receiver.base_url}/hook", receiver.secret, timeout_s=0.4))
    await submit(sessionmaker, box, make_wo(photo=jpeg()))
    (first,) = await box.deliver_due(T0)
    (second,) = await box.deliver_due(first.next_attempt_at)
    await box.aclose()
    assert (first.status, second.status) == ("queued-retry", "created")
    assert len(receiver.calls) == 2 and {c.headers["idempotency-key"] for c in receiver.calls} == {"tg-1-2"}
    assert list(receiver.events) == ["tg-1-2"]


async def test_odoo_end_to_end(sessionmaker: Maker, odoo: FakeOdoo) -> None:
    box = outbox(sessionmaker, OdooConnector(odoo.url, odoo.db, odoo.login, odoo.api_key, timeout_s=5))
    photo = jpeg()
    await submit(sessionmaker, box, make_wo(photo=photo))
    (report,) = await box.deliver_due(T0)
    await box.aclose()
    assert report.status == "created" and report.photo_attached
    (attachment,) = odoo.attachments.values()
    assert attachment["raw"] == photo and str(attachment["res_id"]) == report.remote_id


async def test_photo_is_compressed_under_the_connector_limit(sessionmaker: Maker, maintainx: FakeMaintainX) -> None:
    big = jpeg((3000, 2200), noise=True)
    assert len(big) > MaintainXConnector.max_photo_bytes
    box = outbox(sessionmaker, mx(maintainx))
    await submit(sessionmaker, box, make_wo(photo=big))
    (report,) = await box.deliver_due(T0)
    await box.aclose()
    ((_name, _type, sent),) = next(iter(maintainx.attachments.values()))
    assert report.photo_attached and len(sent) <= MaintainXConnector.max_photo_bytes


async def test_local_backend_recent_and_csv(sessionmaker: Maker, tmp_path: Path) -> None:
    box = outbox(sessionmaker, LocalConnector(sessionmaker))
    for n in range(3):
        await submit(sessionmaker, box, make_wo(f"k-{n}", photo=jpeg()))
    reports = await box.deliver_due(T0)
    assert {r.status for r in reports} == {"created"} and len(reports) == 3
    recent = await box.recent_for_reporter(42, limit=2)
    assert [e.key for e in recent] == ["k-2", "k-1"] and all(e.status == "delivered" for e in recent)
    assert await box.recent_for_reporter(7) == []
    stream = io.StringIO()
    assert await box.export_csv(stream) == 3
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("id,key,status,backend,remote_id") and "k-0,delivered,local" in lines[1]
    assert "SN-1234" in lines[1] and "Dana" in lines[1]
    path = tmp_path / "wo.csv"
    assert await box.export_csv(path) == 3 and path.read_text().splitlines() == lines


async def test_unlicensed_atlas_photo_is_reported_missing(sessionmaker: Maker) -> None:
    with FakeAtlas(files_licensed=False) as fake:
        box = outbox(sessionmaker, AtlasConnector(fake.base_url, fake.email, fake.password, timeout_s=5))
        entry_id = await submit(sessionmaker, box, make_wo(photo=jpeg()))
        (report,) = await box.deliver_due(T0)
        await box.aclose()
    assert report.status == "created" and not report.photo_attached and len(fake.work_orders) == 1
    entry = await box.get(entry_id)
    assert entry is not None and entry.status == "delivered" and "license" in (entry.last_error or "")
