"""InvestRight trades by ``security_id``; Ordo's orders name ``EXCHANGE:SYMBOL-SERIES``
(and Fyers-style derivative symbols). The broker's security master CSV maps one onto the
other. It is downloaded (unauthenticated), cached in the state directory, reloaded once it
is older than the configured age, and parsed off the event loop.

Supported symbols:
  cash        ``NSE:SBIN-EQ``, ``BSE:SBIN-A``   (the series is not in the master and is not matched)
  futures     ``NSE:NIFTY26OCTFUT``, ``MCX:GOLD27JUNFUT``   (the contract expiring that month)
  options     ``NSE:NIFTY26OCT25000CE``   (monthly: the month's last expiry)
              ``NSE:NIFTY26O0825000CE``   (weekly: year, month code 1-9/O/N/D, day)
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ordod.brokers.errors import BrokerError, BrokerUnavailable, InvalidSymbol
from ordod.clock import Clock

log = logging.getLogger("ordod.brokers.hdfc")

_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_WEEKLY_MONTHS = {**{str(i): i for i in range(1, 10)}, "O": 10, "N": 11, "D": 12}
_STRIKE = r"(?P<strike>\d+(?:\.\d+)?)"
_FUTURE = re.compile(r"^(?P<name>.+?)(?P<yy>\d{2})(?P<mon>[A-Z]{3})FUT$")
_MONTHLY_OPTION = re.compile(rf"^(?P<name>.+?)(?P<yy>\d{{2}})(?P<mon>[A-Z]{{3}}){_STRIKE}(?P<kind>CE|PE)$")
_WEEKLY_OPTION = re.compile(rf"^(?P<name>.+?)(?P<yy>\d{{2}})(?P<m>[1-9OND])(?P<dd>\d{{2}}){_STRIKE}(?P<kind>CE|PE)$")
_CASH = re.compile(r"^(?P<name>.+)-(?P<series>[A-Z0-9]{1,3})$")
_CASH_SEGMENTS = frozenset({"EQUITY"})
_FUTURE_SEGMENTS = frozenset({"FUTIDX", "FUTSTK", "FUTCUR", "FUTCOM"})
_OPTION_SEGMENTS = frozenset({"OPTIDX", "OPTSTK", "OPTCUR", "OPTFUT"})


@dataclass(frozen=True)
class Instrument:
    exchange: str
    security_id: str
    segment: str
    symbol_name: str
    expiry: date | None = None
    strike: float | None = None
    option_type: str = ""
    underlying: str = ""
    lot_size: int = 1


@dataclass
class SecurityMaster:
    cash: dict[tuple[str, str], Instrument] = field(default_factory=dict)
    futures: dict[tuple[str, str, int, int], list[Instrument]] = field(default_factory=lambda: defaultdict(list))
    options: dict[tuple[str, str, int, int, float, str], list[Instrument]] = field(
        default_factory=lambda: defaultdict(list))
    rows: int = 0

    @classmethod
    def parse(cls, text: str) -> SecurityMaster:
        master = cls()
        for row in csv.DictReader(io.StringIO(text)):
            instrument = _instrument(row)
            if instrument is not None:
                master.add(instrument)
        return master

    def add(self, ins: Instrument) -> None:
        self.rows += 1
        if ins.segment in _CASH_SEGMENTS:
            self.cash[(ins.exchange, ins.symbol_name)] = ins
        elif ins.expiry is not None and ins.segment in _FUTURE_SEGMENTS:
            self.futures[(ins.exchange, ins.symbol_name, ins.expiry.year, ins.expiry.month)].append(ins)
        elif ins.expiry is not None and ins.strike is not None and ins.segment in _OPTION_SEGMENTS:
            key = (ins.exchange, ins.symbol_name, ins.expiry.year, ins.expiry.month, ins.strike, ins.option_type)
            self.options[key].append(ins)

    def resolve(self, symbol: str) -> Instrument:
        """The instrument for an Ordo symbol; ``InvalidSymbol`` (not sent) when there is none."""
        found = self._lookup(symbol)
        if found is None:
            raise InvalidSymbol(f"{symbol}: not in HDFC's security master; not sent",
                                broker_message="unknown symbol (security master)", sent=False)
        return found

    def _lookup(self, symbol: str) -> Instrument | None:
        exchange, _, body = symbol.upper().partition(":")
        if m := _FUTURE.match(body):
            month = _MONTHS.get(m["mon"])
            rows = self.futures.get((exchange, m["name"], 2000 + int(m["yy"]), month or 0), [])
            return max(rows, key=lambda i: i.expiry or date.min) if rows else None
        if (m := _MONTHLY_OPTION.match(body)) and (month := _MONTHS.get(m["mon"])) is not None:
            rows = self.options.get((exchange, m["name"], 2000 + int(m["yy"]), month, float(m["strike"]), m["kind"]),
                                    [])
            return max(rows, key=lambda i: i.expiry or date.min) if rows else None
        if m := _WEEKLY_OPTION.match(body):
            year, month, day = 2000 + int(m["yy"]), _WEEKLY_MONTHS[m["m"]], int(m["dd"])
            rows = self.options.get((exchange, m["name"], year, month, float(m["strike"]), m["kind"]), [])
            return next((i for i in rows if i.expiry == _date(year, month, day)), None)
        if m := _CASH.match(body):
            return self.cash.get((exchange, m["name"]))
        return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _instrument(row: dict[str, str]) -> Instrument | None:
    try:
        expiry = date.fromisoformat(row["expiry_date"]) if row.get("expiry_date") else None
        strike = float(row["strike_price"]) if row.get("strike_price") else None
        lot = int(float(row.get("lot_size") or 1))
        return Instrument(
            exchange=row["exchange"].strip().upper(), security_id=row["security_id"].strip(),
            segment=row["instrument_segment"].strip().upper(), symbol_name=row["symbol_name"].strip().upper(),
            expiry=expiry, strike=strike, option_type=(row.get("option_type") or "").strip().upper(),
            underlying=(row.get("underline_symbol") or "").strip(), lot_size=lot,
        )
    except (KeyError, ValueError, AttributeError):
        return None  # a malformed row costs that one instrument, not the whole master


Download = Callable[[], Awaitable[str]]


class SecurityMasterCache:
    """The master in memory, backed by ``path``; reloaded when older than ``max_age_s``."""

    RETRY_AFTER_FAILURE_S = 300.0

    def __init__(self, path: Path, download: Download, clock: Clock, max_age_s: float) -> None:
        self.path = path
        self._download = download
        self._clock = clock
        self._max_age_s = max_age_s
        self._master: SecurityMaster | None = None
        self._loaded_at = float("-inf")  # wall time the loaded copy was fetched
        self._next_try = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self) -> SecurityMaster:
        if self._master is not None and not self._stale(self._loaded_at):
            return self._master
        async with self._lock:
            if self._master is None or self._stale(self._loaded_at):
                await self._refresh()
        if self._master is None:
            raise BrokerUnavailable("HDFC's security master is not available; not sent", sent=False)
        return self._master

    def _stale(self, fetched_at: float) -> bool:
        return self._clock.time() - fetched_at >= self._max_age_s

    async def _refresh(self) -> None:
        cached_at = await asyncio.to_thread(_mtime, self.path)
        if cached_at is not None and not self._stale(cached_at):
            self._master = await asyncio.to_thread(_parse_file, self.path)
            self._loaded_at = cached_at
            return
        if self._clock.monotonic() < self._next_try and self._master is not None:
            return  # a recent download failed; keep using the stale copy for now
        try:
            text = await self._download()
        except BrokerError as exc:
            self._next_try = self._clock.monotonic() + self.RETRY_AFTER_FAILURE_S
            log.warning("security master download failed: %s", exc.message)
            if self._master is None and cached_at is not None:
                self._master = await asyncio.to_thread(_parse_file, self.path)  # stale beats nothing
                self._loaded_at = cached_at
            return
        master = await asyncio.to_thread(SecurityMaster.parse, text)
        if master.rows == 0:
            log.warning("security master download had no usable rows; keeping the previous copy")
            self._next_try = self._clock.monotonic() + self.RETRY_AFTER_FAILURE_S
            return
        await asyncio.to_thread(_write, self.path, text)
        self._master, self._loaded_at = master, self._clock.time()
        log.info("security master loaded rows=%d", master.rows)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _parse_file(path: Path) -> SecurityMaster:
    return SecurityMaster.parse(path.read_text(encoding="utf-8"))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
