"""The archive job: the videos of recordings whose retention ends soon, into the lake.

Selection (``sql/archive_candidates.sql``, "now" injectable): the videos of recordings not
removed whose ``retention_until`` is at most ``within_days`` away (already passed included).
A video already archived (its last ``archived`` audit row names a file that is present with
the same length and sha256) is skipped: never fetched twice.

A dry run (the default) makes no API call: each selected video gets an audit row
``would_archive`` with the path it would get. A real run mints a download URL per video
(stored in ``raw.valt_videos`` without its token, with the JWT's expiry), streams it to
``<lake>/valt_archive/<record_id>/<video_id>.mp4`` (:mod:`.download`: resumable, length
checked, sha256 computed while streaming) and writes an audit row ``archived`` (or
``not_found`` / ``failed``, with the reason) in ``meta.valt_archive``. Videos are fetched
``concurrency`` at a time; one failing does not stop the others, and the job then fails
naming it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

from connector.http import RequestMetrics
from connector.kit import SyncReport, SyncRun
from connector.records import rows_to_table
from connector.timeutil import TIMESTAMP, now_ms
from connector.valt import store
from connector.valt.client import MintedUrl, ValtClient
from connector.valt.download import CdnDownloader, Downloaded, VideoGone, sha256_of
from connector.valt.normalize import id_text
from connector.warehouse import Warehouse, WriteTx

log = logging.getLogger(__name__)

STREAM = "valt_archive"
ARCHIVE_DIR = "valt_archive"
DAY_MS = 86_400_000
AUDIT_TABLE = "meta.valt_archive"
AUDIT_BATCH = 16  # audit rows per commit (a crash loses at most these; their files are refetched)
AUDIT_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("record_id", pa.string()),
        ("video_id", pa.string()),
        ("path", pa.string()),
        ("bytes", pa.int64()),
        ("sha256", pa.string()),
        ("archived_at", TIMESTAMP),
        ("dry_run", pa.bool_()),
        ("result", pa.string()),
        ("error", pa.string()),
    ]
)
MINTED_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("video_id", pa.string()),
        ("url", pa.string()),
        ("url_expires_at", TIMESTAMP),
        ("minted_at", TIMESTAMP),
    ]
)


class ValtArchiveError(RuntimeError):
    """Some videos could not be archived; the others were."""


@dataclass
class ArchiveOptions:
    within_days: float = 7.0
    dry_run: bool = True
    concurrency: int = 2  # videos downloaded at a time
    lake_root: Path | str | None = None  # default: the warehouse's lake
    now_ms: int | None = None  # "now" for the selection; default: the clock
    verify_existing: bool = True  # re-hash an archived file before trusting it
    remint_margin_s: float = 60.0  # a URL expiring within this is replaced first


@dataclass
class ArchiveReport(SyncReport):
    """What one archive run did (``inserted`` counts its audit rows)."""

    dry_run: bool = True
    within_days: float = 7.0
    selected: int = 0
    already_archived: int = 0
    results: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # record/video -> why
    files: list[str] = field(default_factory=list)  # archived now, relative to the lake
    bytes_downloaded: int = 0
    resumed_from_part: int = 0  # downloads that found a .part and continued it
    range_resumes: int = 0  # requests that continued a non-empty part
    cdn_requests: int = 0
    urls_minted: int = 0


@dataclass(frozen=True)
class Target:
    record_id: str
    video_id: str
    retention_until_ms: int | None
    path: str | None  # last archived file (relative), or None
    nbytes: int | None
    sha256: str | None

    @property
    def key(self) -> str:
        return f"{self.record_id}/{self.video_id}"

    @property
    def relative(self) -> str:
        return f"{ARCHIVE_DIR}/{id_text(self.record_id)}/{id_text(self.video_id)}.mp4"


class ArchiveJob:
    """One run of the archive job (see the module doc)."""

    def __init__(
        self,
        client: ValtClient | None,
        warehouse: Warehouse,
        options: ArchiveOptions | None = None,
        *,
        run_id: str | None = None,
        cdn: httpx.AsyncClient | None = None,
    ) -> None:
        self.client = client
        self.warehouse = warehouse
        self.options = opts = options or ArchiveOptions()
        self.lake = Path(opts.lake_root) if opts.lake_root else warehouse.lake_root
        self.report = ArchiveReport(
            run_id=run_id or f"valt-archive-{uuid.uuid4().hex[:12]}",
            dry_run=opts.dry_run,
            within_days=opts.within_days,
        )
        self.cdn = cdn
        self.now = 0
        self._results: Counter[str] = Counter()
        self._audit: list[tuple] = []
        self._minted: list[tuple] = []
        self._submitting = asyncio.Lock()
        self.scaffold = SyncRun(
            STREAM,
            warehouse,
            self.report,
            lake_streams=(),
            metrics=lambda: client.metrics if client is not None else RequestMetrics(),
            redact=(client.redactor.redact if client is not None else str),
        )

    async def run(self) -> ArchiveReport:
        return await self.scaffold.run(self._walk)  # type: ignore[return-value]

    async def _walk(self) -> None:
        opts = self.options
        self.now = opts.now_ms if opts.now_ms is not None else now_ms()
        targets = self.select()
        todo = [t for t in targets if not await self.already_archived(t)]
        self.report.already_archived = len(targets) - len(todo)
        if opts.dry_run:
            rows = [self.audit_row(t, "would_archive") for t in todo]
            await self.scaffold.checkpoints.submit(lambda tx: self._write(tx, rows, []))
        elif todo:
            await self.download_all(todo)
        await self.scaffold.checkpoints.drain()
        self.report.results = dict(self._results)
        log.info("valt archive %s: %s", "dry run" if opts.dry_run else "run", self.report.results)
        failed = self.report.failed
        if failed:
            shown = "; ".join(f"{k}: {why}" for k, why in list(failed.items())[:5])
            raise ValtArchiveError(
                f"{len(failed)} VALT video(s) could not be archived ({shown}); "
                f"{self._results.get('archived', 0)} were"
            )

    def select(self) -> list[Target]:
        rows = self.warehouse.query(
            store.sql("archive_candidates"),
            {"now_ms": int(self.now), "within_ms": int(self.options.within_days * DAY_MS)},
        )
        targets = [Target(*row) for row in rows]
        self.report.selected = len(targets)
        return targets

    async def already_archived(self, t: Target) -> bool:
        """The last archived file is in place with its length (and sha256)."""
        if t.path is None or t.sha256 is None:
            return False
        path = self.lake / t.path
        if not path.is_file() or path.stat().st_size != t.nbytes:
            return False
        if not self.options.verify_existing:
            return True
        return await asyncio.to_thread(sha256_of, path) == t.sha256

    def audit_row(
        self, t: Target, result: str, got: Downloaded | None = None, error: str | None = None
    ) -> tuple:
        self._results[result] += 1
        return (
            self.report.run_id,
            t.record_id,
            t.video_id,
            t.relative,
            None if got is None else got.nbytes,
            None if got is None else got.sha256,
            self.now if got is None else now_ms(),
            self.options.dry_run,
            result,
            error,
        )

    def _write(self, tx: WriteTx, audit: list[tuple], minted: list[tuple]) -> None:
        if minted:
            inputs = {"minted": rows_to_table(minted, MINTED_SCHEMA)}
            tx.run(store.sql("record_minted"), inputs=inputs)
        if audit:
            table = rows_to_table(audit, AUDIT_SCHEMA)
            self.report.inserted += tx.insert_new(
                AUDIT_TABLE, table, ["run_id", "record_id", "video_id"]
            )

    async def download_all(self, targets: list[Target]) -> None:
        if self.client is None:
            raise ValueError("a real archive run needs a ValtClient")
        own = self.cdn is None
        http = self.cdn or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        downloader = CdnDownloader(
            http,
            self.client.redactor,
            retry=self.client.retry,
            remint_margin_s=self.options.remint_margin_s,
        )
        gate = asyncio.Semaphore(max(1, self.options.concurrency))

        async def one(t: Target) -> None:
            async with gate:
                await self.archive_one(downloader, t)

        try:
            await asyncio.gather(*(one(t) for t in targets))
        finally:
            await self.flush()
            if own:
                await http.aclose()

    async def archive_one(self, downloader: CdnDownloader, t: Target) -> None:
        """Mint, download, audit one video; its failure is recorded, not raised."""
        assert self.client is not None
        minted: list[tuple] = []

        async def mint() -> MintedUrl | None:
            url = await self.client.mint_url(t.record_id, t.video_id)  # type: ignore[union-attr]
            if url is not None:
                self.report.urls_minted += 1
                minted.append(
                    (t.record_id, t.video_id, url.stored_url, url.expires_at_ms, url.minted_at_ms)
                )
            return url

        row: tuple
        try:
            first = await mint()
            if first is None:
                raise VideoGone("the download URL request answered 404")
            got = await downloader.fetch(first, mint, self.lake / t.relative)
        except VideoGone as exc:
            row = self.audit_row(t, "not_found", error=str(exc))
        except Exception as exc:  # one video's failure must not stop the others
            why = self.client.redactor.redact(f"{type(exc).__name__}: {exc}")
            self.report.failed[t.key] = why
            log.error("valt archive of %s failed, the others go on: %s", t.key, why)
            row = self.audit_row(t, "failed", error=why)
        else:
            self._count(got, t)
            row = self.audit_row(t, "archived", got)
        self._audit.append(row)
        self._minted.extend(minted)
        if len(self._audit) >= AUDIT_BATCH:
            await self.flush()

    async def flush(self) -> None:
        """Commit the audit rows and minted URLs gathered so far (in the background)."""
        async with self._submitting:  # Checkpointer.submit is for one caller at a time
            audit, minted, self._audit, self._minted = self._audit, self._minted, [], []
            if audit or minted:
                note = f"{len(audit)} archive audit rows"
                await self.scaffold.checkpoints.submit(
                    lambda tx: self._write(tx, audit, minted), note=note
                )

    def _count(self, got: Downloaded, t: Target) -> None:
        r = self.report
        r.files.append(t.relative)
        r.bytes_downloaded += got.nbytes - got.resumed_from
        r.resumed_from_part += got.resumed_from > 0
        r.range_resumes += got.range_resumes
        r.cdn_requests += got.requests
        log.info("valt archived %s: %d bytes, sha256 %s", t.relative, got.nbytes, got.sha256)


async def archive_videos(
    client: ValtClient | None,
    warehouse: Warehouse,
    options: ArchiveOptions | None = None,
    *,
    run_id: str | None = None,
    cdn: Any = None,
) -> ArchiveReport:
    """Run the archive job once (``client`` may be None for a dry run)."""
    return await ArchiveJob(client, warehouse, options, run_id=run_id, cdn=cdn).run()
