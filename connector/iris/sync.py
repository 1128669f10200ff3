"""One IRIS sync: refresh intents a dead run left are settled, then the Watch walk
(:mod:`.resolve`) with the iris_ids it reveals for the first time read beside it, then the
rest of the data API walk with its probes (:mod:`.sources`) and the refreshes of expired
URLs (:mod:`.refresh`). State and invariants: :mod:`.state`.

Rows of every table are committed together by the kit's checkpointer every
``checkpoint_rows`` rows; a failing call (one asset, one iris_id) does not stop the others,
and the run fails at the end naming them (:class:`IrisSyncError`).
"""

from __future__ import annotations

import asyncio
import uuid

from connector.http import HttpError, RetryExhaustedError
from connector.iris import store
from connector.iris.client import IrisClient
from connector.iris.normalize import ASSET_SCHEMA, AssetFields
from connector.iris.refresh import Refreshes
from connector.iris.resolve import Resolution
from connector.iris.sources import SourceUrls
from connector.iris.state import IrisReport, IrisState, SyncOptions
from connector.kit import SyncRun
from connector.media.probe import MediaProber
from connector.timeutil import now_ms
from connector.warehouse import Warehouse

STREAM = "iris"
_STATE_AT = ASSET_SCHEMA.get_field_index("source_url_state")
MAX_NAMED_FAILURES = 5


def failure_summary(report: IrisReport) -> str:
    """One line per kind of call that failed: how many, which ids, the last error."""
    parts = []
    for call, entry in report.failures.items():
        more = ", ..." if entry["count"] > len(entry["ids"]) else ""
        ids = ", ".join(entry["ids"]) + more
        parts.append(f"{call} x{entry['count']} ({ids}): {entry['error']}")
    return (
        f"{report.failed_calls} IRIS call(s) failed after retries; "
        + "; ".join(parts)
        + ". Every other result was committed; the failed ones are asked again next run"
    )


class IrisSyncError(RuntimeError):
    """Some IRIS calls failed after the core's retries; everything else was committed."""


class IrisSync(Resolution, SourceUrls, Refreshes):
    """One run of the IRIS stream into a warehouse.

    >>> report = run_sync(IrisSync(client, warehouse).run())  # doctest: +SKIP
    """

    def __init__(
        self,
        client: IrisClient,
        warehouse: Warehouse,
        options: SyncOptions | None = None,
        *,
        run_id: str | None = None,
        prober: MediaProber | None = None,
    ) -> None:
        self.client = client
        self.warehouse = warehouse
        self.options = options or SyncOptions()
        self.report = IrisReport(run_id=run_id or f"iris-{uuid.uuid4().hex[:12]}")
        self.batch = store.IrisBatch()
        self._prober = prober
        self.prober: MediaProber = prober  # type: ignore[assignment]  # set in run()
        self.platform_ids: dict[str, str | None] = {}
        self.barred: set[str] = set()
        self.looked_before: set[str] = set()
        self.looked_early: set[str] = set()  # read during the Watch walk (new iris_ids)
        self.new_iris_ids: asyncio.Queue[str | None] | None = None  # while the walk runs
        # expired URLs a refresh may renew, refreshed while the reads go on (None ends it)
        self.expired: asyncio.Queue[AssetFields | None] = asyncio.Queue()
        self.refreshes_queued = 0
        self.scaffold = SyncRun(
            STREAM,
            warehouse,
            self.report,
            lake_streams=store.LAKE_STREAMS,
            metrics=lambda: client.metrics,
            redact=client.redactor.redact,
        )

    async def run(self) -> IrisReport:
        opts = self.options
        own = self._prober is None
        if own:
            self.prober = MediaProber(
                timeout_s=opts.probe_timeout_s,
                concurrency=opts.probe_concurrency,
                per_host=opts.probe_per_host,
            )
        try:
            return await self.scaffold.run(self._walk)  # type: ignore[return-value]
        finally:
            self.report.tokens_fetched = self.client.session.fetched
            self.report.token_renewals = self.client.session.renewals
            self.report.personalization_calls = self.client.session.personalization_calls
            self.report.recs_only_not_true = self.client.session.recs_only_not_true
            self.report.probe_requests = self.prober.requests
            if own:
                await self.prober.aclose()

    async def _walk(self) -> None:
        self.scaffold.load_state()
        await self.settle_pending()
        if self.options.check_assets:
            await self.refresh_beside(self.read_sources())
        elif self.options.resolve:
            await self.resolve()
        state = IrisState(self.report.run_id, now_ms()).to_dict()
        await self.scaffold.checkpoints.submit(None, state, wait=True, note="run finished")
        if self.report.failed_calls:
            raise IrisSyncError(failure_summary(self.report))

    # -- shared by the walks ---------------------------------------------------------
    async def maybe_checkpoint(self) -> None:
        if self.batch.size >= self.options.checkpoint_rows:
            await self.checkpoint()

    async def checkpoint(self, *, wait: bool = False) -> None:
        """Hand the buffered rows to the kit's checkpointer (one transaction)."""
        if self.batch.size:
            batch, self.batch = self.batch, store.IrisBatch()
            note = ", ".join(f"{s} {b.count}" for s, b in batch.rows.items() if b.count)
            await self.scaffold.checkpoints.submit(
                lambda tx: store.write(tx, batch, self.report), note=note or "settled intents"
            )
        if wait:
            await self.scaffold.checkpoints.drain()

    def failed(self, call: str, item_id: str, error: HttpError) -> None:
        """Count a call that failed after the core's retries (its item keeps its last
        stored state); the run fails at its end naming them."""
        self.report.failed_calls += 1
        entry = self.report.failures.setdefault(call, {"count": 0, "ids": [], "error": ""})
        entry["count"] += 1
        if len(entry["ids"]) < MAX_NAMED_FAILURES:
            entry["ids"].append(item_id)
        last = error.last_error if isinstance(error, RetryExhaustedError) else None
        entry["error"] = (last or error).message[:300]

    def count_state(self, row: tuple, previous: str | None = None) -> None:
        states = self.report.source_url_states
        if previous is not None:
            states[previous] -= 1
        state = row[_STATE_AT]
        states[state] = states.get(state, 0) + 1

    def count_outcome(self, ledger_row: tuple) -> None:
        outcomes = self.report.refresh_outcomes
        outcomes[ledger_row[2]] = outcomes.get(ledger_row[2], 0) + 1


__all__ = ["STREAM", "IrisSync", "IrisSyncError"]
