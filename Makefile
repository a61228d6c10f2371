# Two entry points: `make run` (set up, migrate, start the bot) and `make test` (set up, lint, type-check, test).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench migrate doctor messages clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/plc-copilot run

migrate: setup
	$(BIN)/plc-copilot migrate

doctor: setup
	$(BIN)/plc-copilot doctor

lint: setup
	$(BIN)/ruff check bot pipeline cmmsconnect migrations tests bench
	$(BIN)/ruff format --check bot pipeline cmmsconnect migrations tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench

# The message catalogue (bot/i18n): extract the English strings, merge them into each language's .po file.
# Translate the new entries in bot/i18n/locales/*/LC_MESSAGES/messages.po; the .po files are loaded as they are.
messages: setup
	$(BIN)/pybabel extract --no-location --omit-header --no-wrap --sort-output -F babel.cfg -k N_ -o bot/i18n/locales/messages.pot bot
	$(BIN)/pybabel update --no-wrap --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date -i bot/i18n/locales/messages.pot -d bot/i18n/locales

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
