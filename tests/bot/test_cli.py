"""``plc-copilot`` commands, run in-process with the environment pointing at fake servers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.bot.conftest import TOKEN
from tests.conftest import make_photo
from tests.fakes.http import free_port
from tests.fakes.providers import FakeProviders, server_error
from tests.fakes.telegram import FakeTelegram
from tests.plate import MemoReader, Plate, render

NO_ENV_FILE = ["--env-file", os.devnull]  # an empty settings file: the environment only
SETTINGS_VARS = (
    "OLLAMA_HOST",
    "GEMINI_API_KEY",
    "XAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "TELEGRAM_BOT_TOKEN",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, empty_db_url: str) -> Iterator[FakeProviders]:
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)  # an unmigrated database, SQLite and PostgreSQL
    with FakeProviders() as fake:
        for key, value in fake.settings_overrides().items():
            monkeypatch.setenv(key.upper(), str(value))
        yield fake


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as fake:
        monkeypatch.setenv("TELEGRAM_API_URL", fake.base_url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        yield fake


def test_run_without_token_says_what_to_set(env: FakeProviders, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*NO_ENV_FILE, "run"]) == 2
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err and ".env" in err and "@BotFather" in err


def test_migrate_creates_the_database(env: FakeProviders, empty_db_url: str) -> None:
    from tests.bot.test_migrations import _tables

    assert main([*NO_ENV_FILE, "migrate"]) == 0
    assert {"users", "cmms_outbox"} <= _tables(empty_db_url)


def test_analyze_prints_the_card_and_a_receipt(
    env: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASCADE", "ollama:0.8,gemini")
    env.script("ollama", server_error(500))
    photo = tmp_path / "nameplate.jpg"
    photo.write_bytes(make_photo(1))
    assert main([*NO_ENV_FILE, "analyze", str(photo)]) == 0
    out = capsys.readouterr().out
    assert "VFD — Allen-Bradley PowerFlex 525" in out and "<b>" not in out
    assert "ollama   unavailable" in out and "gemini   accepted" in out and "total $0.0001" in out


def test_analyze_with_no_tier_configured_fails_clearly(
    env: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(make_photo(2))
    assert main([*NO_ENV_FILE, "analyze", str(photo)]) == 3
    assert "No analysis tier is configured" in capsys.readouterr().err


def test_analyze_with_no_tier_reachable_exits_non_zero(
    env: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASCADE", "ollama")
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")
    photo = tmp_path / "p.jpg"
    photo.write_bytes(make_photo(3))
    assert main([*NO_ENV_FILE, "analyze", str(photo)]) == 4
    assert "ollama" in capsys.readouterr().err


def test_analyze_a_file_that_is_not_a_photo(
    env: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not a photo")
    assert main([*NO_ENV_FILE, "analyze", str(bad)]) == 1
    assert "not a photo I can read" in capsys.readouterr().err


def test_doctor_reports_each_check(
    env: FakeProviders, telegram: FakeTelegram, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", "wrong-key")
    assert main([*NO_ENV_FILE, "doctor"]) == 1  # database not migrated yet, grok key rejected
    out = capsys.readouterr().out
    assert "telegram bot  ok    @plc_copilot_test_bot" in out
    assert "not migrated" in out
    assert "tier ollama" in out and "granite3.2-vision:2b: found (1 models pulled on this server)" in out
    assert "tier grok" in out and "FAIL" in out.split("tier grok")[1].splitlines()[0]
    price = out.split("tier gemini")[1].splitlines()[1]
    assert price.startswith("  price") and "ok" in price and "$0.1 / $0.4 per 1M tokens" in price
    assert "genai-prices 0.2.3 (gemini-2.5-flash-lite)" in price
    main([*NO_ENV_FILE, "migrate"])
    monkeypatch.setenv("XAI_API_KEY", env.settings_overrides()["xai_api_key"])
    assert main([*NO_ENV_FILE, "doctor"]) == 0
    assert "writable, migrated" in capsys.readouterr().out


def test_doctor_shows_each_model_found_or_missing_with_its_price(
    env: FakeProviders, telegram: FakeTelegram, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an admin reads after xAI retired the old default: which model is gone, what replaces it, and what
    every other model costs and according to whom."""
    monkeypatch.setenv("CASCADE", "ollama:0.8,gemini:0.7,claude:0.8,grok:0.8,openai")
    monkeypatch.setenv("XAI_MODEL", "grok-4-1-fast-non-reasoning")
    assert main([*NO_ENV_FILE, "migrate"]) == 0
    capsys.readouterr()
    assert main([*NO_ENV_FILE, "doctor"]) == 1
    rows: dict[str, str] = {}
    tier = ""
    for line in capsys.readouterr().out.splitlines():  # "label  state  detail", labels padded to one width
        label, detail = line[:14].strip(), line[14:].strip()
        tier = label if label.startswith("tier") else tier
        rows[f"{tier} price" if label == "price" else label] = detail
    assert rows["telegram bot"].startswith("ok    @plc_copilot_test_bot")
    assert rows["tier gemini"] == "ok    gemini-2.5-flash-lite: found (4 models this key can use)"
    assert rows["tier claude"].startswith("ok    claude-haiku-5-5: found as an alias (anthropic claude-haiku-5-5-2026")
    grok = rows["tier grok"]
    assert grok.startswith("FAIL  grok-4-1-fast-non-reasoning: missing, not among the 2 models this key can use")
    assert "the provider names grok-4.3" in grok and "it lists grok-4.3, grok-4.20-non-reasoning" in grok
    assert rows["tier grok price"].startswith(
        "FAIL  grok-4-1-fast-non-reasoning: shut down by the provider on 2026-05-15"
    )
    assert rows["tier claude price"] == (
        "ok    claude-haiku-5-5: $0.1 / $0.5 per 1M tokens in/out, $0.5 / $2.5 above 100,000 prompt tokens; "
        "genai-prices 0.2.3 (claude-haiku-5-5)"
    )
    assert rows["tier openai price"].startswith("ok    gpt-4.1-mini: $0.4 / $1.6 per 1M tokens in/out; genai-prices")
    assert "tier ollama price" not in rows  # local: no price


