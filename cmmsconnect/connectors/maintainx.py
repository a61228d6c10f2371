"""MaintainX REST (``https://api.getmaintainx.com/v1``; shapes from its OpenAPI description).

Create is ``POST /workorders`` → ``{"id"}``; the photo follows as a raw ``PUT
/workorders/{id}/attachments/{filename}`` (1 MB limit). ``GET /assets`` cannot filter by serial number, so
candidates are narrowed by manufacturer/model and the serial is matched here. The list of work orders does
not return ``externalData``, so the [ref:…] search reads descriptions of the most recent ones.
"""

from __future__ import annotations

from typing import Any

import httpx

from cmmsconnect._http import make_client, send
from cmmsconnect.connector import CreateResult, Progress
from cmmsconnect.errors import CmmsRejected
from cmmsconnect.photo import photo_filename, photo_mime
from cmmsconnect.policy import map_priority
from cmmsconnect.workorder import WorkOrder, carries_ref

RECENT_SEARCHED = 100  # work orders scanned for a [ref:…] marker; a retry comes within hours, not weeks


def build_body(wo: WorkOrder, asset_id: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": wo.title,
        "description": wo.description,
        "priority": map_priority("maintainx", wo.priority),
        "type": "REACTIVE",
        "externalData": {"source": "plc-copilot", "ref": wo.key, "chatId": wo.chat_id, "messageId": wo.message_id},
    }
    if asset_id is not None:
        body["assetId"] = asset_id
    return body


def match_asset(assets: list[dict[str, Any]], serial: str) -> int | None:
    wanted = serial.strip().casefold()
    for asset in assets:
        found = asset.get("serialNumber")
        if isinstance(found, str) and found.strip().casefold() == wanted and isinstance(asset.get("id"), int):
            return int(asset["id"])
    return None


class MaintainXConnector:
    name = "maintainx"
    max_photo_bytes = 950_000  # "Attachment size must not exceed 1mB"; a margin for how they count a MB

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        organization_id: int | None = None,
        app_url: str = "https://app.getmaintainx.com",
        timeout_s: float = 20.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._client = make_client(base_url, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
        self._headers = {"Authorization": f"Bearer {api_key}"}
        if organization_id is not None:
            self._headers["x-organization-id"] = str(organization_id)
        self._app_url = app_url.rstrip("/")

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}

        async def build() -> httpx.Request:
            return self._client.build_request(method, path, headers=headers, **kwargs)

        return await send(self._client, build)  # an API key cannot be refreshed: 401 → CmmsAuthExpired

    async def _find_asset(self, wo: WorkOrder) -> int | None:
        if not wo.serial_number or not (wo.manufacturer or wo.model):
            return None
        params = {k: v for k, v in (("manufacturer", wo.manufacturer), ("model", wo.model)) if v}
        try:
            response = await self._call("GET", "/assets", params={**params, "limit": 200})
        except CmmsRejected:
            return None  # a lookup we cannot do must not block the work order
        assets = response.json().get("assets", [])
        return match_asset(assets if isinstance(assets, list) else [], wo.serial_number)

    async def create(self, wo: WorkOrder, progress: Progress) -> CreateResult:
        asset_id = await self._find_asset(wo)
        response = await self._call("POST", "/workorders", json=build_body(wo, asset_id))
        remote_id = str(int(response.json()["id"]))
        return CreateResult(
            remote_id=remote_id,
            url=self.url_for(remote_id),
            asset_id=None if asset_id is None else str(asset_id),
        )

    async def find_by_ref(self, ref: str) -> str | None:
        params = {"sort": "-createdAt", "limit": RECENT_SEARCHED}
        orders = (await self._call("GET", "/workorders", params=params)).json().get("workOrders", [])
        for order in orders if isinstance(orders, list) else []:
            if carries_ref(str(order.get("description") or ""), ref):  # exact last line, never a substring
                return str(order["id"])
        return None

    async def attach_photo(self, remote_id: str, photo: bytes) -> None:
        path = f"/workorders/{remote_id}/attachments/{photo_filename(remote_id, photo)}"
        await self._call("PUT", path, content=photo, headers={"Content-Type": photo_mime(photo)})

    def url_for(self, remote_id: str) -> str | None:
        return f"{self._app_url}/workorders/{remote_id}"

    async def aclose(self) -> None:
        await self._client.aclose()
