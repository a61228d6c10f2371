"""Webhook delivery for ``FakeTelegram``, the way Telegram's own server does it (SCALE-FACTS, from
tdlib/telegram-bot-api's ``WebhookActor``): once ``setWebhook`` names a URL, updates are queued per chat (per
user for chat-less ones), only the head of each chat's queue is in flight, and the next one goes only after a
2xx for it. A non-2xx or a refused connection is retried with a doubling delay (here from 50 ms up to 1 s, where
Telegram starts at 2 s: tests should not wait minutes); ``Retry-After`` is honoured. Chats are delivered
concurrently, one thread each. ``getUpdates`` answers 409 while a webhook is set.

``balance_to(urls)`` spreads requests over several ingress processes, as an HTTP (L7) load balancer in front of
them would, round-robin per request.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import urllib.error
import urllib.request
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_RETRY_S, MAX_RETRY_S = 0.05, 1.0


@dataclass
class Delivery:
    update_id: int
    chat_id: int
    target: str
    status: int  # 0: the connection failed


class WebhookDelivery:
    """Mixed into ``FakeTelegram``; uses its ``_cond`` and ``_stopping``."""

    _cond: threading.Condition
    _stopping: bool

    def _init_webhook(self) -> None:
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.deliveries: list[Delivery] = []  # every attempt, in order
        self._targets: list[str] = []
        self._round_robin = itertools.count()
        self._chat_queues: dict[int, deque[JSON]] = defaultdict(deque)
        self._chat_threads: dict[int, threading.Thread] = {}

    def balance_to(self, urls: list[str]) -> None:
        """Deliver to these URLs in turn instead of the one given to ``setWebhook`` (a load balancer)."""
        with self._cond:
            self._targets = list(urls)

    def delivered(self, update_id: int) -> bool:
        with self._cond:
            return any(d.update_id == update_id and 200 <= d.status < 300 for d in self.deliveries)

    # -- Bot API methods (lock held) -----------------------------------------------------------------------
    def _set_webhook(self, params: JSON, uploads: Any) -> bool:
        self.webhook_url = str(params["url"])
        self.webhook_secret = params.get("secret_token")
        for chat_id, queue in self._chat_queues.items():
            if queue:
                self._start_chat(chat_id)
        return True

    def _webhook_info(self, params: JSON, uploads: Any) -> JSON:
        pending = sum(len(q) for q in self._chat_queues.values())
        return {"url": self.webhook_url or "", "has_custom_certificate": False, "pending_update_count": pending}

    def _webhook_enqueue(self, chat_id: int, update: JSON) -> None:
        """Lock held. Queue an update for its chat; its thread delivers it once the webhook is set."""
        self._chat_queues[chat_id].append(copy.deepcopy(update))
        if self.webhook_url is not None:
            self._start_chat(chat_id)
        self._cond.notify_all()

    # -- delivery ---------------------------------------------------------------------------------------------
    def _start_chat(self, chat_id: int) -> None:
        thread = self._chat_threads.get(chat_id)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=self._deliver_chat, args=(chat_id,), daemon=True)
            self._chat_threads[chat_id] = thread
            thread.start()

    def _deliver_chat(self, chat_id: int) -> None:
        pause = FIRST_RETRY_S
        while True:
            with self._cond:
                while not self._chat_queues[chat_id] and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                update = self._chat_queues[chat_id][0]
                targets = self._targets or [self.webhook_url or ""]
                target = targets[next(self._round_robin) % len(targets)]
                secret = self.webhook_secret
            status, retry_after = _post(target, update, secret)
            with self._cond:
                self.deliveries.append(Delivery(update["update_id"], chat_id, target, status))
                if 200 <= status < 300:
                    self._chat_queues[chat_id].popleft()  # the next update of this chat may go now
                    pause = FIRST_RETRY_S
                    self._cond.notify_all()
                    continue
                wait = retry_after if retry_after is not None else pause
                pause = min(pause * 2, MAX_RETRY_S)
                self._cond.wait(wait)  # woken early only by stop()

    def _stop_webhook(self) -> None:
        for thread in list(self._chat_threads.values()):
            thread.join(timeout=5)


def _post(url: str, update: JSON, secret: str | None) -> tuple[int, float | None]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        after = exc.headers.get("Retry-After") if exc.headers else None
        return exc.code, float(after) if after and after.isdigit() else None
    except (urllib.error.URLError, OSError):
        return 0, None  # not listening yet, or the connection dropped: retried like a 5xx
