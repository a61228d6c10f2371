"""Group commit: callers that write the same kind of row at about the same time share one transaction.

A crowd's updates arrive together (one ``getUpdates`` answer holds up to 100), and each must be recorded in the
inbox before it is acted on. Written one transaction each, 60 records queue one after another on SQLite's single
connection and the last photo waits for all of them before its download starts. ``Batch.submit`` instead waits
for the next write, which carries everything submitted meanwhile: whoever arrives while a write is in flight joins
the one after it, so a lone update costs one transaction as before and a crowd costs a few.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batch(Generic[T, R]):
    def __init__(self, write: Callable[[list[T]], Awaitable[Sequence[R]]]) -> None:
        """``write`` stores the items in one transaction and returns one result per item, in order; if it raises,
        every caller of that batch gets the exception."""
        self._write = write
        self._queued: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queued.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await asyncio.shield(future)  # a caller that gives up does not take the others' write with it

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(0)  # the rest of this turn of the event loop joins the first write
            while self._queued:
                batch, self._queued = self._queued, []
                try:
                    results = list(await self._write([item for item, _ in batch]))
                    if len(results) != len(batch):
                        raise RuntimeError(f"batch write returned {len(results)} results for {len(batch)} items")
                except Exception as exc:  # handed to each caller, who decides
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._writer = None
            for _, future in self._queued:  # only if this task itself was cancelled (shutdown)
                if not future.done():
                    future.cancel()
            self._queued = []
