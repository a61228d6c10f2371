"""Albums in the fleet: collected from the inbox rows, not from updates arriving while a handler waits.

Telegram sends an album as one update per item, sharing a ``media_group_id``. The embedded bot lets the later
items into the chat while the first one's handler waits; a fleet job holds its chat's lock, so the later items
could only run after it. Instead the ingress records every item and defers one ``album`` job per album
(``bot/fleet/queue.py``), scheduled ``album_wait_s`` after the first item. The job reads the album's rows;
when the newest item is younger than ``album_wait_s`` it defers itself again for the rest of that wait (a
debounce, as the embedded collector does), otherwise it runs the first item's update through the ordinary
handlers with the other items already in the album (``CollectedAlbums``), and marks every item done with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.runtime.models import InboxUpdate
from bot.runtime.queues import Album, AlbumCollector, PhotoRef


class CollectedAlbums(AlbumCollector):
    """An ``AlbumCollector`` whose albums are complete when opened: the job put the other items in first."""

    def __init__(self, *, max_photos: int) -> None:
        super().__init__(wait_s=0.0, max_photos=max_photos)
        self._collected: dict[tuple[int, str], list[tuple[PhotoRef, str | None]]] = {}

    def collected(self, chat_id: int, group_id: str, items: list[tuple[PhotoRef, str | None]]) -> None:
        """The album's items after the first, to be added when the first item's handler opens the album."""
        self._collected[(chat_id, group_id)] = items

    def add(self, chat_id: int, group_id: str, ref: PhotoRef, caption: str | None) -> tuple[Album, bool]:
        album, is_new = super().add(chat_id, group_id, ref, caption)
        if is_new:
            for other, other_caption in self._collected.pop((chat_id, group_id), []):
                super().add(chat_id, group_id, other, other_caption)
        return album, is_new


def group_of(row: InboxUpdate) -> str | None:
    message = row.payload.get("message")
    group = message.get("media_group_id") if isinstance(message, dict) else None
    return str(group) if group is not None else None


def photo_ref(payload: dict[str, Any]) -> tuple[PhotoRef, str | None] | None:
    """The item's photo (largest size) or image document, as the photo handler would take it."""
    message = payload.get("message") or {}
    media: dict[str, Any] | None = None
    if message.get("photo"):
        media = message["photo"][-1]
    elif message.get("document"):
        media = message["document"]
    if media is None or "file_id" not in media:
        return None
    return PhotoRef(str(media["file_id"]), media.get("file_size"), int(message["message_id"])), message.get("caption")


def quiet_for(rows: list[InboxUpdate], wait_s: float, now: datetime) -> float:
    """Seconds still to wait before the album is complete (0: no item came within ``wait_s``)."""
    newest = max(row.accepted_at for row in rows)
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    left = newest + timedelta(seconds=wait_s) - now
    return max(0.0, left.total_seconds())
