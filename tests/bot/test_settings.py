import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from bot.runtime.settings import BotSettings, load_settings
from cmmsconnect.settings import CmmsSettings
from pipeline.settings import PipelineSettings

ROOT = Path(__file__).resolve().parents[2]


def _env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "") or ""
    return {f"{prefix}{name}".upper() for name in cls.model_fields}


def _example() -> dict[str, str]:
    pairs = re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (ROOT / ".env.example").read_text(), flags=re.MULTILINE)
    return dict(pairs)


def test_env_example_lists_exactly_the_settings() -> None:
    declared = _env_names(BotSettings) | _env_names(PipelineSettings) | _env_names(CmmsSettings)
    documented = set(_example())
    assert documented - declared == set(), "documented in .env.example but not a setting"
    assert declared - documented == set(), "a setting missing from .env.example"


def test_env_example_loads_and_shows_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in _example():
        monkeypatch.delenv(name, raising=False)
    example = load_settings(str(ROOT / ".env.example"))
    defaults = load_settings(None)
    assert example.bot.model_dump() == defaults.bot.model_dump()
    assert example.pipeline.model_dump() == defaults.pipeline.model_dump()
    assert example.cmms.model_dump() == defaults.cmms.model_dump()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv("ADMIN_USER_IDS", "42, 43")
    monkeypatch.setenv("CASCADE", "gemini:0.6,claude")
    monkeypatch.setenv("CMMS_BACKEND", "webhook")
    settings = load_settings(None)
    assert settings.bot.admin_user_ids == [42, 43]
    assert settings.bot.token_problem() is None
    assert "123456" not in repr(settings.bot)  # SecretStr hides the token
    assert settings.pipeline.cascade == "gemini:0.6,claude"
    assert settings.cmms.backend == "webhook"


@pytest.mark.parametrize(
    ("token", "problem"),
    [(None, "not set"), ("", "not set"), ("abc", "does not look like"), ("123:short", "does not look like")],
)
def test_token_problems_say_what_to_do(monkeypatch: pytest.MonkeyPatch, token: str | None, problem: str) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    if token is not None:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    message = load_settings(None).bot.token_problem()
    assert message is not None and problem in message


def test_bad_admin_ids_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_USER_IDS", "42,bob")
    with pytest.raises(ValidationError, match="comma-separated Telegram user ids"):
        load_settings(None)
