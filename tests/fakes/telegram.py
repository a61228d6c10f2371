"""A fake Telegram Bot API that a real PTB ``Application`` polls over loopback (SDK-FACTS section 1).

Point the bot at it with ``base_url=f"{fake.base_url}/bot"`` and ``base_file_url=f"{fake.base_url}/file/bot"``.
Tests inject user updates (builders in ``telegram_updates.py``), the bot long-polls them, and tests read what the
bot did through ``sent()`` (every call's fields) and ``bot_messages()`` (the chat as the user sees it, edits
applied, history kept). All state sits under one ``threading.Condition``: the server threads mutate it, the
long poll waits on it, the test's event loop reads it.

The fake validates what Telegram validates and bots get wrong: message length (UTF-16 units, after entity
parsing), callback_data size, "message is not modified", and HTML. The HTML check is deliberately a little
stricter than Telegram: a bare ``&``, ``<`` or ``>`` outside a tag is rejected (Telegram lets some through), so
an unescaped user string fails here before it fails in production.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakes.http import FakeServer, Recorded, Reply
from tests.fakes.telegram_html import plain_text
from tests.fakes.telegram_updates import JSON, BotMessage, Call, Transcript, UpdateBuilders, image_size
from tests.fakes.telegram_webhook import WebhookDelivery

MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
MAX_DOWNLOAD = 20 * 1024 * 1024  # cloud Bot API getFile limit
# Fields kept as strings; every other form value is JSON-decoded when it parses (chat_id "42" -> 42).
# fmt: off
STRING_FIELDS = frozenset({
    "text", "caption", "parse_mode", "payload", "title", "description", "currency", "provider_token",
    "start_parameter", "callback_query_id", "pre_checkout_query_id", "error_message", "file_id", "action",
    "telegram_payment_charge_id", "inline_message_id", "url", "photo", "document", "sticker", "voice", "emoji",
    "business_connection_id", "message_effect_id", "language_code", "secret_token",
})
# fmt: on


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def reply(self) -> Reply:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return Reply(status=self.status, json=body)


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Upload:
    filename: str | None
    content_type: str
    data: bytes


def parse_html(text: str) -> str:
    """Plain text of Telegram HTML; ``ApiError`` 400 "can't parse entities" when Telegram would refuse it."""
    try:
        return plain_text(text)
    except ValueError as exc:
        raise _bad(f"can't parse entities: {exc}") from exc


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _parse_params(request: Recorded) -> tuple[JSON, dict[str, Upload]]:
    content_type = request.headers.get("content-type", "")
    raw: dict[str, str] = {k: v[-1] for k, v in request.query.items()}
    uploads: dict[str, Upload] = {}
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        for part in BytesParser(policy=HTTP).parsebytes(head + request.body).iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            data = part.get_payload(decode=True) or b""
            assert isinstance(data, bytes)
            if part.get_filename() is None:
                raw[name] = data.decode()
            else:
                uploads[name] = Upload(part.get_filename(), part.get_content_type(), data)
    elif request.body:
        raw.update(request.form())
    params: JSON = {}
    for key, value in raw.items():
        try:
            params[key] = value if key in STRING_FIELDS else json.loads(value)
        except ValueError:
            params[key] = value
    params.update(uploads)
    return params, uploads


class FakeTelegram(UpdateBuilders, Transcript, WebhookDelivery, FakeServer):
    def __init__(self, token: str = "123456:TEST-TOKEN", username: str = "plc_copilot_test_bot") -> None:
        super().__init__()
        self.token = token
        self.bot_user: JSON = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "PLC Copilot",
            "username": username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._cond = threading.Condition()
        self._seq = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._queue: list[JSON] = []  # not yet confirmed by the bot
        self._again: list[JSON] = []  # redelivered, whatever the bot confirmed (see redeliver)
        self._injected: list[tuple[int, float, JSON]] = []  # (chat, order in chat, update) for dump()
        self._confirmed = 0  # highest getUpdates offset seen
        self._allowed: list[str] | None = None
        self._stopping = False
        self._message_ids: dict[int, int] = defaultdict(int)
        self._messages: dict[int, list[BotMessage]] = defaultdict(list)
        self._calls: list[Call] = []
        self._failures: dict[str, list[ApiError]] = defaultdict(list)
        self._refusals: list[list[Any]] = []  # [method, predicate, description, times left]
        self._files: dict[str, tuple[JSON, bytes]] = {}
        self._paths: dict[str, str] = {}
        self._commands: dict[str, Any] = {}
        self._blocked: set[int] = set()
        self._users: dict[int, JSON] = {}
        self._callbacks: dict[str, bool] = {}
        self._pre_checkouts: dict[str, JSON | None] = {}
        self._charges: dict[str, bool] = {}
        self.subscription_canceled: dict[str, bool] = {}  # charge id → is_canceled (editUserStarSubscription)
        self._init_webhook()  # setWebhook: deliver by POST instead of getUpdates (telegram_webhook.py)

        def done(params: JSON, uploads: dict[str, Upload]) -> bool:
            return True

        # fmt: off
        handlers: dict[str, Callable[[JSON, dict[str, Upload]], Any]] = {
            "getMe": lambda p, u: self.bot_user, "deleteWebhook": self._delete_webhook,
            "setMyCommands": self._set_commands, "getMyCommands": self._get_commands, "logOut": done, "close": done,
            "getUpdates": self._get_updates, "sendChatAction": done, "sendMessage": self._send_message,
            "editMessageText": lambda p, u: self._edit(p, "text"),
            "editMessageCaption": lambda p, u: self._edit(p, "caption"),
            "editMessageReplyMarkup": lambda p, u: self._edit(p, None), "deleteMessage": self._delete,
            "sendPhoto": self._send_photo, "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group, "getFile": lambda p, u: self._file_info(p["file_id"]),
            "answerCallbackQuery": self._answer_callback, "sendInvoice": self._send_invoice,
            "createInvoiceLink": lambda p, u: f"https://t.me/$fake_invoice_{next(self._seq)}",
            "answerPreCheckoutQuery": self._answer_pre_checkout, "refundStarPayment": self._refund,
            "editUserStarSubscription": self._edit_subscription,
            "setWebhook": self._set_webhook, "getWebhookInfo": self._webhook_info,
        }
        # fmt: on
        self._handlers = {name.lower(): (name, fn) for name, fn in handlers.items()}
        for verb in ("POST", "GET"):
            self.route(verb, r"/bot(?P<token>[^/]*)/(?P<method>\w+)")(self._api)
        self.route("GET", r"/file/bot(?P<token>[^/]*)/(?P<path>.+)")(self._download)

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def start(self) -> str:
        self._stopping = False
        return super().start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()  # release long polls still waiting
        super().stop()
        self._stop_webhook()

    # -- test controls ------------------------------------------------------------------------------
    def inject(self, kind: str, payload: JSON) -> JSON:
        with self._cond:
            update = {"update_id": next(self._update_ids), kind: payload}
            chat_id = payload.get("chat", payload.get("from", {})).get("id", 0)
            order = payload.get("message_id", self._message_ids[chat_id] + 0.5)
            if self.webhook_url is not None:
                self._webhook_enqueue(chat_id, update)
            else:
                self._queue.append(update)
            self._injected.append((chat_id, order, update))
            self._cond.notify_all()
        return update

    def redeliver(self, update: JSON) -> None:
        """Deliver an update a second time, as Telegram does when a webhook answer is lost or the bot died before
        confirming it: it comes at the head of the next ``getUpdates`` even if its id is below the offset."""
        with self._cond:
            if self.webhook_url is not None:
                kind = next(k for k in update if k != "update_id")
                payload = update[kind]
                self._webhook_enqueue(payload.get("chat", payload.get("from", {})).get("id", 0), update)
                return
            self._again.append(copy.deepcopy(update))
            self._cond.notify_all()

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        """The next call to ``method`` gets this error (queued: call twice to fail twice)."""
        with self._cond:
            self._failures[method.lower()].append(ApiError(status, description, retry_after))

    def refuse_when(self, method: str, when: Callable[[JSON], bool], description: str, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` whose fields satisfy ``when`` get a 400 with ``description``
        (e.g. refuse only the card, not the status edits before it)."""
        with self._cond:
            self._refusals.append([method.lower(), when, description, times])

    def block_user(self, user_id: int) -> None:
        """From now on every call aimed at this chat gets 403 "bot was blocked by the user"."""
        with self._cond:
            self._blocked.add(user_id)

    def add_file(self, file_id: str, data: bytes, file_path: str | None = None, file_size: int | None = None) -> JSON:
        """Serve ``data`` for getFile/download; ``file_size`` can claim a bigger size (20 MB tests)."""
        path = file_path or f"files/{file_id}"
        info = {
            "file_id": file_id,
            "file_unique_id": f"uq-{file_id}",
            "file_size": len(data) if file_size is None else file_size,
            "file_path": path,
        }
        with self._cond:
            self._files[file_id] = (info, data)
            self._paths[path] = file_id
        return dict(info)

    def next_message_id(self, chat_id: int) -> int:
        with self._cond:
            self._message_ids[chat_id] += 1
            return self._message_ids[chat_id]

    # -- HTTP ---------------------------------------------------------------------------------------
    def _api(self, request: Recorded, match: re.Match[str]) -> Reply:
        name, handler = self._handlers.get(match["method"].lower(), (match["method"], None))
        params, uploads = _parse_params(request)
        call = Call(name, params)
        with self._cond:
            self._calls.append(call)
            if match["token"] != self.token:  # wrong or revoked token: Telegram's exact answer, recorded
                call.error = "Unauthorized"
                return ApiError(401, "Unauthorized").reply()
            pending = self._failures.get(name.lower())
            try:
                if handler is None:  # Telegram says just "Not Found"; PTB turns it into InvalidToken
                    raise ApiError(404, f"Not Found: FakeTelegram does not implement {name}")
                if pending:
                    raise pending.pop(0)
                for rule in self._refusals:
                    if rule[0] == name.lower() and rule[3] > 0 and rule[1](params):
                        rule[3] -= 1
                        raise _bad(rule[2])
                if isinstance(params.get("chat_id"), int) and params["chat_id"] in self._blocked:
                    raise ApiError(403, "Forbidden: bot was blocked by the user")
                return Reply(json={"ok": True, "result": handler(params, uploads)})
            except KeyError as exc:
                call.error = f"Bad Request: parameter {exc} is required"
                return ApiError(400, call.error).reply()
            except ApiError as exc:
                call.error = exc.description
                return exc.reply()

    def _download(self, request: Recorded, match: re.Match[str]) -> Reply:
        with self._cond:
            file_id = self._paths.get(match["path"])
            if match["token"] != self.token or file_id is None:
                return ApiError(404, "Not Found").reply()
            return Reply(body=self._files[file_id][1], content_type="application/octet-stream")

    # -- methods (called with the lock held) ---------------------------------------------------------
    def _get_updates(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        if self.webhook_url is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset, limit = params.get("offset"), int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        if "allowed_updates" in params:
            self._allowed = params["allowed_updates"] or None
        if isinstance(offset, int) and offset < 0:
            self._queue = self._queue[offset:]
        elif isinstance(offset, int):
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
            self._confirmed = max(self._confirmed, offset)
        while True:
            if self._allowed is not None:  # Telegram never delivers the other kinds
                self._queue = [u for u in self._queue if set(u) & set(self._allowed)]
            remaining = deadline - time.monotonic()
            if self._queue or self._again or self._stopping or remaining <= 0:
                again, self._again = self._again, []
                return again + copy.deepcopy(self._queue[:limit])
            self._cond.wait(remaining)

    def _delete_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.webhook_url = None
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _set_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self._commands[json.dumps([params.get("scope"), params.get("language_code")])] = params["commands"]
        return True

    def _get_commands(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        return list(self._commands.get(json.dumps([params.get("scope"), params.get("language_code")]), []))

    def _chat_id(self, params: JSON) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise _bad("chat_id is empty" if chat_id is None else "chat not found")
        return chat_id

    def _markup(self, params: JSON) -> JSON | None:
        """The inline keyboard Telegram echoes back (None for none or reply keyboards), validated."""
        markup = params.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _render(self, params: JSON, key: str) -> str | None:
        text = params.get(key)
        if text is None:
            return None
        plain = parse_html(text) if str(params.get("parse_mode", "")).upper() == "HTML" else text
        if key == "caption" and _utf16_len(plain) > MAX_CAPTION:
            raise _bad("message caption is too long")
        if key == "text" and _utf16_len(plain) > MAX_TEXT:
            raise _bad("message is too long")
        if key == "text" and not plain.strip():
            raise _bad("message text is empty")
        return plain

    def _post(self, params: JSON, kind: str, content: JSON, key: str = "caption") -> JSON:
        chat_id = self._chat_id(params)
        markup, plain = self._markup(params), self._render(params, key)
        message_id = self.next_message_id(chat_id)
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id in self._users:
            chat["first_name"] = self._users[chat_id]["first_name"]
        body: JSON = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            **content,
        }
        if plain is not None:
            body[key] = plain
        if markup is not None:
            body["reply_markup"] = markup
        text = params.get(key)
        self._messages[chat_id].append(
            BotMessage(chat_id, message_id, kind, text, markup, body, [text], [time.monotonic()])
        )
        return copy.deepcopy(body)

    def _send_message(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        params.setdefault("text", "")
        return self._post(params, "text", {}, key="text")

    def _find(self, params: JSON, missing: str) -> BotMessage:
        chat_id = self._chat_id(params)
        for message in self._messages[chat_id]:
            if message.message_id == params.get("message_id") and not message.deleted:
                return message
        raise _bad(missing)

    def _edit(self, params: JSON, key: str | None) -> JSON | bool:
        if "inline_message_id" in params:
            return True
        message = self._find(params, "message to edit not found")
        if key == "text":
            params.setdefault("text", "")
        markup = self._markup(params)
        text = params.get(key) if key else message.text
        if key == "text" and message.kind != "text":
            raise _bad("there is no text in the message to edit")
        plain = self._render(params, key) if key else message.plain
        if text == message.text and markup == message.reply_markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        if key and plain is not None:
            message.json[key] = plain
            message.text = text
            message.history.append(text)
            message.times.append(time.monotonic())
        message.reply_markup = markup
        message.json.pop("reply_markup", None)
        if markup is not None:
            message.json["reply_markup"] = markup
        message.json["edit_date"] = int(time.time())
        return copy.deepcopy(message.json)

    def _delete(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        chat_id, message_id = self._chat_id(params), params.get("message_id")
        bot_ids = {m.message_id: m for m in self._messages[chat_id]}
        if message_id in bot_ids and not bot_ids[message_id].deleted:
            bot_ids[message_id].deleted = True
            return True
        if message_id not in bot_ids and 0 < int(message_id or 0) <= self._message_ids[chat_id]:
            return True  # a user's message
        raise _bad("message to delete not found")

    def _media(self, value: Any, kind: str, uploads: dict[str, Upload]) -> tuple[JSON, bytes, str | None]:
        """File info + bytes of a sent file: an upload, ``attach://name`` or a known file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = uploads.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            info = self.add_file(f"{kind}-bot-{next(self._seq)}", value.data)
            return info, value.data, value.filename
        if isinstance(value, str) and value in self._files:
            info, data = self._files[value]
            return dict(info), data, None
        raise _bad("wrong file identifier/HTTP URL specified")

    def _content(self, kind: str, value: Any, uploads: dict[str, Upload]) -> JSON:
        info, data, filename = self._media(value, kind, uploads)
        ids = {"file_id": info["file_id"], "file_unique_id": info["file_unique_id"], "file_size": len(data)}
        if kind == "photo":
            width, height = image_size(data)
            return {"photo": [{**ids, "width": width, "height": height}]}
        return {"document": {**ids, "file_name": filename or "file", "mime_type": "application/octet-stream"}}

    def _send_photo(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return self._post(params, "photo", self._content("photo", params.get("photo"), uploads))

    def _send_document(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return self._post(params, "document", self._content("document", params.get("document"), uploads))

    def _send_media_group(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        media = params.get("media") or []
        if not 2 <= len(media) <= 10:
            raise _bad("wrong number of media")
        group_id = str(next(self._seq))
        return [
            self._post(
                {**item, "chat_id": self._chat_id(params)},
                item["type"],
                {**self._content(item["type"], item["media"], uploads), "media_group_id": group_id},
            )
            for item in media
        ]

    def _send_invoice(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        invoice = {
            "title": params.get("title"),
            "description": params.get("description"),
            "start_parameter": params.get("start_parameter", ""),
            "currency": params.get("currency"),
            "total_amount": sum(p["amount"] for p in params.get("prices") or []),
        }
        return self._post(params, "invoice", {"invoice": invoice})

    def _file_info(self, file_id: str) -> JSON:
        if file_id not in self._files:
            raise _bad("invalid file_id")
        info = self._files[file_id][0]
        if info["file_size"] > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return dict(info)

    def _answer_callback(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        query_id = params.get("callback_query_id")
        if self._callbacks.get(query_id) is not False:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._callbacks[query_id] = True
        return True

    def _answer_pre_checkout(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        query_id = params.get("pre_checkout_query_id")
        if query_id not in self._pre_checkouts or self._pre_checkouts[query_id] is not None:
            raise _bad("QUERY_ID_INVALID")
        self._pre_checkouts[query_id] = {"ok": params.get("ok"), "error_message": params.get("error_message")}
        return True

    def _edit_subscription(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        """Cancel (or re-enable) the renewals of the Stars subscription a payment belongs to."""
        charge_id = params.get("telegram_payment_charge_id")
        if charge_id not in self._charges:
            raise _bad("CHARGE_ID_INVALID")
        if not isinstance(params.get("is_canceled"), bool) or not isinstance(params.get("user_id"), int):
            raise _bad("user_id and is_canceled are required")
        self.subscription_canceled[charge_id] = params["is_canceled"]
        return True

    def _refund(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        charge_id = params.get("telegram_payment_charge_id")
        if charge_id not in self._charges:
            raise _bad("CHARGE_NOT_FOUND")
        if self._charges[charge_id]:
            raise _bad("CHARGE_ALREADY_REFUNDED")
        self._charges[charge_id] = True
        return True
