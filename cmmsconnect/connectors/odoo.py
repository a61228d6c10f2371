"""Odoo Maintenance over XML-RPC (``/xmlrpc/2/common`` + ``/xmlrpc/2/object``, Odoo 14–18; API key as password).

``xmlrpc.client`` blocks, so every call runs in a worker thread with a socket timeout and an overall
``asyncio.wait_for``. A fresh ``ServerProxy`` per call: proxies are not thread-safe. An ``AccessDenied`` fault
is Odoo's 401: we log in again once, then give up with ``CmmsAuthExpired``. Odoo ≥ 16 stores the description
as HTML, so the text is escaped and line breaks become ``<br/>``.
"""

from __future__ import annotations

import asyncio
import base64
import html
import http.client
import socket
import xmlrpc.client
from typing import Any

from cmmsconnect.connector import CreateResult, Progress
from cmmsconnect.errors import CmmsAuthExpired, CmmsRateLimited, CmmsRejected, CmmsUnavailable
from cmmsconnect.photo import photo_filename, photo_mime
from cmmsconnect.policy import Outcome, classify_status, map_priority
from cmmsconnect.workorder import WorkOrder, carries_ref


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self._timeout_s
        return connection


class _TimeoutSafeTransport(xmlrpc.client.SafeTransport):
    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def make_connection(self, host: Any) -> http.client.HTTPSConnection:
        connection = super().make_connection(host)
        connection.timeout = self._timeout_s
        return connection


def map_error(exc: BaseException, where: str) -> Exception:
    """The one place XML-RPC failures become cmmsconnect errors."""
    if isinstance(exc, xmlrpc.client.Fault):
        text = str(exc.faultString)
        if "AccessDenied" in text or "Access Denied" in text:
            return CmmsAuthExpired(f"{where}: access denied")
        if "could not serialize" in text or "concurrent update" in text:
            return CmmsUnavailable(f"{where}: {text[:200]}")
        return CmmsRejected(f"{where}: {text[:300]}")
    if isinstance(exc, xmlrpc.client.ProtocolError):
        outcome = classify_status(exc.errcode)
        detail = f"{where} → {exc.errcode} {exc.errmsg}"
        if outcome is Outcome.RATE_LIMITED:
            return CmmsRateLimited(detail)
        if outcome is Outcome.REFRESH_AUTH:
            return CmmsAuthExpired(detail, status=exc.errcode)
        if outcome is Outcome.PERMANENT:
            return CmmsRejected(detail, status=exc.errcode)
        return CmmsUnavailable(detail, status=exc.errcode, maybe_sent=outcome is Outcome.UNKNOWN)
    if isinstance(exc, ConnectionRefusedError | socket.gaierror):
        return CmmsUnavailable(f"{where}: cannot connect ({exc!r})")
    if isinstance(exc, TimeoutError | OSError | http.client.HTTPException | xmlrpc.client.ResponseError):
        return CmmsUnavailable(f"{where}: {exc!r}", maybe_sent=True)
    return CmmsUnavailable(f"{where}: unexpected {exc!r}", maybe_sent=True)


def to_html(text: str) -> str:
    return "<p>" + "<br/>".join(html.escape(line) for line in text.split("\n")) + "</p>"


class OdooConnector:
    name = "odoo"
    max_photo_bytes = 10_000_000

    def __init__(
        self, url: str, db: str, login: str, api_key: str, *, timeout_s: float = 20.0, connect_timeout_s: float = 5.0
    ) -> None:
        self._url = url.rstrip("/")
        self._db, self._login, self._key = db, login, api_key
        self._timeout_s = timeout_s
        self._uid: int | None = None
        self._html_description = True
        self._auth_lock = asyncio.Lock()

    def _proxy_call(self, path: str, method: str, *args: Any) -> Any:
        transport: xmlrpc.client.Transport
        if self._url.startswith("https:"):
            transport = _TimeoutSafeTransport(self._timeout_s)
        else:
            transport = _TimeoutTransport(self._timeout_s)
        with xmlrpc.client.ServerProxy(f"{self._url}{path}", transport=transport, allow_none=True) as proxy:
            return getattr(proxy, method)(*args)

    async def _rpc(self, path: str, method: str, *args: Any) -> Any:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._proxy_call, path, method, *args), timeout=self._timeout_s + 1
            )
        except Exception as exc:
            raise map_error(exc, f"{path} {method}") from exc

    async def _authenticate(self) -> int:
        async with self._auth_lock:
            if self._uid is None:
                version = await self._rpc("/xmlrpc/2/common", "version")
                info = version.get("server_version_info") if isinstance(version, dict) else None
                self._html_description = not (isinstance(info, list) and info and int(info[0]) < 16)
                uid = await self._rpc("/xmlrpc/2/common", "authenticate", self._db, self._login, self._key, {})
                if not uid:
                    raise CmmsAuthExpired("Odoo refused the login or API key")
                self._uid = int(uid)
            return self._uid

    async def _execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> Any:
        for attempt in (1, 2):
            uid = await self._authenticate()
            try:
                return await self._rpc(
                    "/xmlrpc/2/object", "execute_kw", self._db, uid, self._key, model, method, args, kwargs or {}
                )
            except CmmsAuthExpired:
                if attempt == 2:
                    raise
                self._uid = None  # the key was rotated or the session dropped: log in once more
        raise AssertionError("unreachable")

    async def _find_equipment(self, serial: str | None) -> int | None:
        if not serial:
            return None
        found = await self._execute(
            "maintenance.equipment", "search_read", [[["serial_no", "=", serial]]], {"fields": ["id"], "limit": 1}
        )
        return int(found[0]["id"]) if found else None

    async def create(self, wo: WorkOrder, progress: Progress) -> CreateResult:
        equipment_id = await self._find_equipment(wo.serial_number)
        description = to_html(wo.description) if self._html_description else wo.description
        values: dict[str, Any] = {
            "name": wo.title,
            "description": description,
            "priority": map_priority("odoo", wo.priority),
            "maintenance_type": "corrective",
            "equipment_id": equipment_id or False,
        }
        created = await self._execute("maintenance.request", "create", [values])
        remote_id = str(created[0] if isinstance(created, list) else created)
        return CreateResult(
            remote_id=remote_id,
            url=self.url_for(remote_id),
            asset_id=None if equipment_id is None else str(equipment_id),
        )

    async def find_by_ref(self, ref: str) -> str | None:
        found = await self._execute(
            "maintenance.request",
            "search_read",
            [[["description", "ilike", ref]]],
            {"fields": ["id", "description"], "limit": 5, "order": "id desc"},
        )
        for row in found:
            if carries_ref(str(row.get("description") or ""), ref):  # exact last line, never a substring
                return str(row["id"])
        return None

    async def attach_photo(self, remote_id: str, photo: bytes) -> None:
        values = {
            "name": photo_filename(remote_id, photo),
            "datas": base64.b64encode(photo).decode(),
            "mimetype": photo_mime(photo),
            "res_model": "maintenance.request",
            "res_id": int(remote_id),
        }
        await self._execute("ir.attachment", "create", [values])

    def url_for(self, remote_id: str) -> str | None:
        return f"{self._url}/web#id={remote_id}&model=maintenance.request&view_type=form"

    async def aclose(self) -> None:
        return None
