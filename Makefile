# Two commands matter: `make run` and `make test`. Both build .venv from a bare python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml setup.py constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## daemon on two paper brokers + the TUI; quitting the TUI stops the daemon
	$(BIN)/ordo up

test: $(STAMP)  ## the whole suite (the TUI's end-to-end test runs under tmux: installed if missing, when root)
	command -v tmux >/dev/null || (apt-get update && apt-get install -y tmux) || echo "tmux not installed: its test will be skipped"
	$(BIN)/python -m pytest

bench: $(STAMP)  ## benchmarks (never part of make test)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .ordo .pytest_cache
