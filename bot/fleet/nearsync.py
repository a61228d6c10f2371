"""Every worker's near-duplicate index learns the analyses other workers store.

The index lives in each process's memory (``pipeline/nearindex.py``: ~1 ms per lookup, where the same scan in
SQL takes ~85 ms per million rows). A trigger on ``analyses`` (migration ``fleet_state``) sends
``pg_notify('plc_analysis', id)`` at commit; this listener then asks the cache to ``learn`` every row newer than
the newest it knows. A listener that was disconnected missed its notifications, so it also catches up when it
(re)connects and whenever ``catch_up_s`` passes without one. Learning is by id, so a burst of notifications
costs one query, and a row learnt twice is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from pipeline.cache import AnalysisCache

log = logging.getLogger(__name__)

CHANNEL = "plc_analysis"


class IndexSync:
    def __init__(
        self,
        conninfo: str,
        cache: AnalysisCache,
        *,
        catch_up_s: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._conninfo, self._cache, self._catch_up_s, self._now = conninfo, cache, catch_up_s, now
        self.listening = asyncio.Event()

    async def run(self) -> None:
        """Until cancelled; reconnects after a lost connection (LISTEN needs a direct one, not PgBouncer's)."""
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError):
                self.listening.clear()
                log.warning("near-duplicate sync lost its connection; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as connection:
            await connection.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            await self.learn()  # whatever was stored while not listening
            while True:
                # one notification, or catch_up_s without any: either way, learn what is new
                async for _ in connection.notifies(timeout=self._catch_up_s, stop_after=1):
                    pass
                await self.learn()

    async def learn(self) -> int:
        learnt = await self._cache.learn(self._now())
        if learnt:
            log.debug("near-duplicate index learnt %d analyses from other workers", learnt)
        return learnt
