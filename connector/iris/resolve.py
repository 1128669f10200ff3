"""The Watch walk: Uplynk assets -> IRIS ids and recommendation snapshots.

For each Uplynk asset with an ``external_id`` (IRIS's platform_id) that the policy selects
(new and changed ones every run, the rest on a rolling budget, :mod:`connector.iris.policy`),
one Watch (``recs_only=true``, set by the auth flow) gives:

* the asset's iris_id, from the echo (the first item of ``next``); none when IRIS answers
  ``default_recs: true`` (it does not know the platform_id);
* a snapshot of its recommendations: every item after the echo, ranked from 1, all with the
  Watch's answer time as ``fetched_at`` (= the resolution's ``watched_at``).

A Watch whose answer is unusable (its shape, an echo without an iris_id) is a reject of
``iris_resolutions`` and the asset keeps its last resolution; a Watch that fails after the
core's retries is a failure of that asset, named when the run ends; the others go on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from connector.http import HttpError, ResponseParseError
from connector.iris import store
from connector.iris.auth import IrisAuthError
from connector.iris.client import IrisApiError, WatchResult
from connector.iris.concurrent import bounded_map
from connector.iris.normalize import (
    RECOMMENDATIONS_STREAM,
    RESOLUTIONS_STREAM,
    item_ids,
    recommendation_rows,
)
from connector.iris.policy import plan
from connector.timeutil import now_ms

if TYPE_CHECKING:
    from connector.iris.sync import IrisSync

log = logging.getLogger(__name__)


class Resolution:
    """The Watch half of :class:`~connector.iris.sync.IrisSync`."""

    async def resolve(self: IrisSync) -> None:
        opts, report = self.options, self.report
        rows = self.warehouse.query(store.sql("resolution_candidates"))
        seeds = {asset_id: (ext, lastmod) for asset_id, ext, lastmod, _, _ in rows}
        chosen = plan(
            ((r[0], r[3], r[4]) for r in rows),
            now_ms(),
            opts.watch_policy,
            everything=opts.full_refresh,
        )
        report.seeds_candidates = len(rows)
        report.seeds_selected = dict(chosen.counts)
        log.info(
            "iris watch: %d of %d Uplynk assets with an external_id (%s)",
            len(chosen),
            len(rows),
            ", ".join(f"{k} {v}" for k, v in chosen.counts.items()),
        )
        if not rows:
            log.warning("iris watch: no Uplynk asset with an external_id: sync uplynk first")

        async def watch(asset_id: str) -> WatchResult:
            return await self.client.watch(seeds[asset_id][0], opts.recommendations)

        async for asset_id, outcome in bounded_map(
            watch, chosen.ids, opts.concurrency, fatal=(IrisAuthError,)
        ):
            platform_id, lastmod = seeds[asset_id]
            if isinstance(outcome, WatchResult):
                self._add_resolution(asset_id, lastmod, outcome, now_ms())
            elif isinstance(outcome, IrisApiError | ResponseParseError):
                payload = {"asset_id": asset_id, "platform_id": platform_id}
                self.batch.reject(RESOLUTIONS_STREAM, asset_id, f"watch: {outcome}", payload)
            elif isinstance(outcome, HttpError):
                self.failed("watch", platform_id, outcome)
            else:
                raise outcome
            await self.maybe_checkpoint()
        await self.checkpoint(wait=True)

    def _add_resolution(
        self: IrisSync, asset_id: str, lastmod: int | None, result: WatchResult, at_ms: int
    ) -> None:
        seed = result.platform_id
        iris_id = echoed = None
        if result.echo is not None:
            try:
                iris_id, echoed = item_ids(result.echo)
            except ValueError as exc:
                payload = {"asset_id": asset_id, "platform_id": seed, "echo": result.echo}
                self.batch.reject(RESOLUTIONS_STREAM, asset_id, f"watch echo: {exc}", payload)
                return
        recs, rejects = recommendation_rows(
            seed, result.recommendations, result.default_recs, at_ms
        )
        self.batch.add(RECOMMENDATIONS_STREAM, recs)
        self.batch.add_rejects(RECOMMENDATIONS_STREAM, rejects)
        row = (
            asset_id,
            seed,
            iris_id,
            echoed,
            result.default_recs,
            len(result.recommendations),
            lastmod,
            at_ms,
        )
        self.batch.add(RESOLUTIONS_STREAM, [row])
        if iris_id is not None:
            self.queue_new_iris_id(iris_id, echoed)
        report = self.report
        report.watched += 1
        report.resolved += iris_id is not None
        report.default_recs += result.default_recs
        report.recommendations += len(recs)


__all__ = ["Resolution"]
