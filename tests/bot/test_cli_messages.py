"""What an admin sees in the terminal: no library chatter before the output, one sentence for a mistake."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.bot.test_cli import SETTINGS_VARS

NO_ENV_FILE = ["--env-file", os.devnull]


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch, empty_db_url: str) -> Iterator[None]:
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    root = logging.getLogger()
    handlers, levels = (
        root.handlers[:],
        {n: logging.getLogger(n).level for n in ("", "alembic", "alembic.runtime.plugins")},
    )
    yield
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_admin_commands_print_their_output_without_alembic_lines(
    quiet_env: None, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main([*NO_ENV_FILE, "cost"]) == 0  # migrates the empty database first
    out, err = capfd.readouterr()
    assert out.startswith("💰 Cost, the last 7 days"), out
    assert "alembic" not in err and "Running upgrade" not in err
    assert main([*NO_ENV_FILE, "workorders", "export", "-"]) == 0
    assert "alembic" not in capfd.readouterr().err


def test_migrate_still_says_what_it_ran(quiet_env: None, capfd: pytest.CaptureFixture[str]) -> None:
    assert main([*NO_ENV_FILE, "migrate"]) == 0
    err = capfd.readouterr().err
    assert "Running upgrade" in err and "setup plugin" not in err


def test_export_to_an_unwritable_path_is_one_sentence(
    quiet_env: None, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "wo.csv"
    assert main([*NO_ENV_FILE, "workorders", "export", str(target)]) == 1
    out, err = capfd.readouterr()
    assert err.strip() == f"Could not write the work orders to {target}: No such file or directory."
    assert out == "" and "Traceback" not in err


def test_a_missing_env_file_is_an_error_not_silently_ignored(
    quiet_env: None, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo.env"
    assert main(["--env-file", str(typo), "cost"]) == 2
    assert capfd.readouterr().err.strip() == f"Settings file {typo} not found (--env-file)."
