"""Where Telegram updates enter: the inbox (every update recorded by ``update_id`` before it is acted on, so a
redelivery is recognised and interrupted work is found), the order updates run in (chats concurrently, each
chat's updates in the order sent), and recovery after a crash. ``UpdateRunner`` is the interface handlers use;
``ChatOrderedProcessor`` is the embedded runner (one process, python-telegram-bot's update processor)."""

from bot.updates.processor import ChatOrderedProcessor
from bot.updates.recovery import Recovered, recover
from bot.updates.runner import Finish, UpdateRunner

__all__ = ["ChatOrderedProcessor", "Finish", "Recovered", "UpdateRunner", "recover"]
