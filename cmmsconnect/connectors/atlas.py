"""Atlas CMMS (Grashjs/cmms, self-hosted Spring Boot; shapes from its DTOs, see CMMS-FACTS §1).

Auth is a JWT from ``POST /auth/signin`` with a service user (API keys need a paid licence). Tagged releases
return only ``accessToken`` (14-day lifetime); HEAD also returns ``refreshToken`` (30-minute access token),
so a 401/403 first tries ``POST /auth/refresh`` when we hold a refresh token, else signs in again.

The photo goes first (``POST /files/upload``, type IMAGE) and the work order references it as ``image``; the
uploaded file id is saved in ``Progress`` so a retry reuses it. Since v1.4 an upload without the
FILE_ATTACHMENTS licence answers 403: the work order is then filed without the photo.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from cmmsconnect._http import make_client, send
from cmmsconnect.connector import CreateResult, Progress
from cmmsconnect.errors import CmmsAuthExpired, CmmsRejected
from cmmsconnect.photo import photo_filename, photo_mime
from cmmsconnect.policy import map_priority
from cmmsconnect.workorder import WorkOrder, carries_ref


def build_body(wo: WorkOrder, *, asset_id: int | None, image_id: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": wo.title,
        "description": wo.description,
        "priority": map_priority("atlas", wo.priority),
    }
    if asset_id is not None:
        body["asset"] = {"id": asset_id}
    if image_id is not None:
        body["image"] = {"id": image_id}
        body["files"] = [{"id": image_id}]
    return body


def search_body(field: str, operation: str, value: str, page_size: int = 10) -> dict[str, Any]:
    return {
        "filterFields": [{"field": field, "operation": operation, "value": value}],
        "pageNum": 0,
        "pageSize": page_size,
    }


def page_items(reply: Any) -> list[dict[str, Any]]:
    """Items of a Spring ``Page`` (``content``), tolerating a bare list."""
    items = reply.get("content", []) if isinstance(reply, dict) else reply
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


class AtlasConnector:
    name = "atlas"
    max_photo_bytes = 5_000_000  # Atlas allows far more; a phone photo never needs more than this

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        *,
        app_url: str = "",
        timeout_s: float = 20.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._client = make_client(base_url, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
        self._credentials = {"email": email, "password": password, "type": "CLIENT"}
        self._app_url = app_url.rstrip("/")
        self._access: str | None = None
        self._refresh: str | None = None
        self._auth_lock = asyncio.Lock()

    # -- auth -------------------------------------------------------------------------------------------
    async def _signin(self) -> None:
        async def build() -> httpx.Request:
            return self._client.build_request("POST", "/auth/signin", json=self._credentials)

        self._store_tokens((await send(self._client, build)).json())

    def _store_tokens(self, reply: Any) -> None:
        if not isinstance(reply, dict) or not isinstance(reply.get("accessToken"), str):
            raise CmmsAuthExpired("Atlas sign-in answered without an accessToken")
        self._access = reply["accessToken"]
        refresh = reply.get("refreshToken")
        self._refresh = refresh if isinstance(refresh, str) and refresh else None

    async def _renew(self) -> None:
        async with self._auth_lock:
            if self._refresh is not None:
                refresh = self._refresh

                async def build() -> httpx.Request:
                    return self._client.build_request("POST", "/auth/refresh", json={"refreshToken": refresh})

                try:
                    self._store_tokens((await send(self._client, build)).json())
                    return
                except (CmmsAuthExpired, CmmsRejected):
                    self._refresh = None  # expired or revoked: sign in from scratch
            await self._signin()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._access is None:
            async with self._auth_lock:
                if self._access is None:
                    await self._signin()

        async def build() -> httpx.Request:
            headers = {"Authorization": f"Bearer {self._access}"}
            return self._client.build_request(method, path, headers=headers, **kwargs)

        return await send(self._client, build, refresh_auth=self._renew)

    # -- work orders --------------------------------------------------------------------------------------
    async def _find_asset(self, serial: str | None) -> int | None:
        if not serial:
            return None
        try:
            reply = (await self._call("POST", "/assets/search", json=search_body("serialNumber", "eq", serial))).json()
        except CmmsRejected:
            return None
        for asset in page_items(reply):
            if str(asset.get("serialNumber", "")).strip().casefold() == serial.strip().casefold():
                return int(asset["id"])
        return None

    async def _upload(self, photo: bytes) -> int:
        files = {"files": (photo_filename("atlas", photo), photo, photo_mime(photo))}
        data = {"folder": "plc-copilot", "hidden": "false", "type": "IMAGE"}
        try:
            reply = (await self._call("POST", "/files/upload", files=files, data=data)).json()
        except CmmsAuthExpired as exc:
            if exc.status == 403:  # still 403 with a fresh token: the licence gate, not our credentials
                raise CmmsRejected(exc.message, status=403) from exc
            raise
        uploaded = reply[0] if isinstance(reply, list) and reply else reply
        return int(uploaded["id"])

    async def create(self, wo: WorkOrder, progress: Progress) -> CreateResult:
        asset_id = await self._find_asset(wo.serial_number)
        image_id = progress.get("atlas_image_id")
        if wo.photo is not None and image_id is None and not progress.get("atlas_image_refused"):
            try:
                image_id = await self._upload(wo.photo)
                await progress.save("atlas_image_id", image_id)
            except CmmsRejected as exc:
                await progress.save("atlas_image_refused", exc.message[:200])
        body = build_body(wo, asset_id=asset_id, image_id=image_id)
        reply = (await self._call("POST", "/work-orders", json=body)).json()
        remote_id = str(reply["id"])
        return CreateResult(
            remote_id=remote_id,
            url=self.url_for(remote_id),
            photo_attached=wo.photo is None or image_id is not None,  # refused: attach_photo tries once more
            asset_id=None if asset_id is None else str(asset_id),
        )

    async def find_by_ref(self, ref: str) -> str | None:
        reply = (await self._call("POST", "/work-orders/search", json=search_body("description", "cn", ref))).json()
        for order in page_items(reply):
            if carries_ref(str(order.get("description") or ""), ref):  # exact last line, never a substring
                return str(order["id"])
        return None

    async def attach_photo(self, remote_id: str, photo: bytes) -> None:
        file_id = await self._upload(photo)
        await self._call("PATCH", f"/work-orders/files/{remote_id}/add", json=[{"id": file_id}])

    def url_for(self, remote_id: str) -> str | None:
        return f"{self._app_url}/app/work-orders/{remote_id}" if self._app_url else None

    async def aclose(self) -> None:
        await self._client.aclose()
