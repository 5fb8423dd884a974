# The two commands a newcomer needs: `make run` and `make test`.
# Both work on a fresh machine: they create .venv, install the package and make sure
# influxd (InfluxDB 1.x) is present, installing Debian's package when run as root.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
ADMIN_PORT ?= 9108
# A development secret so `make run` works out of the box; set your app's real
# secret token in the environment for anything Zoom actually talks to.
ZOOM_WEBHOOK_SECRET_TOKEN ?= dev-secret-change-me
export ZOOM_WEBHOOK_SECRET_TOKEN

.PHONY: run test lint bench venv ensure-influxd clean

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

ensure-influxd:
	@if command -v influxd >/dev/null 2>&1 || [ -x /usr/bin/influxd ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's influxdb package (influxd)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq influxdb >/dev/null; \
	else \
	  echo "influxd (InfluxDB 1.x) is not installed. Install it with:" >&2; \
	  echo "  sudo apt-get update && sudo apt-get install -y influxdb" >&2; \
	  echo "or point ZRMON_INFLUX_URL at an InfluxDB you run and use 'zrmon serve'." >&2; \
	  exit 1; \
	fi

run: venv ensure-influxd
	$(BIN)/zrmon serve --host $(HOST) --port $(PORT) --admin-port $(ADMIN_PORT) \
		--embedded-influxd var/influxdb

# `make run` plus 20 simulated rooms (docs/simulator.md): a day of history, then live at
# one simulated minute per second. Within a minute the log shows rules firing and their
# notifications (Matterhorn offline, Fuji's CO2 sensor silent; Kilimanjaro's CO2 after ~11 min).
# Ctrl-C stops the simulator, then the service.
DEMO_ARGS ?= --rooms 20 --backfill 1d --speed 60

.PHONY: demo
demo: venv ensure-influxd
	@$(BIN)/zrmon serve --host $(HOST) --port $(PORT) --admin-port $(ADMIN_PORT) \
		--embedded-influxd var/influxdb & serve=$$!; \
	trap 'kill -INT $$serve 2>/dev/null; wait $$serve' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/zrmon simulate --url http://$(HOST):$(PORT)/webhooks/zoom --wait-ready 60s \
		$(DEMO_ARGS)

test: venv ensure-influxd
	$(BIN)/pytest
	$(MAKE) lint

lint: venv
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy

bench: venv ensure-influxd
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
