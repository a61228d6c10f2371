"""Batching of photo work (the order of updates is bot/updates/).

``AlbumCollector``: Telegram delivers an album as separate updates sharing a ``media_group_id``; the first
item opens a batch and queues one job, which waits until no item has arrived for ``wait_s`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class PhotoRef:
    file_id: str
    file_size: int | None
    message_id: int


@dataclass
class Album:
    key: tuple[int, str]
    refs: list[PhotoRef] = field(default_factory=list)
    caption: str | None = None
    extra: int = 0  # items beyond the limit, ignored
    last_added: float = field(default_factory=time.monotonic)
    finishers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # the later items' updates


class AlbumCollector:
    def __init__(self, *, wait_s: float, max_photos: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._wait_s = wait_s
        self._max = max_photos
        self._clock = clock
        self._open: dict[tuple[int, str], Album] = {}

    def add(self, chat_id: int, group_id: str, ref: PhotoRef, caption: str | None) -> tuple[Album, bool]:
        """Add one item; returns the album and whether this item opened it."""
        key = (chat_id, group_id)
        album = self._open.get(key)
        is_new = album is None
        if album is None:
            album = self._open[key] = Album(key)
        if len(album.refs) < self._max:
            album.refs.append(ref)
        else:
            album.extra += 1
        if caption and not album.caption:
            album.caption = caption
        album.last_added = self._clock()
        return album, is_new

    async def complete(self, album: Album) -> Album:
        """Wait until the album has been quiet for ``wait_s``, then close it (later items start a new one)."""
        # A debounce: each new item pushes the end back, so a plain sleep loop is the right tool here.
        while (left := album.last_added + self._wait_s - self._clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)
        self._open.pop(album.key, None)
        album.refs.sort(key=lambda r: r.message_id)
        return album
