"""One VALT sync: a listing (:mod:`.listing`), then the policy-selected details
(:mod:`.details`).

A run resumes a listing a killed run left, else starts one: a sweep (no date filter) on the
first run, on ``full_refresh`` and every ``sweep_every_hours``; otherwise an incremental
listing from ``start_date`` (the newest ``created`` seen, minus ``date_overlap_days``).
Listing pages and the state (:mod:`.state`) are committed together by the kit's
checkpointer; a sweep's reconciliation (stored recordings it lacked become due) is
committed with its last page. Then the details of the recordings the policy picks are read.
"now" (``SyncOptions.now_ms``) is injectable: tests run the policy over simulated days.
Download URLs are not minted here (they expire in 30 minutes): the archive job mints them.
"""

from __future__ import annotations

import uuid

from connector.kit import SyncRun
from connector.timeutil import now_ms
from connector.valt import store
from connector.valt.client import ValtClient
from connector.valt.details import DetailsChecks, ValtDetailsError
from connector.valt.listing import RecordingListing, ValtListingError
from connector.valt.normalize import RECORDINGS_STREAM, VIDEOS_STREAM
from connector.valt.state import SyncOptions, ValtReport, ValtState
from connector.warehouse import Warehouse

STREAM = "valt"


class ValtSync(RecordingListing, DetailsChecks):
    """One run of the VALT stream into a warehouse.

    >>> report = run_sync(ValtSync(client, warehouse).run())  # doctest: +SKIP
    """

    def __init__(
        self,
        client: ValtClient,
        warehouse: Warehouse,
        options: SyncOptions | None = None,
        *,
        run_id: str | None = None,
    ) -> None:
        self.client = client
        self.warehouse = warehouse
        self.options = options or SyncOptions()
        self.report = ValtReport(run_id=run_id or f"valt-{uuid.uuid4().hex[:12]}")
        self.state = ValtState()
        self.listing_batch = store.ListingBatch(sweep=False)
        self.now = 0
        self.scaffold = SyncRun(
            STREAM,
            warehouse,
            self.report,
            lake_streams=(RECORDINGS_STREAM, VIDEOS_STREAM),
            metrics=lambda: client.metrics,
            redact=client.redactor.redact,
            cursor=lambda state: state.get("max_created_s"),
        )

    async def run(self) -> ValtReport:
        try:
            return await self.scaffold.run(self._walk)  # type: ignore[return-value]
        finally:
            self.report.logins = self.client.session.logins
            self.report.reauths = self.client.metrics.reauths

    async def _walk(self) -> None:
        self.now = self.options.now_ms if self.options.now_ms is not None else now_ms()
        self.report.now_ms = self.now
        self.state = ValtState.from_dict(self.scaffold.load_state())
        listing = self.state.listing
        if listing is None or (self.options.full_refresh and listing["mode"] != "sweep"):
            await self.begin_listing(self.now)
        else:
            self.report.sweep_reason = "resumed" if listing["mode"] == "sweep" else None
        assert self.state.listing is not None
        self.report.sweep_reason = self.report.sweep_reason or self.state.listing["reason"]
        self.listing_batch = store.ListingBatch(sweep=self.state.listing["mode"] == "sweep")
        await self.list_recordings()
        await self.checkpoint_listing(complete=True)
        await self.check_details(self.now)
        self.raise_if_failed()


__all__ = [
    "SyncOptions",
    "ValtDetailsError",
    "ValtListingError",
    "ValtReport",
    "ValtState",
    "ValtSync",
]
