"""One IBM sync: channel listings (:mod:`.listing`) into ``raw.ibm_videos``, then the
policy-selected expirations (:mod:`.expirations`).

The stream keeps no cursor: the listing is complete every run and the refresh policy reads
what is stored. "now" (``SyncOptions.now_ms``) is injectable: tests run the policy over
simulated days.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from connector.config import concurrency_from_env
from connector.ibm.client import IbmClient
from connector.ibm.expirations import ExpirationChecks
from connector.ibm.listing import ChannelListing, ChannelListingError
from connector.ibm.normalize import EXPIRATIONS_STREAM, VIDEOS_STREAM
from connector.ibm.policy import RefreshPlan, RefreshPolicy
from connector.kit import SyncReport, SyncRun
from connector.timeutil import now_ms

STREAM = "ibm"


@dataclass
class SyncOptions:
    """Knobs of one IBM sync; the Dagster config and the CLI map onto these."""

    policy: RefreshPolicy = field(default_factory=RefreshPolicy)
    now_ms: int | None = None  # "now" for the policy and the *_at columns; default: the clock
    pagesize: int = 50  # asked per listing page (the vendor clamps above 50)
    # expiration requests in flight
    concurrency: int = field(default_factory=lambda: concurrency_from_env("ibm", 64))
    channel_concurrency: int = 4  # channels listed at once (pages of one follow paging.next)
    checkpoint_rows: int = 5000  # commit every N listed videos / checked expirations
    check_expirations: bool = True


@dataclass
class IbmReport(SyncReport):
    """What one IBM run did (the kit's common fields plus listing and policy detail)."""

    channels: int = 0
    channels_failed: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    listing_look_backs: int = 0  # pages read again because a channel shrank mid-listing
    videos_listed: int = 0
    videos_inserted: int = 0
    videos_updated: int = 0
    videos_removed: int = 0  # confirmed by a second complete listing without them
    videos_missing: int = 0  # absent from this complete listing for the first time
    videos_returned: int = 0
    selected: int = 0
    checked_by_reason: dict[str, int] = field(default_factory=dict)
    checked_by_status: dict[str, int] = field(default_factory=dict)
    expirations_checked: int = 0
    expiration_changes: int = 0
    rolling_quota: int = 0
    reauths: int = 0
    tokens_fetched: int = 0
    expiration_requests: int = 0
    expiration_429: int = 0
    expiration_elapsed_s: float = 0.0
    requests_per_s: float = 0.0
    now_ms: int = 0


class IbmSync(ChannelListing, ExpirationChecks):
    """One run of the IBM stream into a warehouse.

    >>> report = run_sync(IbmSync(client, warehouse).run())  # doctest: +SKIP
    """

    def __init__(
        self,
        client: IbmClient,
        warehouse,
        options: SyncOptions | None = None,
        *,
        run_id: str | None = None,
    ):
        self.client = client
        self.warehouse = warehouse
        self.options = options or SyncOptions()
        self.report = IbmReport(run_id=run_id or f"ibm-{uuid.uuid4().hex[:12]}")
        self.plan: RefreshPlan | None = None
        #: new videos are checked while the listing runs (see connector/ibm/expirations.py)
        self.new_videos: asyncio.Queue | None = None
        self.known_expirations: set[str] = set()
        self.checked_early: set[str] = set()
        self.scaffold = SyncRun(
            STREAM,
            warehouse,
            self.report,
            lake_streams=(VIDEOS_STREAM, EXPIRATIONS_STREAM),
            metrics=lambda: client.metrics,
            redact=client.redactor.redact,
        )

    async def run(self) -> IbmReport:
        try:
            return await self.scaffold.run(self._walk)  # type: ignore[return-value]
        finally:
            self.report.reauths = self.client.metrics.reauths
            self.report.listing_look_backs = self.client.listing_look_backs
            self.report.tokens_fetched = self.client.tokens.fetched

    async def _walk(self) -> None:
        now = self.options.now_ms if self.options.now_ms is not None else now_ms()
        self.report.now_ms = now
        if self.options.check_expirations:
            await self.list_and_check(now)
        else:
            await self.list_channels(now)
        failed = self.report.channels_failed
        if failed:
            ok = self.report.channels
            raise ChannelListingError(
                f"{len(failed)} IBM channel(s) could not be listed ("
                + "; ".join(f"{c}: {why}" for c, why in failed.items())
                + f"); the other {ok} channel(s) were listed and committed"
            )


__all__ = ["ChannelListingError", "IbmReport", "IbmSync", "SyncOptions"]
