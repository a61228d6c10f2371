"""The one place REST failures become cmmsconnect errors (``errors.py`` draws the tree).

Connectors call ``send`` with a request builder; it maps httpx exceptions and HTTP statuses through the pure
``policy.classify_status`` and, on 401/403, asks the connector to refresh its credentials once and rebuilds
the request (new token) before giving up with ``CmmsAuthExpired``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

from cmmsconnect.errors import CmmsAuthExpired, CmmsRateLimited, CmmsRejected, CmmsUnavailable
from cmmsconnect.policy import Outcome, classify_status, parse_retry_after

RequestBuilder = Callable[[], Awaitable[httpx.Request]]


def make_client(base_url: str, *, timeout_s: float, connect_timeout_s: float) -> httpx.AsyncClient:
    timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
    return httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, follow_redirects=False)


async def send(
    client: httpx.AsyncClient,
    build: RequestBuilder,
    *,
    refresh_auth: Callable[[], Awaitable[None]] | None = None,
) -> httpx.Response:
    """Send, map errors, refresh auth once. Returns only 2xx responses."""
    response = await _send_once(client, await build())
    if classify_status(response.status_code) is Outcome.REFRESH_AUTH and refresh_auth is not None:
        await refresh_auth()
        response = await _send_once(client, await build())
    raise_for_status(response)
    return response


async def _send_once(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    try:
        return await client.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise CmmsUnavailable(f"{request.method} {request.url.path}: cannot connect ({exc!r})") from exc
    except httpx.TransportError as exc:
        # The request may have been written before the read timed out or the connection dropped.
        raise CmmsUnavailable(f"{request.method} {request.url.path}: {exc!r}", maybe_sent=True) from exc


def raise_for_status(response: httpx.Response, *, now: datetime | None = None) -> None:
    status = response.status_code
    outcome = classify_status(status)
    if outcome is Outcome.OK:
        return
    where = f"{response.request.method} {response.request.url.path}"
    detail = f"{where} → {status}: {response.text[:300]}"
    headers = {k.lower(): v for k, v in response.headers.items()}
    if outcome is Outcome.RATE_LIMITED:
        raise CmmsRateLimited(detail, retry_after=parse_retry_after(headers, now or datetime.now(UTC)))
    if outcome is Outcome.REFRESH_AUTH:
        raise CmmsAuthExpired(detail, status=status)
    if outcome is Outcome.PERMANENT:
        raise CmmsRejected(detail, status=status)
    retry_after = parse_retry_after(headers, now or datetime.now(UTC))
    if retry_after is not None:  # a 503 with Retry-After is a polite "come back later"
        raise CmmsRateLimited(detail, retry_after=retry_after, status=status)
    raise CmmsUnavailable(detail, status=status, maybe_sent=outcome is Outcome.UNKNOWN)
