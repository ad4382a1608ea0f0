# Two commands matter: `make run` and `make test`. Both build .venv from a bare python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench lint clean systemd-analyze

$(STAMP): pyproject.toml setup.py constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## daemon on two paper brokers + the TUI; quitting the TUI stops the daemon
	$(BIN)/ordo up

test: $(STAMP) systemd-analyze  ## the whole suite
	$(BIN)/python -m pytest

# The unit-file tests need systemd-analyze: install Debian's systemd package when it is
# missing and we may (root or passwordless sudo); otherwise those tests skip themselves.
systemd-analyze:
	@command -v systemd-analyze >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo "sudo -n" ); \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends systemd ) >/dev/null 2>&1 \
	    || echo "note: could not install systemd (no root?); the systemd unit tests will be skipped"; }

bench: $(STAMP)  ## benchmarks (never part of make test)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .ordo .pytest_cache
