"""The data API walk: each selected IRIS_ID's record, and the state of its source URL.

The policy (:mod:`connector.iris.policy`) picks the iris_ids to read: new ones, those whose
stored URL has expired (or expires before the next run) while a refresh may still be
asked, those whose last probe failed, and a rolling share of the rest. For each:

* 204: IRIS does not know the id: state ``unknown``;
* ``source_url: "NOT_AVAILABLE"``: state ``not_available``, and a ``not_available`` ledger
  row the first time (no refresh is ever sent for it);
* a URL past its own ``expires`` (read from the URL, no request): state ``expired``; it
  joins the refresh queue (:mod:`connector.iris.refresh`) unless the ledger bars it;
* any other URL: probed (:class:`~connector.media.MediaProber`); its state is the probe's.

The policy reads every iris_id never read before, so those are read while the Watch walk
still runs (:meth:`SourceUrls.resolve_and_look`, fed by each Watch echo), keeping the media
CDN busy beside IRIS; the plan made after the walk leaves them out.

A record that does not fit is a reject of ``iris_assets`` (the stored row stays); a call
that fails after the core's retries is a failure of that id, named when the run ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connector.http import HttpError, ResponseParseError
from connector.iris import store
from connector.iris.auth import IrisAuthError
from connector.iris.client import IrisApiError
from connector.iris.concurrent import bounded_map
from connector.iris.normalize import (
    ASSETS_STREAM,
    REFRESHES_STREAM,
    AssetFields,
    asset_fields,
    asset_row,
    refresh_row,
    unknown_asset_row,
)
from connector.iris.policy import plan
from connector.kit.beside import walk_beside
from connector.media.checks import CHECKS_STREAM, check_row
from connector.media.probe import ProbeResult
from connector.media.urls import strip_token, url_expiry_ms
from connector.timeutil import now_ms
from connector.warehouse import Reject

if TYPE_CHECKING:
    from connector.iris.sync import IrisSync

log = logging.getLogger(__name__)


@dataclass
class Look:
    """What one data API read found: the asset row (state decided), the probe's check row,
    the ledger row to add, and whether the URL waits for a refresh."""

    row: tuple | None
    check: tuple | None = None
    ledger: list[tuple] = field(default_factory=list)
    expired: AssetFields | None = None
    reject: Reject | None = None


class SourceUrls:
    """The data API half of :class:`~connector.iris.sync.IrisSync`."""

    async def read_sources(self: IrisSync) -> None:
        """The Watch walk (with the new iris_ids read beside it), then the plan's reads;
        expired URLs go to the refreshes running beside both (``IrisSync.expired``)."""
        if self.options.resolve:
            await self.resolve_and_look()
        else:
            await self.look(self.plan_reads())

    async def resolve_and_look(self: IrisSync) -> None:
        """The Watch walk, with the iris_ids it reveals for the first time read beside it;
        the plan's reads join the same readers as soon as the walk ends (the last new ids'
        reads and probes are still going then)."""
        self.looked_before = {r[0] for r in self.warehouse.query(store.sql("looked_ids"))}
        self.barred = {r[0] for r in self.warehouse.query(store.sql("barred_ids"))}
        self.new_iris_ids = queue = asyncio.Queue()

        async def walk_then_plan() -> None:
            await self.resolve()
            for iris_id in self.plan_reads():
                queue.put_nowait(iris_id)

        try:
            await walk_beside(walk_then_plan(), self.look(queue), queue, "iris")
        finally:
            self.new_iris_ids = None

    def queue_new_iris_id(self: IrisSync, iris_id: str, platform_id: str | None) -> None:
        """An iris_id a Watch echoed that was never read: read it now, with the echo's
        platform_id (the spelling the plan would prefer too)."""
        if self.new_iris_ids is None or iris_id in self.looked_before:
            return
        if iris_id not in self.looked_early:
            self.looked_early.add(iris_id)
            self.platform_ids[iris_id] = platform_id
            self.new_iris_ids.put_nowait(iris_id)

    def plan_reads(self: IrisSync) -> list[str]:
        """The iris_ids the policy reads (those read beside the Watch walk left out)."""
        opts, report = self.options, self.report
        now = now_ms()
        horizon = now + opts.assets_policy.interval_ms
        rows = self.warehouse.query(store.sql("asset_candidates"), {"horizon_ms": horizon})
        for iris_id, platform_id, *_ in rows:  # new ones read early keep the echo's
            self.platform_ids.setdefault(iris_id, platform_id)
        self.barred = {r[0] for r in self.warehouse.query(store.sql("barred_ids"))}
        early = self.looked_early
        chosen = plan(
            ((r[0], r[2], r[3]) for r in rows if r[0] not in early),
            now,
            opts.assets_policy,
            everything=opts.full_refresh,
        )
        report.assets_candidates = len(rows)
        report.assets_selected = dict(chosen.counts)
        if early:  # new ones, read beside the Watch walk
            report.assets_selected["new"] = report.assets_selected.get("new", 0) + len(early)
        log.info(
            "iris data API: %d of %d iris_ids (%s; %d new ones read during the Watch walk)",
            len(chosen),
            len(rows),
            ", ".join(f"{k} {v}" for k, v in chosen.counts.items()),
            len(early),
        )
        return list(chosen.ids)

    async def look(self: IrisSync, iris_ids: Iterable[str] | asyncio.Queue[str | None]) -> None:
        """Read each iris_id's record (and probe its URL); expired ones join the refresh
        queue. Each look is a data API call, then a probe of another host: twice as many
        looks as calls allowed keep both in use (the client holds IRIS calls to its limit,
        the prober the CDN hosts to theirs)."""
        async for iris_id, outcome in bounded_map(
            self._look, iris_ids, 2 * self.options.concurrency, fatal=(IrisAuthError,)
        ):
            if isinstance(outcome, Look):
                self._add_look(outcome)
                if outcome.expired is not None:
                    self.queue_refresh(outcome.expired)
            elif isinstance(outcome, IrisApiError | ResponseParseError):
                payload = {"iris_id": iris_id}
                self.batch.reject(ASSETS_STREAM, iris_id, f"video_assets: {outcome}", payload)
            elif isinstance(outcome, HttpError):
                self.failed("video_assets", iris_id, outcome)
            else:
                raise outcome
            await self.maybe_checkpoint()

    def _add_look(self: IrisSync, look: Look) -> None:
        if look.reject is not None:
            self.batch.add_rejects(ASSETS_STREAM, [look.reject])
            return
        assert look.row is not None
        self.batch.add(ASSETS_STREAM, [look.row])
        if look.check is not None:
            self.batch.add(CHECKS_STREAM, [look.check])
        self.batch.add(REFRESHES_STREAM, look.ledger)
        self.count_state(look.row)
        self.report.assets_checked += 1
        for row in look.ledger:
            self.count_outcome(row)

    async def _look(self: IrisSync, iris_id: str) -> Look:
        platform_id = self.platform_ids.get(iris_id)
        record = await self.client.asset(iris_id)
        now = now_ms()
        if record is None:
            return Look(unknown_asset_row(iris_id, platform_id, now))
        try:
            fields = asset_fields(iris_id, record, platform_id)
            if not fields.not_available and fields.url is None:
                raise ValueError("source_url is missing")
        except ValueError as exc:
            return Look(None, reject=Reject(iris_id, f"video_assets: {exc}", record))
        if fields.not_available:
            look = Look(asset_row(fields.row, "not_available", now))
            if iris_id not in self.barred:
                why = "the data API's source_url is NOT_AVAILABLE: never to be refreshed"
                look.ledger.append(
                    refresh_row(
                        iris_id,
                        now,
                        "not_available",
                        requested=False,
                        run_id=self.report.run_id,
                        detail=why,
                    )
                )
            return look
        assert fields.url is not None
        result = await self.prober.probe(fields.url)
        self.report.probes += 1
        look = Look(
            asset_row(fields.row, result.status, now),
            check_row("iris", iris_id, fields.url, result, now),
        )
        if result.status == "expired":
            if iris_id in self.barred:
                self.report.refresh_skipped_barred += 1
            else:
                look.expired = fields
        return look

    def probed_rows(
        self: IrisSync, fields: AssetFields, url: str, result: ProbeResult, at_ms: int
    ) -> tuple[tuple, tuple]:
        """The asset and check rows of ``fields`` after its URL became ``url`` (a refresh)
        and was probed."""
        row = {
            **fields.row,
            "source_url": strip_token(url),
            "source_url_expires_at": url_expiry_ms(url),
        }
        return (
            asset_row(row, result.status, at_ms),
            check_row("iris", fields.iris_id, url, result, at_ms),
        )


__all__ = ["Look", "SourceUrls"]
