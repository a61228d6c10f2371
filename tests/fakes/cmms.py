"""Fake CMMS servers on 127.0.0.1 for cmmsconnect's tests: MaintainX, Atlas, a webhook receiver (all on the
shared ``FakeServer``) and Odoo (the standard library's XML-RPC server, as the real one speaks XML-RPC).

Each keeps the records it "created" so tests assert on outcomes (exactly one work order, its photo), and a
queue of scripted failures per operation: a ``Reply`` is answered instead of doing the work; ``SLOW`` does the
work and then answers too late for the client (the "timeout after sending" case).
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from xmlrpc.client import Fault
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

from cmmsconnect.connectors.webhook import ID_HEADER, verify
from tests.fakes.http import FakeServer, Recorded, Reply

SLOW = "slow"  # do the work, then reply after the client has given up


class _Scripted(FakeServer):
    slow_s = 1.5

    def __init__(self) -> None:
        super().__init__()
        self._script: dict[str, list[Reply | str]] = {}
        self._ids = itertools.count(101)

    def fail_next(self, operation: str, *outcomes: Reply | str) -> None:
        self._script.setdefault(operation, []).extend(outcomes)

    def _scripted(self, operation: str) -> Reply | str | None:
        with self._lock:
            queue = self._script.get(operation)
            return queue.pop(0) if queue else None

    def _run(self, operation: str, work: Any) -> Reply:
        scripted = self._scripted(operation)
        if isinstance(scripted, Reply):
            return scripted
        reply: Reply = work()
        if scripted == SLOW:
            reply.delay = self.slow_s
        return reply


class FakeMaintainX(_Scripted):
    """``/workorders``, ``/workorders/{id}/attachments/{name}``, ``/assets`` with Bearer API-key auth."""

    max_attachment = 1_000_000

    def __init__(self, api_key: str = "mx-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.work_orders: dict[int, dict[str, Any]] = {}
        self.attachments: dict[int, list[tuple[str, str, bytes]]] = {}
        self.assets: list[dict[str, Any]] = []
        self.route("POST", "/workorders")(self._auth(self._create))
        self.route("GET", "/workorders")(self._auth(self._list))
        self.route("PUT", r"/workorders/(\d+)/attachments/(.+)")(self._auth(self._attach))
        self.route("GET", "/assets")(self._auth(self._assets))

    def _auth(self, handler: Any) -> Any:
        def checked(request: Recorded, match: re.Match[str]) -> Reply:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return Reply(401, json={"errors": [{"error": "Unauthorized"}]})
            result: Reply = handler(request, match)
            return result

        return checked

    def _create(self, request: Recorded, _match: re.Match[str]) -> Reply:
        def work() -> Reply:
            with self._lock:
                wo_id = next(self._ids)
                self.work_orders[wo_id] = request.json()
            return Reply(200, json={"id": wo_id})

        return self._run("create", work)

    def _list(self, request: Recorded, _match: re.Match[str]) -> Reply:
        with self._lock:
            items = [
                {
                    "id": i,
                    "sequentialId": i,
                    "title": wo["title"],
                    "status": "OPEN",
                    "description": wo.get("description"),
                    "updatedAt": "2026-01-01T00:00:00.000Z",
                    "createdAt": "2026-01-01T00:00:00.000Z",
                }
                for i, wo in sorted(self.work_orders.items(), reverse=True)
            ]
        return self._run("list", lambda: Reply(200, json={"workOrders": items, "nextCursor": None}))

    def _attach(self, request: Recorded, match: re.Match[str]) -> Reply:
        wo_id, filename = int(match.group(1)), match.group(2)
        if wo_id not in self.work_orders:
            return Reply(404, json={"errors": [{"error": "Work order not found"}]})
        if len(request.body) > self.max_attachment:
            return Reply(413, json={"errors": [{"error": "Attachment size must not exceed 1mB"}]})

        def work() -> Reply:
            with self._lock:
                entry = (filename, request.headers.get("content-type", ""), request.body)
                self.attachments.setdefault(wo_id, []).append(entry)
            return Reply(
                201, json={"publicUrl": f"https://files.example/{filename}", "filename": filename, "fileKey": filename}
            )

        return self._run("attach", work)

    def _assets(self, request: Recorded, _match: re.Match[str]) -> Reply:
        wanted = {k: v[-1] for k, v in request.query.items() if k in {"manufacturer", "model"}}
        found = [a for a in self.assets if all(a.get(k) == v for k, v in wanted.items())]
        return Reply(200, json={"assets": found, "nextCursor": None})


class FakeAtlas(_Scripted):
    """Atlas's JWT sign-in (with or without refresh tokens), file upload, work orders and searches."""

    def __init__(self, *, with_refresh: bool = False, files_licensed: bool = True) -> None:
        super().__init__()
        self.with_refresh = with_refresh
        self.files_licensed = files_licensed
        self.email, self.password = "bot@plant.example", "s3cret"
        self.valid_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self._tokens = itertools.count(1)
        self.work_orders: dict[int, dict[str, Any]] = {}
        self.files: dict[int, tuple[dict[str, str], bytes]] = {}
        self.assets: list[dict[str, Any]] = []
        self.signins = 0
        self.route("POST", "/auth/signin")(self._signin)
        self.route("POST", "/auth/refresh")(self._refresh)
        self.route("POST", "/files/upload")(self._auth(self._upload))
        self.route("POST", "/work-orders")(self._auth(self._create))
        self.route("POST", "/work-orders/search")(self._auth(self._search))
        self.route("PATCH", r"/work-orders/files/(\d+)/add")(self._auth(self._add_files))
        self.route("POST", "/assets/search")(self._auth(self._asset_search))

    def expire_tokens(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    def _issue(self) -> dict[str, Any]:
        access = f"jwt-{next(self._tokens)}"
        self.valid_tokens.add(access)
        reply: dict[str, Any] = {"accessToken": access}
        if self.with_refresh:
            refresh = f"refresh-{access}"
            self.refresh_tokens.add(refresh)
            reply |= {"refreshToken": refresh, "tokenType": "Bearer", "expiresAt": "2026-01-01T00:30:00Z"}
        return reply

    def _signin(self, request: Recorded, _match: re.Match[str]) -> Reply:
        body = request.json()
        if body.get("email") != self.email or body.get("password") != self.password:
            return Reply(401, json={"success": False, "message": "Invalid email/password supplied"})
        with self._lock:
            self.signins += 1
            return Reply(200, json=self._issue())

    def _refresh(self, request: Recorded, _match: re.Match[str]) -> Reply:
        with self._lock:
            token = request.json().get("refreshToken")
            if token not in self.refresh_tokens:
                return Reply(401, json={"success": False, "message": "Invalid refresh token"})
            self.refresh_tokens.discard(token)
            return Reply(200, json=self._issue())

    def _auth(self, handler: Any) -> Any:
        def checked(request: Recorded, match: re.Match[str]) -> Reply:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.valid_tokens:
                return Reply(401, json={"success": False, "message": "Expired or invalid JWT token"})
            result: Reply = handler(request, match)
            return result

        return checked

    def _upload(self, request: Recorded, _match: re.Match[str]) -> Reply:
        if not self.files_licensed:
            return Reply(403, json={"success": False, "message": "You need a license to add a file"})
        fields, content = parse_multipart(request)

        def work() -> Reply:
            with self._lock:
                file_id = next(self._ids)
                self.files[file_id] = (fields, content)
            return Reply(
                200,
                json=[
                    {
                        "id": file_id,
                        "name": "photo",
                        "url": f"/files/{file_id}",
                        "type": fields.get("type"),
                        "hidden": False,
                    }
                ],
            )

        return self._run("upload", work)

    def _create(self, request: Recorded, _match: re.Match[str]) -> Reply:
        body = request.json()
        if not body.get("title"):
            return Reply(400, json={"success": False, "message": "title must not be null"})

        def work() -> Reply:
            with self._lock:
                wo_id = next(self._ids)
                self.work_orders[wo_id] = body
            return Reply(200, json={**body, "id": wo_id, "customId": f"WO{wo_id:06d}", "status": "OPEN"})

        return self._run("create", work)

    def _search(self, request: Recorded, _match: re.Match[str]) -> Reply:
        (criterion,) = request.json()["filterFields"]
        assert criterion["field"] == "description" and criterion["operation"] == "cn"
        with self._lock:
            found = [
                {"id": i, **wo}
                for i, wo in self.work_orders.items()
                if criterion["value"] in (wo.get("description") or "")
            ]
        return self._run("search", lambda: Reply(200, json={"content": found, "totalElements": len(found)}))

    def _add_files(self, request: Recorded, match: re.Match[str]) -> Reply:
        wo = self.work_orders[int(match.group(1))]
        wo.setdefault("files", []).extend(request.json())
        return Reply(200, json={"id": int(match.group(1))})

    def _asset_search(self, request: Recorded, _match: re.Match[str]) -> Reply:
        (criterion,) = request.json()["filterFields"]
        found = [a for a in self.assets if a.get(criterion["field"]) == criterion["value"]]
        return Reply(200, json={"content": found, "totalElements": len(found)})


def parse_multipart(request: Recorded) -> tuple[dict[str, str], bytes]:
    """Form fields and the (single) file of a multipart/form-data body."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message: Message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    fields: dict[str, str] = {}
    content = b""
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            content = payload
        else:
            fields[str(name)] = payload.decode()
    return fields, content


class FakeWebhookReceiver(_Scripted):
    """A receiver that checks the Standard Webhooks signature and freshness and de-duplicates on the signed
    ``webhook-id``, as we ask receivers to."""

    def __init__(self, secret: str = "hook-secret") -> None:
        super().__init__()
        self.secret = secret
        self.events: dict[str, dict[str, Any]] = {}
        self.route("POST", "/hook")(self._receive)
        self.route("POST", r"/catch/\d+/\w+/")(self._receive)  # a Zapier-style hook: the path is a secret

    def _receive(self, request: Recorded, _match: re.Match[str]) -> Reply:
        import time

        if not verify(self.secret, request.headers, request.body, now=time.time()):
            return Reply(401, json={"error": "bad signature"})
        key = request.headers.get(ID_HEADER, "")  # signed, unlike Idempotency-Key: a replay cannot change it

        def work() -> Reply:
            with self._lock:
                self.events.setdefault(key, request.json())
            return Reply(200, json={"id": f"evt-{key}"})

        return self._run("receive", work)


class _OdooPaths(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeOdoo:
    """Odoo's ``/xmlrpc/2/common`` and ``/xmlrpc/2/object`` for maintenance.request and ir.attachment."""

    def __init__(self, *, db: str = "plant", login: str = "bot", api_key: str = "odoo-key", version: int = 17) -> None:
        self.db, self.login, self.api_key, self.version = db, login, api_key, version
        self.requests: dict[int, dict[str, Any]] = {}
        self.attachments: dict[int, dict[str, Any]] = {}
        self.equipment: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []  # (model, method)
        self.fail_next: list[Fault] = []
        self._ids = itertools.count(7)
        self._lock = threading.Lock()
        self._server: MultiPathXMLRPCServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        server = MultiPathXMLRPCServer(("127.0.0.1", 0), requestHandler=_OdooPaths, logRequests=False, allow_none=True)
        common = SimpleXMLRPCDispatcher(allow_none=True)
        common.register_function(lambda: {"server_version_info": [self.version, 0, 0, "final", 0]}, "version")
        common.register_function(self._authenticate, "authenticate")
        obj = SimpleXMLRPCDispatcher(allow_none=True)
        obj.register_function(self._execute_kw, "execute_kw")
        server.add_dispatcher("/xmlrpc/2/common", common)
        server.add_dispatcher("/xmlrpc/2/object", obj)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _authenticate(self, db: str, login: str, key: str, _env: dict[str, Any]) -> int | bool:
        return 2 if (db, login, key) == (self.db, self.login, self.api_key) else False

    def _execute_kw(
        self,
        db: str,
        uid: int,
        key: str,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        with self._lock:
            self.calls.append((model, method))
            if key != self.api_key or uid != 2 or db != self.db:
                raise Fault(3, "odoo.exceptions.AccessDenied: Access Denied")
            if self.fail_next:
                raise self.fail_next.pop(0)
            handler = getattr(self, f"_{model.replace('.', '_')}_{method}", None)
            if handler is None:
                raise Fault(2, f"fake: {model}.{method} not implemented")
            return handler(args, kwargs or {})

    def _maintenance_equipment_search_read(self, args: list[Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        (((field, op, value),),) = args
        assert (field, op) == ("serial_no", "=")
        return [{"id": e["id"]} for e in self.equipment if e["serial_no"] == value][: kwargs.get("limit", 80)]

    def _maintenance_request_create(self, args: list[Any], _kwargs: dict[str, Any]) -> int:
        (values,) = args
        if not values.get("name"):
            raise Fault(2, "odoo.exceptions.ValidationError: Subjects is required")
        request_id = next(self._ids)
        self.requests[request_id] = values
        return request_id

    def _maintenance_request_search_read(self, args: list[Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        (((field, op, value),),) = args
        assert (field, op) == ("description", "ilike")
        return [
            {"id": i, "description": r["description"]}
            for i, r in sorted(self.requests.items(), reverse=True)
            if value.lower() in str(r.get("description", "")).lower()
        ][: kwargs.get("limit", 80)]

    def _ir_attachment_create(self, args: list[Any], _kwargs: dict[str, Any]) -> int:
        (values,) = args
        attachment_id = next(self._ids)
        self.attachments[attachment_id] = {**values, "raw": base64.b64decode(values["datas"])}
        return attachment_id
