"""A bounded pool of decode threads, shared fairly between users.

Decoding a photo is CPU work done in a thread. With one queue, one user's burst (a script sending 16 huge
files) would sit in front of everyone else's single photo. ``FairPool`` keeps one queue per user and hands a
free worker to the waiting user with the fewest decodes running (ties: the one served least recently), so
another user's photo waits for at most the jobs already running, never for the whole burst. The pool size
bounds memory too: at most ``workers`` decodes are in memory at once, each within intake's pixel limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class FairPool:
    def __init__(self, workers: int, *, name: str = "intake") -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._free = workers
        self._running: Counter[Hashable] = Counter()
        self._served: dict[Hashable, int] = {}  # when each user last got a worker (turn number)
        self._turns = itertools.count()
        self._waiting: OrderedDict[Hashable, deque[tuple[Callable[[], Any], asyncio.Future[Any]]]] = OrderedDict()

    async def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread when ``key``'s turn comes; its result or exception is returned here."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append((fn, future))
        self._dispatch()
        return await future

    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._free and self._waiting:
            # the user with the fewest decodes running; among equals, the one served least recently
            key = min(self._waiting, key=lambda k: (self._running[k], self._served.get(k, -1)))
            queue = self._waiting.pop(key)
            fn, future = queue.popleft()
            if queue:
                self._waiting[key] = queue  # back of the line for its next job
            if future.done():  # cancelled while waiting
                continue
            self._free -= 1
            self._running[key] += 1
            self._served[key] = next(self._turns)
            work = self._executor.submit(fn)
            work.add_done_callback(functools.partial(self._on_done, loop, key, future))

    def _on_done(
        self, loop: asyncio.AbstractEventLoop, key: Hashable, target: asyncio.Future[Any], done: Future[Any]
    ) -> None:
        """In the worker thread: hand the outcome back to the event loop."""
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown): nobody is waiting
            loop.call_soon_threadsafe(self._finish, key, done, target)

    def _finish(self, key: Hashable, done: Future[Any], target: asyncio.Future[Any]) -> None:
        self._free += 1
        self._running[key] -= 1
        if not self._running[key]:
            del self._running[key]
            if key not in self._waiting:
                self._served.pop(key, None)
        if not target.done():
            exc = done.exception()
            if exc is not None:
                target.set_exception(exc)
            else:
                target.set_result(done.result())
        self._dispatch()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
