"""The one interface every CMMS connector implements, and what flows through it.

A connector does I/O only: it never touches the outbox table. What it must remember between steps (Atlas's
uploaded image id, for one) it writes into ``Progress``, which the outbox commits before the next step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cmmsconnect.workorder import WorkOrder


@dataclass(frozen=True)
class CreateResult:
    remote_id: str
    url: str | None = None
    photo_attached: bool = False  # the photo went with the create (Atlas image id, webhook inline)
    asset_id: str | None = None  # the CMMS asset matched by serial number, if any


async def _no_save(_data: dict[str, Any]) -> None:
    return None


@dataclass
class Progress:
    """Step cursor of one delivery; ``save`` makes a step durable before the next one starts."""

    data: dict[str, Any] = field(default_factory=dict)
    saver: Callable[[dict[str, Any]], Awaitable[None]] = _no_save

    def get(self, name: str) -> Any:
        return self.data.get(name)

    async def save(self, name: str, value: Any) -> None:
        self.data[name] = value
        await self.saver(dict(self.data))


class Connector(Protocol):
    name: str
    max_photo_bytes: int  # the photo is recompressed under this before it is handed over

    async def create(self, wo: WorkOrder, progress: Progress) -> CreateResult:
        """File the work order (with the photo when this CMMS takes it in the same step)."""
        ...

    async def find_by_ref(self, ref: str) -> str | None:
        """Remote id of a work order whose description carries ``ref`` ("[ref:<key>]"), if one exists."""
        ...

    async def attach_photo(self, remote_id: str, photo: bytes) -> None: ...

    def url_for(self, remote_id: str) -> str | None:
        """A link a person can open, when this CMMS has a web UI we know the address of."""
        ...

    async def aclose(self) -> None: ...
