# Protocol Playground: `make run` starts the app on http://127.0.0.1:8000 (embedded defaults: SQLite,
# in-memory channel layer); `make test` runs every test (simulator, WebSocket consumer, browser).
# Both create .venv/ and install the project into it the first time (again when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install chromium migrate bench screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Development server: DEBUG on (a throwaway dev secret key), Daphne's runserver serves HTTP, WebSockets and
# static files, and reloads on code changes.
run: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

test: install chromium
	$(BIN)/python -m pytest tests

migrate: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput

# WebSocket latency and throughput with 50 sessions on one Daphne process (see bench/ws.py --help).
bench: install
	$(BIN)/python bench/ws.py

# Regenerate docs/screenshot.png (the README's picture) from a live run.
screenshot: install chromium
	$(BIN)/python tests/web/screenshot.py docs/screenshot.png

clean:
	rm -rf test-artifacts staticfiles
