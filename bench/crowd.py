"""A crowd of technicians at Telegram's rate limit: the real ``plc-copilot run`` process, the fake Bot API, Gemini
answering in ``MODEL_S``.

For each N, N technicians send a different photo at the same moment (misses), then the same photos again (cache
hits), then N more photos while the model hangs and one other user sends /help. Measured from the moment the
updates are queued at the fake Bot API to the first bot message in the chat (ack) and to the card. Three bots:
``today`` (the code before bot/updates landed, ``git archive TODAY``), ``now`` at Telegram's 30 msg/s, and ``now``
with its limiter at 1,000 msg/s (the difference is Telegram's share). Beside them, Telegram's floor: N messages
sent through ``AIORateLimiter`` at 30 msg/s by a bot doing nothing else.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from telegram.ext import AIORateLimiter, ExtBot

from bench._common import REPO_ROOT, print_table
from tests.conftest import make_photo
from tests.fakes.providers import FakeProviders, Text, analysis_json
from tests.fakes.telegram import FakeTelegram

TODAY = "da77727"  # main just before bot/updates (the update inbox and per-chat runner) landed
SIZES = (10, 30, 60, 120)
MODEL_S = 0.3
HANG_S = 20.0
TOKEN = "123456:AAH-fake-token-for-bench-0123456789ab"
CARD = "PowerFlex"
WAIT_S = 240.0


@dataclass
class Round:
    ack: list[float]
    card: list[float]
    messages: float  # sendMessage + editMessageText per photo


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _message_calls(telegram: FakeTelegram) -> int:
    return len(telegram.sent("sendMessage", include_failed=False)) + len(
        telegram.sent("editMessageText", include_failed=False)
    )


async def _round(telegram: FakeTelegram, users: list[int], seeds: list[int]) -> Round:
    before = {u: len(telegram.bot_messages(u)) for u in users}
    calls = _message_calls(telegram)
    photos = [make_photo(seed) for seed in seeds]
    t0 = time.monotonic()
    for user, photo in zip(users, photos, strict=True):
        telegram.send_photo(user, photo)

    def card_time(user: int) -> float | None:
        times = [
            t
            for m in telegram.bot_messages(user)[before[user] :]
            for h, t in zip(m.history, m.times, strict=True)
            if CARD in (h or "")
        ]
        return min(times) if times else None

    await telegram.wait_for(lambda: all(card_time(u) is not None for u in users), timeout=WAIT_S)
    await asyncio.sleep(0.5)  # late progress edits, if any, count too
    acks = [telegram.bot_messages(u)[before[u]].times[0] - t0 for u in users]
    cards = [(card_time(u) or 0.0) - t0 for u in users]
    return Round(acks, cards, (_message_calls(telegram) - calls) / len(users))


async def _help_while_hanging(telegram: FakeTelegram, users: list[int], seeds: list[int]) -> float:
    for user, seed in zip(users, seeds, strict=True):
        telegram.send_photo(user, make_photo(seed))
    await asyncio.sleep(0.2)
    other = 99_999
    t0 = time.monotonic()
    telegram.send_command(other, "/help")
    await telegram.wait_for(lambda: telegram.bot_messages(other), timeout=WAIT_S)
    return telegram.bot_messages(other)[0].times[0] - t0


def _start(
    code: Path, telegram: FakeTelegram, providers: FakeProviders, db: Path, rate: int
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_HOST", "_TOKEN", "DATABASE_URL"))}
    env.update({key.upper(): str(value) for key, value in providers.settings_overrides().items()})
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=telegram.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        CASCADE="gemini",
        LOG_LEVEL="WARNING",
        TELEGRAM_RATE_LIMIT=str(rate),
        FREE_PHOTOS="10",
        PYTHONPATH=str(code),
    )
    module = "bot.cli.main" if (code / "bot" / "cli" / "main.py").is_file() else "bot.cli"  # before the bot/ layout
    return subprocess.Popen(
        [sys.executable, "-m", module, "--env-file", os.devnull, "run"],
        env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def _one(code: Path, n: int, rate: int) -> list[object]:
    with tempfile.TemporaryDirectory() as folder, FakeTelegram(token=TOKEN) as telegram, FakeProviders() as providers:
        providers.set_default("gemini", Text(analysis_json(), delay=MODEL_S))
        process = _start(code, telegram, providers, Path(folder) / "crowd.db", rate)
        try:
            await telegram.wait_for(lambda: telegram.sent("getUpdates"), timeout=WAIT_S)
            users = list(range(10_001, 10_001 + n))
            miss = await _round(telegram, users, [1000 + u for u in users])
            hit = await _round(telegram, users, [1000 + u for u in users])
            providers.set_default("gemini", Text(analysis_json(), delay=HANG_S))
            help_s = await _help_while_hanging(telegram, users, [5000 + u for u in users])
        finally:
            process.kill()
            process.wait()
    return [
        n,
        ms(pct(miss.ack, 0.5)), ms(pct(miss.ack, 0.99)), ms(pct(miss.card, 0.5)), ms(pct(miss.card, 0.99)),
        round(miss.messages, 2),
        ms(pct(hit.card, 0.5)), ms(pct(hit.card, 0.99)), round(hit.messages, 2),
        ms(help_s),
    ]  # fmt: skip


async def _floor(n: int, rate: int) -> list[float]:
    """N messages to N chats through AIORateLimiter alone: when each arrived, from the first call."""
    with FakeTelegram(token=TOKEN) as telegram:
        limiter = AIORateLimiter(overall_max_rate=rate, overall_time_period=1)
        async with ExtBot(TOKEN, base_url=f"{telegram.base_url}/bot", rate_limiter=limiter) as bot:
            t0 = time.monotonic()

            async def one(chat: int) -> float:
                await bot.send_message(chat, "🔎 Analyzing…")
                return time.monotonic() - t0

            return list(await asyncio.gather(*(one(20_000 + i) for i in range(n))))


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def _today() -> tempfile.TemporaryDirectory[str]:
    folder = tempfile.TemporaryDirectory()
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", TODAY], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", folder.name], input=archive.stdout, check=True)
    return folder


HEADERS = [
    "N", "ack p50 ms", "ack p99 ms", "card p50 ms", "card p99 ms", "msgs/photo",
    "hit card p50", "hit card p99", "hit msgs/photo", "/help while model hangs ms",
]  # fmt: skip


def run(sizes: tuple[int, ...] = SIZES, *, now_only: bool = False) -> None:
    today = _today()
    variants: list[tuple[str, Path, int]] = [
        (f"today ({TODAY}), 30 msg/s", Path(today.name), 30),
        ("now, 30 msg/s", REPO_ROOT, 30),
        ("now, limiter at 1,000 msg/s", REPO_ROOT, 1000),
    ]
    if now_only:  # a quick look at a change: the current code at Telegram's rate only
        variants = variants[1:2]
    try:
        for name, code, rate in variants:
            rows = [asyncio.run(_one(code, n, rate)) for n in sizes]
            print_table(f"{name}: model {MODEL_S * 1000:.0f} ms", HEADERS, rows)
    finally:
        today.cleanup()
    floor_rows = []
    for n in sizes:
        arrived = asyncio.run(_floor(n, 30))
        floor_rows.append([n, ms(statistics.median(arrived)), ms(pct(arrived, 0.99)), ms(max(arrived))])
    print_table(
        "Telegram's floor: N messages through AIORateLimiter at 30 msg/s",
        ["N", "p50 ms", "p99 ms", "last ms"],
        floor_rows,
    )


def main(argv: list[str]) -> None:
    """``python -m bench.crowd [N …] [--now-only]``."""
    run(tuple(int(a) for a in argv if a.isdigit()) or SIZES, now_only="--now-only" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
