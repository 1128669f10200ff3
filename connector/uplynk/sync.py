"""Incremental sync of Uplynk assets: change feed, tombstones and full reconciliation.

The stream's state (``meta.sync_state['uplynk']``) is a :class:`FeedState`:

- ``cursor_ms``: the feed has been applied up to here (the last page's ``end``);
- ``boundary``: the changes at exactly ``cursor_ms`` already applied. The feed is inclusive
  at both ends, so the next page repeats them; they are skipped by (ts, action, id);
- ``listing``: a full ``asset/list`` reconciliation in progress (``head_ms``, ``next_skip``).

Every run first walks the feed from the cursor to its head. A full listing follows when
there is no cursor yet, when asked for, or when the walk shows the cursor was older than
the vendor's delete-retention window (deletions it held may be gone). Stored assets the
listing no longer has are re-checked with ``asset/get`` and tombstoned if really gone.
Rows, rejects and the state are committed together every few pages, so a crash loses at
most the pages in flight and the cursor is never ahead of the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from connector.records import rows_to_table
from connector.runtime import release_free_memory
from connector.timeutil import now_ms, utc_from_ms
from connector.uplynk.client import ChangesPage, UplynkClient
from connector.uplynk.normalize import (
    ASSET_SCHEMA,
    ASSETS_STREAM,
    CHANGE_SCHEMA,
    CHANGES_STREAM,
    normalize_assets,
    valid_asset_id,
)
from connector.warehouse import Reject, RunRecord, Warehouse, WriteTx

log = logging.getLogger(__name__)

STREAM = "uplynk"
ASSETS_TABLE = "raw.uplynk_assets"
CHANGES_TABLE = "raw.uplynk_changes"
SEEN_TABLE = "meta.uplynk_listing_seen"
HOUR_MS = 3_600_000


@dataclass
class FeedState:
    cursor_ms: int | None = None
    boundary: list[list[Any]] = field(default_factory=list)
    listing: dict[str, Any] | None = None
    last_reconciled_ms: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FeedState:
        if not data:
            return cls()
        return cls(
            cursor_ms=data.get("cursor_ms"),
            boundary=[list(b) for b in data.get("boundary") or []],
            listing=data.get("listing"),
            last_reconciled_ms=data.get("last_reconciled_ms"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncOptions:
    """Knobs of one Uplynk sync (Dagster config maps onto these)."""

    delete_window_ms: int = 6 * HOUR_MS  # the vendor keeps deletions this long
    safety_margin_ms: int = 10 * 60_000  # reconcile this much before the window closes
    first_run_lookback_ms: int = 10 * 60_000  # covers clock skew (signing allows 5 min)
    checkpoint_pages: int = 20  # commit at least every N feed pages ...
    checkpoint_rows: int = 50_000  # ... or every N buffered rows
    listing_checkpoint_rows: int = 100_000  # full listings commit in bigger batches
    list_page_size: int = 100
    list_overlap: int = 5  # consecutive listing pages share this many positions
    list_max_look_back: int = 20  # pages fetched backwards when a page does not meet the last
    list_concurrency: int = 8
    full_refresh: bool = False


@dataclass
class SyncReport:
    run_id: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    changes: int = 0
    feed_pages: int = 0
    list_pages: int = 0
    list_look_backs: int = 0  # extra pages fetched because deletions shifted the listing
    assets_fetched: int = 0
    checkpoints: int = 0
    cursor_before: int | None = None
    cursor_after: int | None = None
    reconciled: str | None = None  # why a full listing ran: first_run, full_refresh, stale_cursor
    requests: int = 0
    retries: int = 0
    responses_429: int = 0
    bytes_received: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ids(records: list[Any]) -> list[str]:
    return [r["id"] for r in records if isinstance(r, dict) and isinstance(r.get("id"), str)]


class _Batch:
    """Rows waiting for the next checkpoint, kept as Arrow chunks of ~10k rows.

    Duplicate asset ids across pages are fine: the warehouse upsert keeps the last one.
    Tombstones (a delete whose state is not in hand) are applied after the rows, and only
    to assets not already marked deleted.
    """

    CHUNK_ROWS = 10_000

    def __init__(self) -> None:
        self.chunks: list[pa.Table] = []
        self.rows: list[tuple] = []
        self.n_assets = 0
        self.tombstones: dict[str, tuple[int, str]] = {}  # id -> (deleted ms, detected by)
        self.changes: list[tuple] = []
        self.rejects: dict[str, list[Reject]] = {}
        self.seen: list[str] = []

    def add_assets(self, records: list[Any]) -> None:
        rows, rejects = normalize_assets(records)
        self.rows.extend(rows)
        self.n_assets += len(rows)
        if len(self.rows) >= self.CHUNK_ROWS:
            self.chunks.append(rows_to_table(self.rows, ASSET_SCHEMA))
            self.rows = []
        if rejects:
            self.rejects.setdefault(ASSETS_STREAM, []).extend(rejects)

    def assets_table(self) -> pa.Table | None:
        if self.rows:
            self.chunks.append(rows_to_table(self.rows, ASSET_SCHEMA))
            self.rows = []
        if not self.chunks:
            return None
        return pa.concat_tables(self.chunks) if len(self.chunks) > 1 else self.chunks[0]

    def add_tombstone(self, asset_id: str, deleted_ms: int, detected_by: str = "feed") -> None:
        """An asset known to be deleted but whose state is not in hand."""
        self.tombstones[asset_id] = (deleted_ms, detected_by)

    def reject(self, stream: str, record_id: str | None, reason: str, payload: Any) -> None:
        self.rejects.setdefault(stream, []).append(Reject(record_id, reason, payload))

    @property
    def size(self) -> int:
        return self.n_assets + len(self.tombstones) + len(self.changes)


class UplynkSync:
    """One run of the Uplynk stream into a warehouse.

    >>> report = run_sync(UplynkSync(client, warehouse).run())  # doctest: +SKIP
    """

    def __init__(
        self,
        client: UplynkClient,
        warehouse: Warehouse,
        options: SyncOptions | None = None,
        *,
        run_id: str | None = None,
    ):
        self.client = client
        self.warehouse = warehouse
        self.options = options or SyncOptions()
        self.report = SyncReport(run_id=run_id or f"uplynk-{uuid.uuid4().hex[:12]}")
        self.state = FeedState()
        self.batch = _Batch()
        self._pages_since_checkpoint = 0
        self._writing: asyncio.Future | None = None  # the checkpoint being committed

    # -- the run -------------------------------------------------------------------------

    async def run(self) -> SyncReport:
        started = time.monotonic()
        started_at = now_ms()
        opts = self.options
        error: BaseException | None = None
        try:
            removed = self.warehouse.recover_lake(ASSETS_STREAM) + self.warehouse.recover_lake(
                CHANGES_STREAM
            )
            if removed:
                log.warning("removed %d orphaned lake files from a crashed run", len(removed))
            with self.warehouse.write() as tx:
                self.state = FeedState.from_dict(tx.get_state(STREAM))
            before = self.state.cursor_ms
            self.report.cursor_before = before

            start = before if before is not None else now_ms() - opts.first_run_lookback_ms
            head = await self._walk_feed(start)

            reason = None
            if before is None:
                reason = "first_run"
            elif opts.full_refresh:
                reason = "full_refresh"
            elif head - before > opts.delete_window_ms - opts.safety_margin_ms:
                reason = "stale_cursor"
                log.warning(
                    "cursor is %.1f h old, beyond the %.1f h delete window: reconciling with a full list",
                    (head - before) / HOUR_MS,
                    opts.delete_window_ms / HOUR_MS,
                )
            if reason is not None:
                await self._begin_listing(head, reason)
            if self.state.listing is not None:
                self.report.reconciled = reason or self.state.listing.get("reason", "resumed")
                await self._list_everything()
                await self._tombstone_unlisted()
                await self._walk_feed(self.state.cursor_ms)  # changes made during the listing
            await self._checkpoint(force=True, wait=True)
        except BaseException as exc:  # record the failure, then re-raise
            error = exc
            with contextlib.suppress(BaseException):
                await self._drain()  # let a checkpoint in flight finish committing
            raise
        finally:
            self._finish(started, started_at, error)
        return self.report

    # -- change feed -----------------------------------------------------------------------

    async def _walk_feed(self, start_ms: int) -> int:
        """Apply the feed from ``start_ms`` to its head; return the head (last ``end``)."""
        cursor = start_ms
        boundary = (
            {tuple(b) for b in self.state.boundary} if start_ms == self.state.cursor_ms else set()
        )
        while True:
            page = await self.client.changes(cursor)
            self.report.feed_pages += 1
            # (ts, action, id) is the change's identity: repeats within a page collapse too
            fresh = list(dict.fromkeys(c for c in page.changes if c.key not in boundary))
            self._reject_malformed_changes(page)
            if fresh:
                await self._apply_changes(page, fresh)
            if page.end > cursor:
                boundary = {c.key for c in page.changes if c.ts_ms == page.end}
            else:
                boundary |= {c.key for c in fresh}
            cursor = max(cursor, page.end)
            self.state.cursor_ms = cursor
            self.state.boundary = sorted(list(b) for b in boundary)
            self._pages_since_checkpoint += 1
            if not fresh:
                return cursor
            await self._checkpoint()

    async def _apply_changes(self, page: ChangesPage, fresh: list) -> None:
        batch = self.batch
        missing: list[str] = []
        for change in fresh:
            batch.changes.append((change.ts_ms, change.action, change.asset_id))
        self.report.changes += len(fresh)
        latest = {}
        for change in fresh:
            latest[change.asset_id] = change
        records = []
        for asset_id, change in latest.items():
            if not valid_asset_id(asset_id):
                batch.reject(
                    CHANGES_STREAM, asset_id, "asset id is not 32 lowercase hex", list(change.key)
                )
                continue
            state = page.assets.get(asset_id)
            if state is not None:
                records.append(state)
            elif change.action == "delete":
                batch.add_tombstone(asset_id, change.ts_ms)
            else:
                missing.append(asset_id)
            if change.action == "delete":
                self.report.deleted += 1
        batch.add_assets(records)
        if missing:
            fetched = await self.client.get_assets(missing)
            self.report.assets_fetched += len(fetched)
            batch.add_assets(fetched)

    def _reject_malformed_changes(self, page: ChangesPage) -> None:
        for entry in page.malformed:
            self.batch.reject(
                CHANGES_STREAM, None, "change is not [int ts_ms, update|delete, id]", entry
            )

    # -- full listing ----------------------------------------------------------------------

    async def _begin_listing(self, head_ms: int, reason: str) -> None:
        self.state.listing = {"head_ms": head_ms, "next_skip": 0, "reason": reason}
        await self._checkpoint(force=True, clear_seen=True)

    async def _list_everything(self) -> None:
        """Page ``asset/list`` ordered by ``created``, a window of requests in flight.

        Ordered by creation time, new assets only append at the end; a deletion, though,
        shifts every later asset one position left, so a page fetched after deletions
        before its offset starts late, and a plain skip/limit walk would never see the
        assets that slid past its start. Pages therefore overlap by ``list_overlap``
        assets, and a page whose head does not meet the previous page's tail triggers a
        look-back fetch (:meth:`_look_back`).
        """
        opts = self.options
        listing = self.state.listing
        assert listing is not None
        limit = opts.list_page_size
        stride = limit - opts.list_overlap
        next_skip = int(listing["next_skip"])
        pending: dict[int, asyncio.Task] = {}
        to_schedule = next_skip
        prev_tail: set[str] | None = None  # last ids of the previous page, when it was full
        done = False
        try:
            while not done:
                while len(pending) < opts.list_concurrency:
                    pending[to_schedule] = asyncio.create_task(
                        self.client.list_page(to_schedule, limit)
                    )
                    to_schedule += stride
                records = await pending.pop(next_skip)
                self.report.list_pages += 1
                ids = _ids(records)
                # an empty or short last page must meet the previous page too: deletions
                # may have pulled the end of the list below its offset
                if prev_tail is not None and prev_tail.isdisjoint(ids[: opts.list_overlap]):
                    self._take_listed(await self._look_back(next_skip, prev_tail))
                self._take_listed(records)
                prev_tail = set(ids[-opts.list_overlap :]) if len(records) >= limit else None
                next_skip += stride
                listing["next_skip"] = next_skip
                done = len(records) < limit
                if self.batch.size >= opts.listing_checkpoint_rows:
                    await self._checkpoint(force=True)
        finally:
            for task in pending.values():
                task.cancel()
            if pending:
                await asyncio.gather(*pending.values(), return_exceptions=True)

    async def _look_back(self, skip: int, prev_tail: set[str]) -> list[Any]:
        """Fetch the pages before ``skip`` until one meets the previous page's tail."""
        limit = self.options.list_page_size
        found: list[Any] = []
        for back in range(1, self.options.list_max_look_back + 1):
            start = max(0, skip - back * limit)
            records = await self.client.list_page(start, limit)
            self.report.list_pages += 1
            self.report.list_look_backs += 1
            found.extend(records)
            if start == 0 or not prev_tail.isdisjoint(_ids(records)):
                return found
        log.warning(
            "asset/list shifted by more than %d assets during the listing (deletions); "
            "assets it skipped are picked up by their next change or the next reconciliation",
            self.options.list_max_look_back * limit,
        )
        return found

    def _take_listed(self, records: list[Any]) -> None:
        self.batch.add_assets(records)
        self.batch.seen.extend(_ids(records))

    async def _tombstone_unlisted(self) -> None:
        """Stored live assets the listing did not return: re-check, tombstone if gone."""
        await self._checkpoint(force=True, wait=True)
        with self.warehouse.read() as con:
            candidates = [
                r[0]
                for r in con.execute(
                    f"SELECT a.asset_id FROM {ASSETS_TABLE} a ANTI JOIN {SEEN_TABLE} s USING (asset_id) "
                    "WHERE a.deleted_at IS NULL"
                ).fetchall()
            ]
        if candidates:
            alive = await self.client.get_assets(candidates)
            self.report.assets_fetched += len(alive)
            self.batch.add_assets(alive)
            alive_ids = {a.get("id") for a in alive if isinstance(a, dict)}
            head = int(self.state.listing["head_ms"])  # deleted at some point before the listing
            gone = [c for c in candidates if c not in alive_ids]
            for asset_id in gone:
                self.batch.add_tombstone(asset_id, head, "reconcile")
            self.report.deleted += len(gone)
            log.info(
                "reconciliation: %d unlisted, %d still alive, %d deleted",
                len(candidates),
                len(alive_ids),
                len(gone),
            )
        self.state.last_reconciled_ms = int(self.state.listing["head_ms"])
        self.state.listing = None
        await self._checkpoint(force=True, clear_seen=True)

    # -- checkpoints -------------------------------------------------------------------------

    async def _checkpoint(
        self, *, force: bool = False, clear_seen: bool = False, wait: bool = False
    ) -> None:
        """Hand buffered rows, rejects and the state (as of now) to the writer thread.

        One transaction commits them together; at most one is in flight, so the next pages
        are fetched and parsed while DuckDB commits. ``wait`` returns only once committed.
        """
        opts = self.options
        due = (
            force
            or self._pages_since_checkpoint >= opts.checkpoint_pages
            or self.batch.size >= opts.checkpoint_rows
        )
        if due:
            batch, self.batch = self.batch, _Batch()
            state = copy.deepcopy(self.state.to_dict())
            self._pages_since_checkpoint = 0
            await self._drain()
            loop = asyncio.get_running_loop()
            self._writing = loop.run_in_executor(None, self._write, batch, state, clear_seen)
        if wait:
            await self._drain()

    async def _drain(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    def _write(self, batch: _Batch, state: dict[str, Any], clear_seen: bool) -> None:
        """One checkpoint transaction (runs in a worker thread)."""
        report = self.report
        assets = batch.assets_table()
        with self.warehouse.write() as tx:
            if assets is not None:
                tx.land(ASSETS_STREAM, assets, report.run_id)
                counts = tx.upsert(ASSETS_TABLE, assets, ["asset_id"])
                report.inserted += counts.inserted
                report.updated += counts.updated
                report.unchanged += counts.unchanged
            if batch.tombstones:
                self._apply_tombstones(tx, batch.tombstones)
            if batch.changes:
                changes = rows_to_table(batch.changes, CHANGE_SCHEMA)
                tx.land(CHANGES_STREAM, changes, report.run_id)
                tx.insert_new(CHANGES_TABLE, changes, ["change_ts", "action", "asset_id"])
            for stream, rejects in batch.rejects.items():
                report.rejected += tx.reject(stream, rejects, report.run_id)
            if clear_seen:
                tx.execute(f"DELETE FROM {SEEN_TABLE}")
            if batch.seen:
                tx.insert_new(
                    SEEN_TABLE,
                    pa.table({"asset_id": pa.array(batch.seen, pa.string())}),
                    ["asset_id"],
                )
            tx.set_state(STREAM, state)
        report.checkpoints += 1
        release_free_memory()
        log.info(
            "checkpoint %d: cursor=%s listing=%s assets=%d changes=%d",
            report.checkpoints,
            state.get("cursor_ms"),
            None if state.get("listing") is None else state["listing"].get("next_skip"),
            batch.n_assets + len(batch.tombstones),
            len(batch.changes),
        )

    @staticmethod
    def _apply_tombstones(tx: WriteTx, tombstones: dict[str, tuple[int, str]]) -> None:
        """Mark stored assets deleted; unknown ids get a minimal tombstone row."""
        ids = list(tombstones)
        table = pa.table(
            {
                "asset_id": pa.array(ids, pa.string()),
                "deleted_at": pa.array([tombstones[i][0] for i in ids], pa.int64()).cast(
                    ASSET_SCHEMA.field("deleted_at").type
                ),
                "delete_detected_by": pa.array([tombstones[i][1] for i in ids], pa.string()),
            }
        )
        tx.con.register("uplynk_tombstones", table)
        try:
            tx.con.execute(
                f"UPDATE {ASSETS_TABLE} AS a SET deleted_at = t.deleted_at, delete_detected_by = t.delete_detected_by "
                "FROM uplynk_tombstones t WHERE a.asset_id = t.asset_id AND a.deleted_at IS NULL"
            )
            tx.con.execute(
                f"INSERT INTO {ASSETS_TABLE} (asset_id, deleted_at, delete_detected_by) "
                f"SELECT t.asset_id, t.deleted_at, t.delete_detected_by FROM uplynk_tombstones t "
                f"ANTI JOIN {ASSETS_TABLE} a USING (asset_id)"
            )
        finally:
            tx.con.unregister("uplynk_tombstones")

    def _finish(self, started: float, started_at: int, error: BaseException | None) -> None:
        report = self.report
        report.cursor_after = self.state.cursor_ms
        report.elapsed_s = round(time.monotonic() - started, 3)
        metrics = self.client.metrics
        report.requests = metrics.requests
        report.retries = metrics.retries
        report.responses_429 = metrics.responses_429
        report.bytes_received = metrics.bytes_received
        self.warehouse.log_run(
            RunRecord(
                run_id=report.run_id,
                stream=STREAM,
                started_at=utc_from_ms(started_at),
                finished_at=utc_from_ms(now_ms()),
                status="ok" if error is None else "failed",
                rows_inserted=report.inserted,
                rows_updated=report.updated,
                rows_deleted=report.deleted,
                rows_rejected=report.rejected,
                cursor_before=report.cursor_before,
                cursor_after=report.cursor_after,
                requests=report.requests,
                retries=report.retries,
                error=None if error is None else f"{type(error).__name__}: {error}",
            ),
            self.client.redactor.redact,
        )
