"""Audit retention: old events move from the database to compressed JSON-lines files.

Only a prefix of the log is ever removed (oldest first, stopping at the first event young
enough to keep), so what stays in the database is one unbroken run of seq, and the highest
removed seq is recorded in the same transaction as the delete, so numbering never restarts.

Order of work, safe at any crash point: write the file under a temporary name, fsync it,
rename it into place, fsync the folder; only then delete the rows. A sweep that finds rows
already covered by an archive file (a crash after the rename) deletes them without writing
them twice.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ordo_shared.models import Event
from ordod.audit import AuditLog
from ordod.clock import Clock
from ordod.config import AuditConfig
from ordod.metrics import OrdoMetrics
from ordod.storage.database import Database, Statement

log = logging.getLogger("ordod.audit_retention")

ARCHIVE_NAME = re.compile(r"^audit-(\d{12})-(\d{12})\.jsonl\.gz$")
# Events per archive file: bounds the memory one sweep step holds.
CHUNK_EVENTS = 20_000
READ_PAGE = 2_000


@dataclass(frozen=True)
class ArchiveFile:
    path: Path
    first_seq: int
    last_seq: int


def archive_name(first_seq: int, last_seq: int) -> str:
    return f"audit-{first_seq:012d}-{last_seq:012d}.jsonl.gz"


def archived_files(directory: Path) -> list[ArchiveFile]:
    """The archive files in ``directory``, oldest first (blocking: call from a thread)."""
    found = []
    if directory.is_dir():
        for path in directory.iterdir():
            if match := ARCHIVE_NAME.match(path.name):
                found.append(ArchiveFile(path, int(match.group(1)), int(match.group(2))))
    return sorted(found, key=lambda f: f.first_seq)


def read_archive(path: Path) -> list[Event]:
    """The events in one archive file, for operators and tests (blocking)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [Event.model_validate_json(line, strict=False) for line in fh if line.strip()]


def write_archive(directory: Path, events: list[Event]) -> ArchiveFile:
    """Write ``events`` durably under their final name (blocking: call from a thread)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    first, last = events[0].seq or 0, events[-1].seq or 0
    final = directory / archive_name(first, last)
    temporary = directory / f".{final.name}.tmp"
    with temporary.open("wb") as raw:
        with gzip.GzipFile(filename=final.name, mode="wb", fileobj=raw, mtime=0) as fh:
            for event in events:
                fh.write(event.model_dump_json().encode() + b"\n")
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(temporary, final)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return ArchiveFile(final, first, last)


def _forget_through(seq: int) -> list[Statement]:
    return [
        ("DELETE FROM audit WHERE seq <= ?", (seq,)),
        (
            "INSERT INTO audit_meta (key, value) VALUES ('archived_through', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
            (seq,),
        ),
    ]


@dataclass(frozen=True)
class SweepResult:
    files: list[ArchiveFile]
    archived_through: int

    @property
    def events(self) -> int:
        return sum(f.last_seq - f.first_seq + 1 for f in self.files)


class AuditRetention:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        directory: Path,
        settings: Callable[[], AuditConfig],
        clock: Clock,
        metrics: OrdoMetrics,
    ) -> None:
        self._db = db
        self._audit = audit
        self.directory = directory
        self._settings = settings  # read on every sweep, so a SIGHUP reload applies
        self._clock = clock
        self._metrics = metrics
        self._sweeping = asyncio.Lock()

    async def sweep(self) -> SweepResult:
        """Archive and remove every event older than the retention period (none when 0)."""
        async with self._sweeping:  # the periodic sweep and an operator's must not interleave
            return await self._sweep()

    async def _sweep(self) -> SweepResult:
        days = self._settings().retention_days
        through = await self._finish_interrupted_sweep()
        files: list[ArchiveFile] = []
        if days <= 0:
            return SweepResult(files, through)
        cutoff = self._clock.now() - timedelta(days=days)
        while events := await self._old_events(through, cutoff):
            archive = await asyncio.to_thread(write_archive, self.directory, events)
            await self._forget(archive.last_seq)
            files.append(archive)
            through = archive.last_seq
            self._metrics.audit_events_archived.inc(len(events))
            log.info("archived audit events %d..%d to %s", archive.first_seq, archive.last_seq, archive.path)
        if files:
            self._audit.record("audit.archived", data={
                "first_seq": files[0].first_seq, "last_seq": through, "retention_days": days,
                "files": [f.path.name for f in files],
            })
        return SweepResult(files, through)

    async def run(self) -> None:
        """Sweep now, then every ``sweep_interval_s``, until cancelled."""
        while True:
            try:
                await self.sweep()
            except Exception:  # a full disk must not end retention for good; retry next time
                log.exception("audit retention sweep failed")
            await asyncio.sleep(self._settings().sweep_interval_s)

    async def _finish_interrupted_sweep(self) -> int:
        through = self._audit.first_available_seq - 1
        files = await asyncio.to_thread(archived_files, self.directory)
        on_disk = max((f.last_seq for f in files), default=0)
        if on_disk > through:
            log.warning("audit events up to %d are archived but still in the database; removing them", on_disk)
            await self._forget(on_disk)
            through = on_disk
        return through

    async def _forget(self, through: int) -> None:
        await self._db.write(_forget_through(through))
        self._audit.archived(through)

    async def _old_events(self, after: int, cutoff: datetime) -> list[Event]:
        """Up to CHUNK_EVENTS events after seq ``after``, stopping at the first one to keep."""
        found: list[Event] = []
        while len(found) < CHUNK_EVENTS:
            wanted = min(READ_PAGE, CHUNK_EVENTS - len(found))
            page = await self._audit.replay(after, wanted)
            for event in page:
                if event.ts >= cutoff:
                    return found
                found.append(event)
            if len(page) < wanted:
                return found
            after = page[-1].seq or after
        return found
