# Two commands matter: `make run` and `make test`. Both build .venv from a bare python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test tools bench lint clean

$(STAMP): pyproject.toml setup.py constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## daemon on two paper brokers + the TUI; quitting the TUI stops the daemon
	$(BIN)/ordo up

test: $(STAMP) tools lint  ## lint, then the whole suite
	$(BIN)/python -m pytest

tools:  ## programs the tests drive: tmux for the terminal tests, systemd-analyze for the unit file
	@command -v tmux >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq tmux >/dev/null) \
		|| echo "warning: tmux could not be installed; terminal tests will be skipped"
	@command -v systemd-analyze >/dev/null 2>&1 \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null) \
		|| echo "warning: systemd could not be installed (no root?); the unit-file tests will be skipped"

lint: $(STAMP)  ## ruff + mypy --strict (shared/ is type-checked under its import name)
	mkdir -p .typecheck && ln -sfn ../shared .typecheck/ordo_shared
	$(BIN)/ruff check ordod shared ordo_cli ordo_tui tests
	$(BIN)/mypy

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)  ## benchmarks (never part of make test): table, JSON and plot under benchmarks/results/
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .ordo .pytest_cache
