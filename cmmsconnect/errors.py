"""Typed errors of the CMMS boundary.

The outbox branches on these types only, never on httpx's or xmlrpc's; each transport maps its errors into
this tree in one place (``cmmsconnect._http`` for REST, ``connectors.odoo._call`` for XML-RPC)::

    CmmsError
    ├── CmmsUnavailable      connection refused, timeout, 5xx: retry with backoff
    │                        (``maybe_sent``: the request may have reached the CMMS, so search before resending)
    ├── CmmsRateLimited      429 (``retry_after`` seconds, from Retry-After or X-Rate-Limit-Reset)
    ├── CmmsAuthExpired      401/403 even after one token refresh: retry later, admins should look
    └── CmmsRejected         400/404/409/413/422: this request will never succeed as it is
"""

from __future__ import annotations


class CmmsError(Exception):
    """Base of every error a connector raises to the outbox."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class CmmsUnavailable(CmmsError):
    def __init__(self, message: str, *, status: int | None = None, maybe_sent: bool = False) -> None:
        super().__init__(message, status=status)
        self.maybe_sent = maybe_sent


class CmmsRateLimited(CmmsError):
    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class CmmsAuthExpired(CmmsError):
    pass


class CmmsRejected(CmmsError):
    pass
