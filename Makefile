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

# `make run` plus 20 simulated rooms (docs/simulator.md) that are also a Zoom account: the
# simulator serves them as a local Zoom REST API (ZOOM_API_PORT), the service syncs buildings,
# floors and time zones from it at start, and `zrmon zoom backfill` then fills the day before
# the webhooks began (they start 4 hours back). Within a minute the log shows rules firing
# and their notifications (Matterhorn offline, Fuji's CO2 sensor silent; Kilimanjaro's CO2
# after ~11 min). Ctrl-C stops the simulator, then the service.
DEMO_ARGS ?= --rooms 20 --backfill 4h --api-history 1d --speed 60
ZOOM_API_PORT ?= 9110

.PHONY: demo
demo: venv ensure-influxd
	@zoom_env=$$($(BIN)/zrmon simulate --api-port $(ZOOM_API_PORT) --print-api-env $(DEMO_ARGS)) \
		|| exit 2; export $$zoom_env; serve=; \
	$(BIN)/zrmon simulate --url http://$(HOST):$(PORT)/webhooks/zoom --wait-ready 60s \
		--api-port $(ZOOM_API_PORT) $(DEMO_ARGS) & sim=$$!; \
	trap 'kill -INT $$sim $$serve 2>/dev/null; wait $$sim $$serve' EXIT; trap 'exit 130' INT TERM; \
	until $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', $(ZOOM_API_PORT)), 1)" \
		2>/dev/null; do kill -0 $$sim 2>/dev/null || exit 1; sleep 0.2; done; \
	$(BIN)/zrmon serve --host $(HOST) --port $(PORT) --admin-port $(ADMIN_PORT) \
		--embedded-influxd var/influxdb & serve=$$!; \
	until $(BIN)/zrmon zoom rooms --cached >/dev/null 2>&1; do \
		kill -0 $$serve 2>/dev/null || exit 1; sleep 1; done; \
	$(BIN)/zrmon influx setup >/dev/null; \
	$(BIN)/zrmon zoom backfill --from $$(( $$(date +%s) - 86400 )); \
	wait $$sim

# In-process tests (most of them) on two workers, then the process tests (marked slow)
# one at a time: they time real restarts and must not share the two cores.
test: venv ensure-influxd
	$(BIN)/pytest -m "not slow" -n 2
	$(BIN)/pytest -m slow
	$(MAKE) lint

lint: venv
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: venv ensure-influxd
	$(BIN)/python bench/ingest.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
