"""One IBM sync: channel listings into raw.ibm_videos, then policy-selected expirations.

1. **Listing.** Each channel in ``IBM_VIDEO_CHANNEL_IDS`` is paged to the end (``paging.next``
   decides). Rows are upserted in batches with their rejects; every listed id is stamped
   ``last_seen_at`` (``first_seen_at`` once), has ``removed_at`` cleared, and goes into
   ``meta.ibm_listing_seen``. Only after a channel's listing is COMPLETE are its stored videos
   that the listing did not return marked ``missing_since``, and those a second consecutive
   complete listing also lacks marked ``removed_at``; a failed listing marks nothing.
2. **Expirations.** :func:`connector.ibm.policy.plan_refresh` picks the videos to check
   (new, within the horizon, a rolling share of the rest). They are fetched concurrently on
   the fast transport, paced by the rate limiter, and written every ``checkpoint_rows``
   results (in a worker thread, so requests keep flowing while DuckDB writes). Each write
   upserts ``raw.ibm_expirations`` and appends to ``raw.ibm_expiration_history`` a row for
   every video whose rule / expires_at / check_status differs from the stored one.

"now" (``SyncOptions.now_ms``) is injectable: tests run the policy over simulated days.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from connector.ibm.client import Expiration, IbmClient
from connector.ibm.normalize import (
    EXPIRATION_SCHEMA,
    EXPIRATIONS_STREAM,
    VIDEO_SCHEMA,
    VIDEOS_STREAM,
    expiration_row,
    normalize_videos,
)
from connector.ibm.policy import RefreshPlan, RefreshPolicy, load_candidates, plan_refresh
from connector.records import rows_to_table
from connector.timeutil import now_ms, utc_from_ms
from connector.warehouse import Reject, RunRecord, Warehouse, WriteTx

log = logging.getLogger(__name__)

STREAM = "ibm"
VIDEOS_TABLE = "raw.ibm_videos"
EXPIRATIONS_TABLE = "raw.ibm_expirations"
HISTORY_TABLE = "raw.ibm_expiration_history"
SEEN_TABLE = "meta.ibm_listing_seen"
VIDEO_CONTENT = [f.name for f in VIDEO_SCHEMA if f.name != "video_id"]


@dataclass
class SyncOptions:
    """Knobs of one IBM sync (Dagster config maps onto these)."""

    policy: RefreshPolicy = field(default_factory=RefreshPolicy)
    now_ms: int | None = None  # "now" for the policy and the *_at columns; default: the clock
    pagesize: int = 50  # asked per listing page (the vendor clamps above 50)
    concurrency: int = 64  # expiration requests in flight
    checkpoint_rows: int = 5000  # commit every N listed videos / checked expirations
    check_expirations: bool = True


@dataclass
class SyncReport:
    run_id: str
    channels: int = 0
    pages: int = 0
    videos_listed: int = 0
    videos_inserted: int = 0
    videos_updated: int = 0
    videos_removed: int = 0  # confirmed by a second complete listing without them
    videos_missing: int = 0  # absent from this complete listing for the first time
    videos_returned: int = 0
    rejected: int = 0
    selected: int = 0
    checked_by_reason: dict[str, int] = field(default_factory=dict)
    checked_by_status: dict[str, int] = field(default_factory=dict)
    expirations_checked: int = 0
    expiration_changes: int = 0
    rolling_quota: int = 0
    requests: int = 0
    retries: int = 0
    responses_429: int = 0
    reauths: int = 0
    tokens_fetched: int = 0
    expiration_requests: int = 0
    expiration_429: int = 0
    expiration_elapsed_s: float = 0.0
    requests_per_s: float = 0.0
    elapsed_s: float = 0.0
    now_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_expirations(
    tx: WriteTx, rows: list[tuple], run_id: str, source: str
) -> tuple[int, pa.Table]:
    """Upsert expiration rows and log every change in the history; returns (changes, table)."""
    table = rows_to_table(rows, EXPIRATION_SCHEMA)
    if table.num_rows == 0:
        return 0, table
    tx.land(EXPIRATIONS_STREAM, table, run_id)
    name = f"ibm_exp_{uuid.uuid4().hex[:8]}"
    tx.con.register(name, table)
    try:
        changed = tx.con.execute(
            f"""
            INSERT INTO {HISTORY_TABLE}
            SELECT b.video_id, b.checked_at, b.rule, b.expires_at, b.check_status,
                   e.rule, e.expires_at, e.check_status, ?, ?
            FROM (SELECT DISTINCT ON (video_id) * FROM {name}) AS b
            LEFT JOIN {EXPIRATIONS_TABLE} AS e USING (video_id)
            WHERE e.video_id IS NULL
               OR e.rule IS DISTINCT FROM b.rule
               OR e.expires_at IS DISTINCT FROM b.expires_at
               OR e.check_status IS DISTINCT FROM b.check_status
            """,
            [source, run_id],
        ).fetchone()[0]
    finally:
        tx.con.unregister(name)
    tx.upsert(EXPIRATIONS_TABLE, table, ["video_id"])
    return int(changed), table


class IbmSync:
    """One run of the IBM stream into a warehouse.

    >>> report = run_sync(IbmSync(client, warehouse).run())  # doctest: +SKIP
    """

    def __init__(
        self,
        client: IbmClient,
        warehouse: Warehouse,
        options: SyncOptions | None = None,
        *,
        run_id: str | None = None,
    ):
        self.client = client
        self.warehouse = warehouse
        self.options = options or SyncOptions()
        self.report = SyncReport(run_id=run_id or f"ibm-{uuid.uuid4().hex[:12]}")
        self.plan: RefreshPlan | None = None

    async def run(self) -> SyncReport:
        started = time.monotonic()
        started_at = now_ms()
        now = self.options.now_ms if self.options.now_ms is not None else started_at
        self.report.now_ms = now
        error: BaseException | None = None
        try:
            removed = self.warehouse.recover_lake(VIDEOS_STREAM) + self.warehouse.recover_lake(
                EXPIRATIONS_STREAM
            )
            if removed:
                log.warning("removed %d orphaned lake files from a crashed run", len(removed))
            for channel in self.client.settings.channel_ids:
                await self._list_channel(channel, now)
            if self.options.check_expirations:
                await self._check_expirations(now)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(started, started_at, error)
        return self.report

    # -- listing -----------------------------------------------------------------------------
    async def _list_channel(self, channel: str, now: int) -> None:
        opts = self.options
        with self.warehouse.write() as tx:
            tx.execute(f"DELETE FROM {SEEN_TABLE} WHERE channel_id = ?", [channel])
        rows: list[tuple] = []
        rejects: list[Reject] = []
        async for page in self.client.channel_pages(channel, opts.pagesize):
            self.report.pages += 1
            got, bad = normalize_videos(page, channel)
            rows += got
            rejects += bad
            if len(rows) + len(rejects) >= opts.checkpoint_rows:
                await asyncio.to_thread(self._write_videos, channel, rows, rejects, now)
                rows, rejects = [], []
        await asyncio.to_thread(self._write_videos, channel, rows, rejects, now, True)
        self.report.channels += 1

    def _write_videos(
        self,
        channel: str,
        rows: list[tuple],
        rejects: list[Reject],
        now: int,
        complete: bool = False,
    ) -> None:
        report = self.report
        ts = utc_from_ms(now)
        with self.warehouse.write() as tx:
            if rows:
                table = rows_to_table(rows, VIDEO_SCHEMA)
                tx.land(VIDEOS_STREAM, table, report.run_id)
                counts = tx.upsert(VIDEOS_TABLE, table, ["video_id"], compare=VIDEO_CONTENT)
                report.videos_inserted += counts.inserted
                report.videos_updated += counts.updated
                report.videos_listed += table.num_rows
                seen = pa.table(
                    {
                        "channel_id": pa.array([channel] * table.num_rows, pa.string()),
                        "video_id": table.column("video_id"),
                    }
                )
                tx.insert_new(SEEN_TABLE, seen, ["channel_id", "video_id"])
                tx.con.register("ibm_seen_batch", seen)
                try:
                    report.videos_returned += tx.con.execute(
                        f"SELECT count(*) FROM {VIDEOS_TABLE} v JOIN ibm_seen_batch s USING (video_id) "
                        "WHERE v.removed_at IS NOT NULL"
                    ).fetchone()[0]
                    tx.con.execute(
                        f"UPDATE {VIDEOS_TABLE} AS v SET last_seen_at = ?, "
                        "first_seen_at = coalesce(v.first_seen_at, ?), removed_at = NULL, "
                        "missing_since = NULL "
                        "FROM ibm_seen_batch AS s WHERE v.video_id = s.video_id",
                        [ts, ts],
                    )
                finally:
                    tx.con.unregister("ibm_seen_batch")
            if rejects:
                report.rejected += tx.reject(VIDEOS_STREAM, rejects, report.run_id)
            if complete:
                # Offset paging can let a video slide between two pages while the channel
                # changes, so one complete listing without a video only marks it missing;
                # the next complete listing without it confirms the removal.
                unseen = (
                    f"v.channel_id = ? AND v.removed_at IS NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {SEEN_TABLE} s WHERE s.channel_id = ? AND s.video_id = v.video_id)"
                )
                report.videos_removed += tx.con.execute(
                    f"UPDATE {VIDEOS_TABLE} AS v SET removed_at = v.missing_since "
                    f"WHERE {unseen} AND v.missing_since IS NOT NULL",
                    [channel, channel],
                ).fetchone()[0]
                report.videos_missing += tx.con.execute(
                    f"UPDATE {VIDEOS_TABLE} AS v SET missing_since = ? "
                    f"WHERE {unseen} AND v.missing_since IS NULL",
                    [ts, channel, channel],
                ).fetchone()[0]
                tx.execute(f"DELETE FROM {SEEN_TABLE} WHERE channel_id = ?", [channel])
        log.info(
            "ibm channel %s: wrote %d videos, %d rejects%s",
            channel,
            len(rows),
            len(rejects),
            " (listing complete)" if complete else "",
        )

    # -- expirations -------------------------------------------------------------------------
    async def _check_expirations(self, now: int) -> None:
        opts = self.options
        with self.warehouse.read() as con:
            candidates = load_candidates(con)
        plan = plan_refresh(candidates, now, opts.policy)
        self.plan = plan
        report = self.report
        report.selected = len(plan)
        report.checked_by_reason = dict(plan.counts)
        report.rolling_quota = plan.quota
        log.info(
            "ibm expirations: checking %d (new %d, horizon %d, rolling %d of %d; quota %d, due %d)",
            len(plan),
            plan.counts["new"],
            plan.counts["horizon"],
            plan.counts["rolling"],
            plan.rest,
            plan.quota,
            plan.due,
        )
        if not plan.video_ids:
            return
        rows: list[tuple] = []
        rejects: list[Reject] = []
        pending: asyncio.Future | None = None
        metrics = self.client.expiration_metrics
        req0, r429_0 = metrics.requests, metrics.responses_429
        t0 = time.monotonic()
        try:
            async for item in self.client.expirations(plan.video_ids, opts.concurrency):
                if isinstance(item, Expiration):
                    rows.append(expiration_row(item, now))
                    report.checked_by_status[item.status] = (
                        report.checked_by_status.get(item.status, 0) + 1
                    )
                else:
                    vid, exc = item
                    rejects.append(Reject(vid, f"expiration: {exc}", {"video_id": vid}))
                if len(rows) + len(rejects) >= opts.checkpoint_rows:
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(
                        asyncio.to_thread(self._write_expirations, rows, rejects)
                    )
                    rows, rejects = [], []
        finally:
            if pending is not None:
                await pending
            report.expiration_elapsed_s = round(time.monotonic() - t0, 3)
        self._write_expirations(rows, rejects)
        report.expiration_requests = metrics.requests - req0
        report.expiration_429 = metrics.responses_429 - r429_0
        if report.expiration_elapsed_s > 0:
            report.requests_per_s = round(
                report.expiration_requests / report.expiration_elapsed_s, 1
            )

    def _write_expirations(self, rows: list[tuple], rejects: list[Reject]) -> None:
        if not rows and not rejects:
            return
        with self.warehouse.write() as tx:
            if rows:
                changed, table = write_expirations(tx, rows, self.report.run_id, "sync")
                self.report.expiration_changes += changed
                self.report.expirations_checked += table.num_rows
            if rejects:
                self.report.rejected += tx.reject(EXPIRATIONS_STREAM, rejects, self.report.run_id)

    # -- run log -----------------------------------------------------------------------------
    def _finish(self, started: float, started_at: int, error: BaseException | None) -> None:
        report = self.report
        report.elapsed_s = round(time.monotonic() - started, 3)
        m = self.client.metrics
        report.requests = m.requests
        report.retries = m.retries
        report.responses_429 = m.responses_429
        report.reauths = m.reauths
        report.tokens_fetched = self.client.tokens.fetched
        self.warehouse.log_run(
            RunRecord(
                run_id=report.run_id,
                stream=STREAM,
                started_at=utc_from_ms(started_at),
                finished_at=utc_from_ms(now_ms()),
                status="ok" if error is None else "failed",
                rows_inserted=report.videos_inserted,
                rows_updated=report.videos_updated + report.expirations_checked,
                rows_deleted=report.videos_removed,
                rows_rejected=report.rejected,
                cursor_before=None,
                cursor_after={"now_ms": report.now_ms, "checked": report.checked_by_reason},
                requests=report.requests,
                retries=report.retries,
                error=None if error is None else f"{type(error).__name__}: {error}",
            ),
            self.client.redactor.redact,
        )


__all__ = ["IbmSync", "SyncOptions", "SyncReport", "write_expirations"]