def test_doctor_prices_a_model_from_the_fill_in_file_with_its_source_and_date(
    env: FakeProviders, telegram: FakeTelegram, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASCADE", "grok")
    monkeypatch.setenv("XAI_MODEL", "grok-4.20-non-reasoning")
    main([*NO_ENV_FILE, "doctor"])
    out = capsys.readouterr().out
    assert "grok-4.20-non-reasoning: found (2 models this key can use)" in out
    price = out.split("tier grok")[1].splitlines()[1]
    assert "$2.00 / $6.00 per 1M tokens in/out; pipeline/prices.json: not in genai-prices 0.2.3" in price
    assert price.endswith("read 2026-11-30")


def test_doctor_says_telegram_rejected_the_token(
    env: FakeProviders, telegram: FakeTelegram, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    revoked = TOKEN[:-4] + "dead"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", revoked)
    assert main([*NO_ENV_FILE, "doctor"]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("telegram bot"))
    assert "FAIL" in line and "Telegram rejected TELEGRAM_BOT_TOKEN: the token is wrong or was revoked" in line
    assert revoked not in out and telegram.sent("getMe") == [{}]


@pytest.mark.parametrize("command", [["migrate"], ["cost"], ["workorders", "export", "-"]])
def test_commands_create_the_database_folder(
    env: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    database = tmp_path / "new" / "nested" / "bot.runtime.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    assert main([*NO_ENV_FILE, *command]) == 0
    assert database.exists()


def test_a_database_folder_that_cannot_be_created_is_explained(
    env: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'file' / 'bot.runtime.db'}")
    assert main([*NO_ENV_FILE, "migrate"]) == 2
    err = capsys.readouterr().err
    assert f"Cannot create the folder {tmp_path / 'file'}" in err and "DATABASE_URL" in err and "Traceback" not in err


def test_doctor_warns_about_a_model_near_shutdown(
    env: FakeProviders, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_MODEL", "gemini-2.5-flash")
    monkeypatch.setenv("CASCADE", "gemini")
    main([*NO_ENV_FILE, "doctor"])
    out = capsys.readouterr().out
    assert "gemini-2.5-flash" in out and ("shuts down on 2026-12-01" in out or "shut down by the provider" in out)


def test_workorders_export_writes_csv(
    env: FakeProviders, empty_db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    from datetime import UTC, datetime

    from bot.runtime.db import make_engine, make_sessionmaker, upgrade
    from cmmsconnect import CmmsSettings, Outbox, Reporter, build_connector, work_order_from_analysis
    from tests.fakes.providers import analysis_json

    url = empty_db_url
    upgrade(url)

    async def file_one() -> None:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        settings = CmmsSettings(_env_file=None)
        outbox = Outbox(sessions, build_connector(settings, sessions), settings)
        import json

        wo = work_order_from_analysis(
            json.loads(analysis_json()), key="tg-42-7", photo=None, reporter=Reporter(42, "Ann"),
            chat_id=42, message_id=7, created_at=datetime(2026, 11, 22, tzinfo=UTC),
        )  # fmt: skip
        async with sessions.begin() as session:
            await outbox.submit(session, wo)
        await outbox.aclose()
        await engine.dispose()

    asyncio.run(file_one())
    target = tmp_path / "wo.csv"
    assert main([*NO_ENV_FILE, "workorders", "export", str(target)]) == 0
    lines = target.read_text().splitlines()
    assert len(lines) == 2 and "tg-42-7" in lines[1] and "PowerFlex 525" in lines[1]
    assert "1 work orders written" in capsys.readouterr().err


def test_analyze_respects_the_daily_budget(
    env: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASCADE", "gemini")
    monkeypatch.setenv("DAILY_BUDGET_USD", "0")
    photo = tmp_path / "p.jpg"
    photo.write_bytes(make_photo(4))
    assert main([*NO_ENV_FILE, "analyze", str(photo)]) == 4
    assert "today's cloud budget is used up" in capsys.readouterr().err
    assert env.calls("gemini") == []


def test_cost_report_in_the_terminal_with_a_chart(
    env: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASCADE", "ollama:0.8,gemini")
    env.script("ollama", server_error(500))
    photo = tmp_path / "p.jpg"
    photo.write_bytes(make_photo(5))
    assert main([*NO_ENV_FILE, "analyze", str(photo)]) == 0
    assert main([*NO_ENV_FILE, "analyze", str(photo)]) == 0  # answered from the cache
    capsys.readouterr()
    chart = tmp_path / "spend.png"
    assert main([*NO_ENV_FILE, "cost", "today", "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert "google" in out and "<b>" not in out
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_read_prints_what_the_plate_says(
    env: FakeProviders,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    plate_reader: MemoReader,
) -> None:
    monkeypatch.setattr("pipeline.plate.PlateReader", lambda **_: plate_reader)  # the session's engine
    photo = tmp_path / "plate.jpg"
    photo.write_bytes(render(Plate(("SIEMENS", "TYPE 1LE1001-1DB23-4AA4", "S/N UD 1402/1234567-001"))))
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a photo")
    assert main([*NO_ENV_FILE, "read", str(photo)]) == 0
    table = capsys.readouterr().out
    assert "serial       1402/1234567-001   (after label 'S/N')" in table and "manufacturer Siemens" in table
    assert main([*NO_ENV_FILE, "read", "--json", str(photo), str(text_file)]) == 1  # one unusable file
    out = capsys.readouterr()
    [item] = json.loads(out.out)
    assert item["fields"]["model"] == "1LE1001-1DB23-4AA4" and item["lines"][0]["text"] == "SIEMENS"
    assert "notes.txt" in out.err
