"""``probe_media``: the dead-URL prober over the media URLs stored in the warehouse.

* Uplynk ``mp4_url`` of live assets (``raw.uplynk_assets``): probed
  (:class:`~connector.media.probe.MediaProber`: HEAD, a one-byte Range GET when HEAD is
  refused, redirects followed, bounded concurrency and a per-host limit, a timeout is a
  state). Not every URL every run (:func:`probe_due`): new ones, changed ones and those
  not found live last time are, a live one again after ``recheck_live_hours`` (spread
  between half of it and all of it), so an hourly run probes ~1/18 of a quiet catalog;
* IRIS source URLs (``raw.iris_assets``): stored without their token, so they cannot be
  requested from here; their expiry is read from the stored URL, and one that has expired
  since the IRIS sync probed it is recorded ``expired`` (no request). The others keep the
  check the IRIS sync made with the token in hand (``sync_iris`` probes every source URL it
  reads).

Results are upserted into ``raw.media_url_checks`` (one row per system and asset) every
``checkpoint_rows`` checks; the stream ``media`` keeps no cursor.
"""

from __future__ import annotations

import logging
import time
import uuid
import zlib
from dataclasses import dataclass, field

from connector.http import RequestMetrics
from connector.kit import Batch, SyncReport, SyncRun, write_batch
from connector.media.checks import CHECKS_STREAM, MEDIA_CHECKS, check_row
from connector.media.probe import MediaProber, ProbeResult
from connector.media.urls import strip_token, url_expiry_ms
from connector.timeutil import now_ms
from connector.warehouse import Warehouse, sql_file

log = logging.getLogger(__name__)
STREAM = "media"


@dataclass
class ProbeOptions:
    """Knobs of one media probe run."""

    timeout_s: float = 5.0  # a URL silent this long (all redirects together) is `timeout`
    concurrency: int = 256  # probes in flight
    per_host: int = 64  # requests in flight to one host
    max_redirects: int = 5
    checkpoint_rows: int = 5000
    page_rows: int = 10_000  # URLs read from the warehouse at a time
    systems: tuple[str, ...] = ("uplynk", "iris")
    fast_transport: bool = True  # httpx over aiohttp
    # a URL found live is probed again after 12-24 h (spread by asset id: probe_due); new,
    # changed and not-live ones every run. 0: every URL every run
    recheck_live_hours: float = 24.0


@dataclass
class ProbeReport(SyncReport):
    """What one probe run did: checks by system and status."""

    checked: dict[str, dict[str, int]] = field(default_factory=dict)
    iris_left_to_sync: int = 0  # stored IRIS URLs not expired: the IRIS sync probes them
    not_due: int = 0  # live Uplynk URLs checked recently enough: not probed this run
    probe_requests: int = 0
    probes_per_s: float = 0.0


def probe_due(
    asset_id: str,
    url: str,
    checked_url: str | None,
    status: str | None,
    checked_ms: int | None,
    *,
    now_ms: int,
    recheck_ms: int,
) -> bool:
    """Is this Uplynk URL probed in this run? Yes when never checked, not found live last
    time (a dead URL's streak and a recovery are seen at once), or its URL changed since;
    a live one again once its check is older than its interval: between half of
    ``recheck_ms`` and all of it, spread by the asset id so that a catalog checked in one
    run does not come due in one run. ``recheck_ms <= 0``: always."""
    if recheck_ms <= 0 or checked_ms is None or status != "live":
        return True
    if strip_token(url) != checked_url:
        return True
    spread = 0.5 + (zlib.crc32(asset_id.encode()) % 1000) / 2000
    return checked_ms + recheck_ms * spread <= now_ms


class MediaProbeRun:
    """One run of the ``media`` stream."""

    def __init__(
        self, warehouse: Warehouse, options: ProbeOptions, prober: MediaProber, run_id: str
    ) -> None:
        self.warehouse = warehouse
        self.options = options
        self.prober = prober
        self.report = ProbeReport(run_id=run_id)
        self.metrics = RequestMetrics()
        self.batch = Batch([MEDIA_CHECKS])
        self.scaffold = SyncRun(
            STREAM,
            warehouse,
            self.report,
            lake_streams=(CHECKS_STREAM,),
            metrics=lambda: self.metrics,
            redact=lambda text: text,
        )

    async def run(self) -> ProbeReport:
        return await self.scaffold.run(self._walk)  # type: ignore[return-value]

    async def _walk(self) -> None:
        started = time.monotonic()
        if "uplynk" in self.options.systems:
            await self._probe_uplynk()
        if "iris" in self.options.systems:
            await self._read_iris_expiry()
        await self._commit(wait=True)
        self.metrics.requests = self.report.probe_requests = self.prober.requests
        elapsed = time.monotonic() - started
        probes = sum(self.report.checked.get("uplynk", {}).values())
        self.report.probes_per_s = round(probes / elapsed, 1) if elapsed > 0 else 0.0

    def _pages(self, sql_name: str):
        after, limit = "", self.options.page_rows
        while True:
            rows = self.warehouse.query(
                sql_file(__file__, sql_name), {"after": after, "limit": limit}
            )
            if not rows:
                return
            yield rows
            after = rows[-1][0]

    async def _probe_uplynk(self) -> None:
        recheck_ms = int(self.options.recheck_live_hours * 3_600_000)
        for page in self._pages("uplynk_targets"):
            now = now_ms()
            urls = {r[0]: r[1] for r in page if probe_due(*r, now_ms=now, recheck_ms=recheck_ms)}
            self.report.not_due += len(page) - len(urls)
            async for asset_id, result in self.prober.probe_many(list(urls.items())):
                self._add("uplynk", asset_id, urls[asset_id], result)
                if self.batch.size >= self.options.checkpoint_rows:
                    await self._commit()

    async def _read_iris_expiry(self) -> None:
        for page in self._pages("iris_targets"):
            now = now_ms()
            for iris_id, url in page:
                expiry = url_expiry_ms(url)
                if expiry is None or expiry > now:
                    self.report.iris_left_to_sync += 1
                    continue
                result = await self.prober.probe(url)  # expired: answered without a request
                self._add("iris", iris_id, url, result)
            await self._commit()

    def _add(self, system: str, asset_id: str, url: str, result: ProbeResult) -> None:
        self.batch.add(CHECKS_STREAM, [check_row(system, asset_id, url, result, now_ms())])
        by_status = self.report.checked.setdefault(system, {})
        by_status[result.status] = by_status.get(result.status, 0) + 1

    async def _commit(self, *, wait: bool = False) -> None:
        if self.batch.size:
            batch, self.batch = self.batch, Batch([MEDIA_CHECKS])
            await self.scaffold.checkpoints.submit(
                lambda tx: write_batch(tx, batch, self.report), note=f"{batch.size} checks"
            )
        if wait:
            await self.scaffold.checkpoints.drain()


async def run_probe(
    warehouse: Warehouse, options: ProbeOptions | None = None, *, run_id: str | None = None
) -> ProbeReport:
    """One probe run (async); see :func:`connector.media.probe_media`."""
    options = options or ProbeOptions()
    async with MediaProber(
        timeout_s=options.timeout_s,
        concurrency=options.concurrency,
        per_host=options.per_host,
        max_redirects=options.max_redirects,
        fast_transport=options.fast_transport,
    ) as prober:
        run = MediaProbeRun(warehouse, options, prober, run_id or f"media-{uuid.uuid4().hex[:12]}")
        return await run.run()


__all__ = ["STREAM", "MediaProbeRun", "ProbeOptions", "ProbeReport", "probe_due", "run_probe"]
