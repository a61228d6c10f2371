"""The test's side of ``FakeTelegram``: what users do (``UpdateBuilders``) and what the bot did (``Transcript``).

Both are mixins over the fake's state; the Bot API side lives in ``telegram.py``. Each builder assembles the
exact JSON the Bot API would deliver (shapes checked against PTB 22.8 ``Update.de_json``, see SDK-FACTS 1.3),
queues it for ``getUpdates`` and returns the update dict. Users chat with the bot privately, so chat id ==
user id; message ids share one counter per chat with the bot's own messages, as in a real private chat.
"""

from __future__ import annotations

import asyncio
import copy
import io
import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

JSON = dict[str, Any]


def image_size(data: bytes) -> tuple[int, int]:
    """Real width/height of an image; (1280, 960) for bytes Pillow cannot read (corrupt-photo tests)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (UnidentifiedImageError, OSError):
        return 1280, 960


def _scaled(size: tuple[int, int], longest: int) -> tuple[int, int]:
    width, height = size
    factor = min(1.0, longest / max(width, height, 1))
    return max(1, round(width * factor)), max(1, round(height * factor))


@dataclass
class Call:
    method: str
    params: JSON  # decoded fields; uploads appear as ``Upload`` values
    error: str | None = None  # description when the fake answered with an error


@dataclass
class BotMessage:
    chat_id: int
    message_id: int
    kind: str  # "text", "photo", "document", "invoice"
    text: str | None  # text or caption as the bot sent it (HTML source when parse_mode is HTML)
    reply_markup: JSON | None
    json: JSON  # the Message object the API returned (plain text, as a client shows it)
    history: list[str | None] = field(default_factory=list)  # every text it has had, oldest first
    times: list[float] = field(default_factory=list)  # time.monotonic() of each entry in ``history``
    deleted: bool = False

    @property
    def plain(self) -> str | None:
        return self.json.get("text", self.json.get("caption"))

    @property
    def buttons(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button.get("callback_data") or button.get("url", "") for row in rows for button in row]


class UpdateBuilders:
    """What users do: each builder queues one update and returns it."""

    # Provided by FakeTelegram.
    _seq: itertools.count[int]
    _users: dict[int, JSON]
    _callbacks: dict[str, bool]  # callback query id -> answered
    _pre_checkouts: dict[str, JSON | None]  # query id -> the bot's answer
    _charges: dict[str, bool]  # telegram_payment_charge_id -> refunded

    def inject(self, kind: str, payload: JSON) -> JSON:
        raise NotImplementedError

    def add_file(self, file_id: str, data: bytes, file_path: str | None = None) -> JSON:
        raise NotImplementedError

    def next_message_id(self, chat_id: int) -> int:
        raise NotImplementedError

    # -- users ---------------------------------------------------------------------------------------
    def user(
        self, user_id: int, first_name: str | None = None, language_code: str = "en", username: str | None = None
    ) -> JSON:
        """Register (or update) how a user looks; builders use a default "User<id>" otherwise."""
        data: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
            "language_code": language_code,
        }
        if username:
            data["username"] = username
        self._users[user_id] = data
        return data

    def _from(self, user_id: int) -> JSON:
        return dict(self._users.get(user_id) or self.user(user_id))

    def _chat_of(self, user_id: int) -> JSON:
        return {"id": user_id, "type": "private", "first_name": self._from(user_id)["first_name"]}

    def _message(self, user_id: int, **fields: Any) -> JSON:
        message = {
            "message_id": self.next_message_id(user_id),
            "date": int(time.time()),
            "from": self._from(user_id),
            "chat": self._chat_of(user_id),
        }
        message.update({k: v for k, v in fields.items() if v is not None})
        return self.inject("message", message)

    def _file(self, prefix: str, folder: str, data: bytes, suffix: str = "") -> JSON:
        n = next(self._seq)
        return self.add_file(f"{prefix}-{n}", data, f"{folder}/file_{n}{suffix}")

    # -- messages ------------------------------------------------------------------------------------
    def send_text(
        self, user_id: int, text: str, reply_to_message_id: int | None = None, group: JSON | None = None
    ) -> JSON:
        chat_id = group["id"] if group is not None else user_id
        reply = self.bot_message_json(chat_id, reply_to_message_id) if reply_to_message_id else None
        return self._message(user_id, text=text, reply_to_message=reply, chat=group)

    def send_command(self, user_id: int, command: str, group: JSON | None = None) -> JSON:
        """``command`` is the whole text, e.g. "/start ref_42"; the entity covers the command word. ``group``
        (a chat object, e.g. ``{"id": -100123, "type": "supergroup", "title": "Plant"}``) sends it there."""
        word = command.split(maxsplit=1)[0]
        return self._message(
            user_id, text=command, entities=[{"type": "bot_command", "offset": 0, "length": len(word)}], chat=group
        )

    def send_photo(
        self,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        media_group_id: str | None = None,
        group: JSON | None = None,
    ) -> JSON:
        """Three PhotoSizes, ascending; the largest carries the real size of ``data``, all serve ``data``."""
        full = image_size(data)
        sizes = []
        for tag, dims in (("s", _scaled(full, 90)), ("m", _scaled(full, 320)), ("l", full)):
            info = self._file(f"photo{tag}", "photos", data, ".jpg")
            sizes.append(
                {
                    "file_id": info["file_id"],
                    "file_unique_id": info["file_unique_id"],
                    "file_size": len(data),
                    "width": dims[0],
                    "height": dims[1],
                }
            )
        return self._message(user_id, photo=sizes, caption=caption, media_group_id=media_group_id, chat=group)

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> JSON:
        suffix = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
        info = self._file("document", "documents", data, suffix)
        document = {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "file_size": len(data),
            "file_name": file_name,
            "mime_type": mime_type,
        }
        return self._message(user_id, document=document, caption=caption, media_group_id=media_group_id)

    def edit_message(self, update: JSON, **changes: Any) -> JSON:
        """The user edits the message of an earlier update (text or caption): Telegram sends ``edited_message``
        with the same message id and the new content."""
        message = {**copy.deepcopy(update["message"]), **changes, "edit_date": int(time.time())}
        return self.inject("edited_message", message)

    def send_sticker(self, user_id: int, emoji: str = "👍") -> JSON:
        info = self._file("sticker", "stickers", b"RIFF-fake-webp", ".webp")
        sticker = {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._message(user_id, sticker=sticker)

    def send_voice(self, user_id: int, data: bytes = b"OggS-fake", duration: int = 2) -> JSON:
        info = self._file("voice", "voice", data, ".oga")
        voice = {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._message(user_id, voice=voice)

    # -- buttons and payments -----------------------------------------------------------------------
    def press_button(
        self, user_id: int, message_id: int, data: str, strict: bool = True, chat_id: int | None = None
    ) -> JSON:
        """A callback query on bot message ``message_id`` (in ``chat_id``, default the user's private chat);
        ``strict`` checks such a button exists."""
        message = self.bot_message_json(user_id if chat_id is None else chat_id, message_id)
        if strict:
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            offered = [b.get("callback_data") for row in rows for b in row]
            assert data in offered, f"message {message_id} has no button {data!r}; it offers {offered}"
        query_id = f"cbq-{next(self._seq)}"
        self._callbacks[query_id] = False
        return self.inject(
            "callback_query",
            {
                "id": query_id,
                "from": self._from(user_id),
                "chat_instance": f"ci-{user_id}",
                "message": message,
                "data": data,
            },
        )

    def pre_checkout(self, user_id: int, payload: str, total_amount: int, currency: str = "XTR") -> JSON:
        query_id = f"pcq-{next(self._seq)}"
        self._pre_checkouts[query_id] = None
        return self.inject(
            "pre_checkout_query",
            {
                "id": query_id,
                "from": self._from(user_id),
                "currency": currency,
                "total_amount": total_amount,
                "invoice_payload": payload,
            },
        )

    def successful_payment(
        self,
        user_id: int,
        payload: str,
        total_amount: int,
        charge_id: str,
        subscription_expiration_date: int | None = None,
        is_recurring: bool = False,
        is_first_recurring: bool = False,
        currency: str = "XTR",
    ) -> JSON:
        payment: JSON = {
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": "",
        }
        if subscription_expiration_date is not None:
            payment["subscription_expiration_date"] = subscription_expiration_date
        if is_recurring:
            payment["is_recurring"] = True
        if is_first_recurring:
            payment["is_first_recurring"] = True
        self._charges[charge_id] = False
        return self._message(user_id, successful_payment=payment)


class Transcript:
    """What the bot did, read by tests: its calls, its messages as the user sees them, and waiting for both."""

    # Provided by FakeTelegram; read under its condition.
    _cond: threading.Condition
    _calls: list[Call]
    _messages: dict[int, list[BotMessage]]
    _injected: list[tuple[int, float, JSON]]  # (chat, order in the chat, update)
    _confirmed: int  # highest getUpdates offset seen

    def bot_message_json(self, chat_id: int, message_id: int) -> JSON:
        with self._cond:
            for message in self._messages[chat_id]:
                if message.message_id == message_id:
                    return copy.deepcopy(message.json)
        raise AssertionError(f"the bot sent no message {message_id} in chat {chat_id}\n{self.dump()}")

    def sent(
        self, method: str | None = None, chat_id: int | str | None = None, include_failed: bool = True
    ) -> list[JSON]:
        """Fields of the bot's calls, oldest first (JSON fields decoded, uploads as ``Upload``)."""
        with self._cond:
            return [
                dict(c.params)
                for c in self._calls
                if (method is None or c.method.lower() == method.lower())
                and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
                and (include_failed or c.error is None)
            ]

    def bot_messages(self, chat_id: int, include_deleted: bool = False) -> list[BotMessage]:
        with self._cond:
            return [copy.deepcopy(m) for m in self._messages[chat_id] if include_deleted or not m.deleted]

    def last_message(self, chat_id: int) -> BotMessage | None:
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
        """Poll until ``predicate()`` is truthy and return its value; exceptions in it count as "not yet"."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                if value := predicate():
                    return value
            except Exception as exc:
                last_error = exc
            if time.monotonic() > deadline:
                message = f"condition not met within {timeout}s (last error: {last_error!r})"
                raise AssertionError(f"{message}\n{self.dump()}")
            await asyncio.sleep(0.01)

    async def wait_until_confirmed(self, update: int | JSON, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot polled with an offset past this update (it has taken it)."""
        update_id = update["update_id"] if isinstance(update, dict) else update
        await self.wait_for(lambda: self._confirmed > update_id, timeout)

    def dump(self) -> str:
        """The transcript of every chat (user ">" and bot "<" lines by message id) and the recent calls."""
        with self._cond:
            lines: dict[int, list[tuple[float, str]]] = defaultdict(list)
            for chat_id, order, update in self._injected:
                kind, body = next((k, v) for k, v in update.items() if k != "update_id")
                shown = {k: v for k, v in body.items() if k not in ("from", "chat", "date", "message")}
                lines[chat_id].append((order, f"  > update {update['update_id']} {kind} {shown}"))
            for chat_id, messages in self._messages.items():
                for m in messages:
                    gone = " (deleted)" if m.deleted else ""
                    text = f"  < msg {m.message_id} {m.kind}{gone}: {m.text!r} buttons={m.buttons}"
                    lines[chat_id].append((m.message_id, f"{text} earlier={m.history[:-1]}"))
            calls = [c.method + (f" !{c.error}" if c.error else "") for c in self._calls[-40:]]
        out = [
            f"chat {chat}:\n" + "\n".join(t for _, t in sorted(rows, key=lambda r: r[0]))
            for chat, rows in lines.items()
        ]
        return "\n".join(["--- fake Telegram transcript ---", *out, f"recent calls: {calls}"])
