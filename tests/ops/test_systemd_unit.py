"""The shipped unit file passes `systemd-analyze verify`, keeps its hardening, and the
shipped example config is one ordod accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ordod.config import load_config

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "ordod.service"
EXAMPLE = ROOT / "systemd" / "ordod.toml.example"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"
README = ROOT / "README.md"
INSTALLED_ORDOD = "/opt/ordo/venv/bin/ordod"

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze missing (make test installs Debian's systemd package when it can)",
)


def directives(text: str) -> dict[str, list[str]]:
    """Key -> every value it is given (systemd allows repeats), comments skipped."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.fixture
def testable_unit(tmp_path: Path) -> Path:
    """The unit as shipped, except that ExecStart points at this checkout's ordod:
    verify checks that the binary exists, and /opt/ordo is where a deploy puts it."""
    text = UNIT.read_text()
    assert INSTALLED_ORDOD in text
    ordod = Path(sys.executable).parent / "ordod"
    assert ordod.exists()
    path = tmp_path / "ordod.service"
    path.write_text(text.replace(INSTALLED_ORDOD, str(ordod)))
    return path


@needs_systemd_analyze
def test_systemd_analyze_verify_passes(testable_unit: Path) -> None:
    result = subprocess.run(["systemd-analyze", "verify", str(testable_unit)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_systemd_analyze
def test_security_exposure_is_low_and_is_the_level_the_docs_report(testable_unit: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", "--no-pager", str(testable_unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    # --threshold=20 (exposure 2.0): a hardening regression fails here before it ships.
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"Overall exposure level for ordod\.service: (\d+\.\d) (\w+)", result.stdout)
    assert match is not None, result.stdout
    level, verdict = match.groups()
    for doc in (OPERATIONS, README):
        assert f"exposure level {level} {verdict}" in doc.read_text(), (
            f"{doc.name} must report the current level: {level} {verdict}"
        )


def test_the_unit_has_the_lifecycle_and_hardening_the_daemon_relies_on() -> None:
    unit = directives(UNIT.read_text())
    expected = {
        "Type": ["notify"], "NotifyAccess": ["main"], "Restart": ["on-failure"],
        "StateDirectory": ["ordo"], "RuntimeDirectory": ["ordo"], "ConfigurationDirectory": ["ordo"],
        "DynamicUser": ["yes"], "NoNewPrivileges": ["yes"], "ProtectSystem": ["strict"],
        "ProtectHome": ["yes"], "PrivateTmp": ["yes"], "PrivateDevices": ["yes"],
        "CapabilityBoundingSet": [""], "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
        "RestartPreventExitStatus": ["78"],
    }
    for key, values in expected.items():
        assert unit.get(key) == values, key
    assert "@system-service" in unit["SystemCallFilter"]
    assert unit["ExecStart"] == [f"{INSTALLED_ORDOD} --config /etc/ordo/ordod.toml"]
    assert unit["LoadCredential"] == ["ordod_token:/etc/ordo/credentials/ordod_token"]
    assert unit["WatchdogSec"] and unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


def test_the_benchmarks_run_the_daemon_at_the_units_priority() -> None:
    from benchmarks.daemon import PRODUCTION_NICE

    assert directives(UNIT.read_text())["Nice"] == [str(PRODUCTION_NICE)]


def test_stop_timeout_leaves_room_for_the_shutdown_grace_of_the_example_config() -> None:
    unit = directives(UNIT.read_text())
    stop_timeout_s = float(unit["TimeoutStopSec"][0].removesuffix("s"))
    grace_s = load_config(EXAMPLE).daemon.shutdown_grace_s
    assert stop_timeout_s >= grace_s + 10, "systemd would SIGKILL ordod while orders are still finishing"


def test_the_example_config_is_accepted_by_ordod() -> None:
    config = load_config(EXAMPLE)
    assert config.daemon.state_dir == Path("/var/lib/ordo")
    assert config.audit.retention_days == 90
    assert set(config.brokers) == {"paper"}


def test_the_commented_live_broker_tables_are_valid_once_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    live = text[text.index("# [brokers.fyers]"):]
    uncommented = "\n".join(line.removeprefix("# ") for line in live.splitlines() if line.startswith("# "))
    path = tmp_path / "live.toml"
    path.write_text(text[:text.index("# [brokers.fyers]")] + uncommented + "\n")
    config = load_config(path)
    assert {b: c.adapter for b, c in config.brokers.items()} == {"paper": "paper", "fyers": "fyers", "hdfc": "hdfc"}
    assert config.retry_for("fyers").max_attempts == 2
    # Every credential the tables name has its commented LoadCredential= line in the unit.
    unit = UNIT.read_text()
    for name in re.findall(r'credential = "([^"]+)"', uncommented):
        assert f"#LoadCredential={name}:/etc/ordo/credentials/{name}" in unit, name
