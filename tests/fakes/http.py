"""A small loopback HTTP server for fakes of the services we talk to (Telegram, model providers, CMMSs).

Each fake registers routes; a route handler takes the recorded request and the regex match and returns a
``Reply``. Every request is recorded in ``calls`` so tests assert on what the real client sent. The server runs
in a daemon thread (``ThreadingHTTPServer``) so the async code under test talks to it over real sockets.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Recorded:
    method: str
    path: str  # URL-decoded path without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """``application/x-www-form-urlencoded`` body as a flat dict (blank values kept)."""
        parsed = parse_qs(self.body.decode(), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}


HOLD_LIMIT_S = 30.0


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0  # seconds to wait before answering (a hang past the client's timeout)
    hold: threading.Event | None = None  # answer only once the test sets it (at most HOLD_LIMIT_S): no race on time


Handler = Callable[[Recorded, "re.Match[str]"], Reply]


def free_port() -> int:
    """A port nothing listens on (for "connection refused" tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FakeServer:
    def __init__(self) -> None:
        self.calls: list[Recorded] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routes ---------------------------------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(pattern + r"\Z"), handler))
            return handler

        return register

    def calls_to(self, pattern: str) -> list[Recorded]:
        regex = re.compile(pattern)
        with self._lock:
            return [c for c in self.calls if regex.search(c.path)]

    # -- lifecycle --------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for an ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=unquote(split.path),
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with fake._lock:
                    fake.calls.append(recorded)
                reply = fake._dispatch(recorded)
                if reply.hold is not None:
                    reply.hold.wait(HOLD_LIMIT_S)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                content_type = reply.content_type
                if reply.json is not None:
                    payload = json.dumps(reply.json).encode()
                    content_type = content_type or "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type or "application/octet-stream")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, request: Recorded) -> Reply:
        for method, pattern, handler in self._routes:
            if method == request.method and (match := pattern.match(request.path)):
                try:
                    return handler(request, match)
                except Exception as exc:  # a bug in a fake must show up, not hang the client
                    return Reply(status=599, json={"fake_error": repr(exc)})
        return Reply(status=404, json={"error": f"fake: no route for {request.method} {request.path}"})
