"""Incremental sync of Uplynk assets: change feed, tombstones and full reconciliation.

Every run first walks the feed from the cursor to its head (:mod:`.feed`). A full listing
(:mod:`.listing`) follows when there is no cursor yet, when asked for, when the walk shows
the cursor was older than the vendor's delete-retention window (measured on the vendor's
clock: its ``end`` values; deletions it held may be gone), or when the walk met a burst of
more changes at one millisecond than a page holds (then the cursor moves past the burst once
the listing has reconciled it). Rows, rejects and the state (:mod:`.state`) are committed
together every few pages by the kit's checkpointer, so a crash loses at most the pages in
flight and the cursor is never ahead of the data.
"""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any

import pyarrow as pa

from connector.kit import Batch, SyncRun, TableSpec, write_batch
from connector.timeutil import now_ms
from connector.uplynk.client import UplynkClient
from connector.uplynk.feed import FeedEnd, FeedWalk
from connector.uplynk.listing import FullListing
from connector.uplynk.normalize import (
    ASSET_SCHEMA,
    ASSETS_STREAM,
    CHANGE_SCHEMA,
    CHANGES_STREAM,
    normalize_assets,
)
from connector.uplynk.state import HOUR_MS, FeedState, SyncOptions, UplynkReport
from connector.warehouse import Reject, Warehouse, WriteTx, sql_file

log = logging.getLogger(__name__)

STREAM = "uplynk"
ASSETS = TableSpec(ASSETS_STREAM, "raw.uplynk_assets", ("asset_id",), ASSET_SCHEMA)
CHANGES = TableSpec(
    CHANGES_STREAM,
    "raw.uplynk_changes",
    ("change_ts", "action", "asset_id"),
    CHANGE_SCHEMA,
    mode="insert_new",
    counted=False,
)


class UplynkBatch(Batch):
    """Rows for the next checkpoint, plus tombstones and the ids a listing has seen.

    Duplicate asset ids across pages are fine: the upsert keeps the last one. Tombstones (a
    delete whose state is not in hand) are applied after the rows, only to live assets.
    """

    def __init__(self) -> None:
        super().__init__([ASSETS, CHANGES])
        self.tombstones: dict[str, tuple[int, str]] = {}  # id -> (deleted ms, detected by)
        self.seen: list[str] = []
        self.clear_seen = False

    def add_assets(self, records: list[Any]) -> None:
        self.add_rows(*normalize_assets(records))

    def add_rows(self, rows: list[tuple], rejects: list[Reject]) -> None:
        """Asset rows in ``ASSET_SCHEMA`` order and the records rejected beside them."""
        self.add(ASSETS_STREAM, rows)
        self.add_rejects(ASSETS_STREAM, rejects)

    def add_changes(self, rows: list[tuple]) -> None:
        self.add(CHANGES_STREAM, rows)

    def add_tombstone(self, asset_id: str, deleted_ms: int, detected_by: str = "feed") -> None:
        self.tombstones[asset_id] = (deleted_ms, detected_by)

    def absorb(self, other: Batch) -> None:
        super().absorb(other)
        if isinstance(other, UplynkBatch):
            self.tombstones.update(other.tombstones)
            self.seen.extend(other.seen)

    @property
    def n_assets(self) -> int:
        return self.rows[ASSETS_STREAM].count

    @property
    def size(self) -> int:
        return super().size + len(self.tombstones)


def tombstone_table(tombstones: dict[str, tuple[int, str]]) -> pa.Table:
    ids = list(tombstones)
    return pa.table(
        {
            "asset_id": pa.array(ids, pa.string()),
            "deleted_at": pa.array([tombstones[i][0] for i in ids], pa.int64()).cast(
                ASSET_SCHEMA.field("deleted_at").type
            ),
            "delete_detected_by": pa.array([tombstones[i][1] for i in ids], pa.string()),
        }
    )


