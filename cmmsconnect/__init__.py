"""cmmsconnect: turn a ``WorkOrder`` into a work order in the plant's CMMS, durably and exactly once.

Knows nothing of Telegram or of the pipeline. The bot builds ``CmmsSettings``, a connector with
``build_connector`` and an ``Outbox`` at start-up; it calls ``Outbox.submit`` inside its own transaction when
the technician confirms, and ``Outbox.deliver_due`` from its job queue.
"""

from cmmsconnect.build import build_connector
from cmmsconnect.connector import Connector, CreateResult, Progress
from cmmsconnect.entries import DeliveryReport, OutboxEntry
from cmmsconnect.errors import CmmsAuthExpired, CmmsError, CmmsRateLimited, CmmsRejected, CmmsUnavailable
from cmmsconnect.outbox import Outbox
from cmmsconnect.settings import CmmsSettings
from cmmsconnect.workorder import Labels, Reporter, WorkOrder, work_order_from_analysis

__all__ = [
    "CmmsAuthExpired",
    "CmmsError",
    "CmmsRateLimited",
    "CmmsRejected",
    "CmmsSettings",
    "CmmsUnavailable",
    "Connector",
    "CreateResult",
    "DeliveryReport",
    "Labels",
    "Outbox",
    "OutboxEntry",
    "Progress",
    "Reporter",
    "WorkOrder",
    "build_connector",
    "work_order_from_analysis",
]
