"""Ask Telegram who the token belongs to (``getMe``) before anything else depends on it.

A well-formed token can still be wrong or revoked; only Telegram knows. ``run`` asks first so a rejected token
ends in one sentence instead of python-telegram-bot's tracebacks, and ``doctor`` shows the bot's @username so
the admin sees *which* bot the deployment talks to. No message here ever contains the token.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from bot.runtime.settings import BotSettings


@dataclass(frozen=True)
class TokenCheck:
    """``username`` when Telegram accepted the token; otherwise ``problem`` is one sentence for the admin."""

    username: str | None = None
    problem: str | None = None
    rejected: bool = False


REJECTED = (
    "Telegram rejected TELEGRAM_BOT_TOKEN: the token is wrong or was revoked. "
    "In Telegram, open @BotFather, send /mybots, pick the bot, press 'API Token' and put that token in .env."
)


async def check_token(settings: BotSettings, *, timeout_s: float = 10.0) -> TokenCheck:
    """``getMe`` against ``TELEGRAM_API_URL``; never raises for Telegram's or the network's answer."""
    problem = settings.token_problem()
    if problem is not None:
        return TokenCheck(problem=problem, rejected=True)
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value().strip()
    api = settings.telegram_api_url
    bot = Bot(token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")
    try:
        # initialize() is PTB's own getMe; the timeout bounds a Telegram that accepts the connection and hangs.
        async with asyncio.timeout(timeout_s):
            await bot.initialize()
        me = bot.bot
    except InvalidToken:  # 401 or 404 from getMe; PTB's own message would quote the token
        return TokenCheck(problem=REJECTED, rejected=True)
    except (TimedOut, NetworkError, TimeoutError) as exc:
        return TokenCheck(
            problem=f"Cannot reach Telegram at {api} ({_why(exc, token)}). Check the network or TELEGRAM_API_URL."
        )
    except TelegramError as exc:
        return TokenCheck(problem=f"Telegram refused getMe ({_why(exc, token)}).")
    finally:
        await bot.shutdown()
    return TokenCheck(username=me.username)


def _why(exc: Exception, token: str) -> str:
    """PTB's message for the error, with the token masked in case a proxy echoed the URL back."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.replace(token, "<token>")