class UplynkSync(FeedWalk, FullListing):
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
        self.report = UplynkReport(run_id=run_id or f"uplynk-{uuid.uuid4().hex[:12]}")
        self.state = FeedState()
        self.batch = UplynkBatch()
        self.pages_since_checkpoint = 0
        self.scaffold = SyncRun(
            STREAM,
            warehouse,
            self.report,
            lake_streams=(ASSETS_STREAM, CHANGES_STREAM),
            metrics=lambda: client.metrics,
            redact=client.redactor.redact,
            cursor=lambda state: state.get("cursor_ms"),
        )

    async def run(self) -> UplynkReport:
        try:
            return await self.scaffold.run(self._walk)  # type: ignore[return-value]
        finally:
            stats = self.client.get_stats
            self.report.get_batch_errors = stats.batch_errors
            self.report.get_extra_calls = stats.extra_calls
            self.report.get_absent = stats.absent

    async def _walk(self) -> None:
        opts = self.options
        self.state = FeedState.from_dict(self.scaffold.load_state())
        before = self.state.cursor_ms
        start = before if before is not None else now_ms() - opts.first_run_lookback_ms
        if self.state.listing is None and (before is None or opts.full_refresh):
            # A new full listing (first run, full refresh) stores every live state: the feed
            # is walked beside it, not before it (FullListing.list_beside_feed). A listing
            # resumed from a crash is not new: it skips pages, so the feed comes first.
            reason = "first_run" if before is None else "full_refresh"
            end = await self.list_beside_feed(start, reason)
            reason = "burst" if end.burst_ms is not None else None
        else:
            end = await self.walk_feed(start)
            reason = self._listing_reason(before, end)
            resumed = self.state.listing
            if resumed is not None and resumed.get("head_ms") is None:
                resumed["head_ms"] = end.head_ms  # its walk beside it never finished
        for _ in range(opts.max_bursts_per_run):
            if reason is not None and self.state.listing is None:
                await self.begin_listing(end.head_ms, reason, end.burst_ms)
            if self.state.listing is None:
                break
            self.report.reconciled = reason or self.state.listing.get("reason", "resumed")
            burst_ms = self.state.listing.get("burst_ms")
            await self.list_everything()
            end = await self.after_listing(burst_ms)
            reason = "burst" if end.burst_ms is not None else None
        await self.checkpoint(force=True, wait=True)

    def _listing_reason(self, before: int | None, end: FeedEnd) -> str | None:
        opts = self.options
        if before is None:
            return "first_run"
        if opts.full_refresh:
            return "full_refresh"
        if end.burst_ms is not None:
            return "burst"
        # both ends on the vendor's clock: the cursor's age as the vendor sees it
        if end.head_ms - before > opts.delete_window_ms - opts.safety_margin_ms:
            log.warning(
                "cursor is %.1f h old, beyond the %.1f h delete window: reconciling with a full list",
                (end.head_ms - before) / HOUR_MS,
                opts.delete_window_ms / HOUR_MS,
            )
            return "stale_cursor"
        return None

    # -- checkpoints -------------------------------------------------------------------------

    async def checkpoint(self, *, force: bool = False, wait: bool = False) -> None:
        """Hand buffered rows, rejects and the state (as of now) to the kit's checkpointer:
        one transaction commits them together while the next pages are fetched."""
        opts = self.options
        due = (
            force
            or self.pages_since_checkpoint >= opts.checkpoint_pages
            or self.batch.size >= opts.checkpoint_rows
        )
        if due:
            batch, self.batch = self.batch, UplynkBatch()
            state = copy.deepcopy(self.state.to_dict())
            self.pages_since_checkpoint = 0
            listing = state["listing"]
            note = (
                f"cursor={state['cursor_ms']} listing="
                f"{None if listing is None else listing['next_skip']} "
                f"assets={batch.n_assets + len(batch.tombstones)} "
                f"changes={batch.rows[CHANGES_STREAM].count}"
            )
            await self.scaffold.checkpoints.submit(
                lambda tx: self._write(tx, batch), state, note=note
            )
        if wait:
            await self.scaffold.checkpoints.drain()

    def _write(self, tx: WriteTx, batch: UplynkBatch) -> None:
        """One checkpoint's writes (in the checkpointer's worker thread)."""
        write_batch(tx, batch, self.report)
        if batch.tombstones:
            inputs = {"tombstones": tombstone_table(batch.tombstones)}
            tx.run(sql_file(__file__, "mark_deleted"), inputs=inputs)
            tx.run(sql_file(__file__, "insert_tombstones"), inputs=inputs)
        if batch.clear_seen:
            tx.run(sql_file(__file__, "clear_listing_seen"))
        if batch.seen:
            seen = pa.table({"asset_id": pa.array(batch.seen, pa.string())})
            tx.run(sql_file(__file__, "add_listing_seen"), inputs={"seen": seen})


__all__ = ["FeedState", "SyncOptions", "UplynkReport", "UplynkSync"]
