"""Expired IRIS source URLs refreshed under the vendor's rules, remembered in a ledger.

The rules (vendor-docs/iris-source-url-refresh.txt), kept across runs by
``raw.iris_source_url_refreshes``:

* never a refresh for an IRIS_ID whose source_url is ``NOT_AVAILABLE`` (ledger outcome
  ``not_available``, written by the data API walk without a request);
* an IRIS_ID whose refresh came back with a URL that is itself expired is never requested
  again (``gave_up``);
* a refresh answered with a failure (400, 404, 500, 503: ``error``) is not retried in this
  run: the id is still expired on the next run, which asks again. Refresh requests are sent
  once (the client never retries them);
* a refresh whose answer was lost (a transport failure after sending, an unreadable body)
  may have been answered with an expired URL: it is ``gave_up``, never asked again.

Crash safety: each refresh is first recorded in ``meta.iris_refresh_pending`` (committed),
then sent; its outcome is committed with the deletion of its row. A pending row found when a
run starts belongs to a run that died between sending and recording: its answer may have
been an expired URL, so it becomes a ``gave_up`` row (:meth:`Refreshes.settle_pending`)
rather than risk a second request. ``refresh_concurrency`` refreshes are in flight at once;
the intents of those waiting to go out are committed together (:class:`IntentLog`), so a
slot that frees up is filled after one commit, not after the whole group's answers.
Refreshes run beside the data API reads: an expired URL is refreshed as soon as its read
finds it (:meth:`Refreshes.queue_refresh`), not after the last read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from connector.http import ClientError, HttpError
from connector.iris import store
from connector.iris.auth import IrisAuthError
from connector.iris.concurrent import bounded_map
from connector.iris.normalize import (
    ASSETS_STREAM,
    NOT_AVAILABLE,
    REFRESHES_STREAM,
    AssetFields,
    refresh_row,
)
from connector.media.checks import CHECKS_STREAM
from connector.media.urls import url_expiry_ms
from connector.timeutil import now_ms

if TYPE_CHECKING:
    from connector.iris.sync import IrisSync

log = logging.getLogger(__name__)
LOST_ANSWER = "sent, but its answer was lost (IRIS may have answered an expired URL): "
LOST = (
    "the refresh was sent by run {run} which died before recording the answer; IRIS may have "
    "answered with an expired URL, so it is not asked again"
)


class Refreshes:
    """The refresh half of :class:`~connector.iris.sync.IrisSync`."""

    async def settle_pending(self: IrisSync) -> None:
        """Turn the intents a dead run left behind into ``gave_up`` ledger rows."""
        pending = self.warehouse.query(store.sql("pending_refreshes"))
        if not pending:
            return
        log.warning("iris: %d refresh(es) sent by a dead run had no answer recorded", len(pending))
        for iris_id, requested_ms, run in pending:
            row = refresh_row(
                iris_id,
                requested_ms,
                "gave_up",
                requested=True,
                run_id=self.report.run_id,
                detail=LOST.format(run=run),
            )
            self.batch.add(REFRESHES_STREAM, [row])
            self.batch.settled.append(iris_id)
            self.count_outcome(row)
        self.report.pending_settled = len(pending)
        await self.checkpoint(wait=True)

    async def refresh_beside(self: IrisSync, reads: Awaitable[None]) -> None:
        """Run ``reads`` with the refreshes of the expired URLs they find beside them.

        When the reads fail, the refreshes already sent finish and are recorded (a pending
        intent would turn into a ``gave_up`` row next run) and those not yet sent are
        dropped, counted deferred (the next run finds those URLs expired again)."""
        queue = self.expired
        refreshing = asyncio.ensure_future(self.refresh_expired(queue))
        try:
            await reads
        except Exception:
            while not queue.empty():
                if queue.get_nowait() is not None:
                    self.report.refresh_deferred += 1
            queue.put_nowait(None)
            await asyncio.gather(refreshing, return_exceptions=True)
            raise
        except BaseException:  # cancelled: what was sent is settled by the next run
            refreshing.cancel()
            await asyncio.gather(refreshing, return_exceptions=True)
            raise
        queue.put_nowait(None)
        await refreshing

    def queue_refresh(self: IrisSync, fields: AssetFields) -> None:
        """An expired, refreshable URL: to the refreshes (the first ``max_refreshes`` of a
        run; the others are counted deferred and wait for the next run)."""
        if self.refreshes_queued < self.options.max_refreshes:
            self.refreshes_queued += 1
            self.expired.put_nowait(fields)
        else:
            self.report.refresh_deferred += 1

    async def refresh_expired(
        self: IrisSync, todo: Iterable[AssetFields] | asyncio.Queue[AssetFields | None]
    ) -> None:
        """Send a refresh for each expired, refreshable URL in ``todo`` (a queue the reads
        fill while this runs, ended by None)."""
        opts = self.options
        run_id = self.report.run_id

        async def commit(ids: list[str], at_ms: int) -> None:
            await self.scaffold.checkpoints.submit(
                lambda tx: store.add_pending(tx, ids, at_ms, run_id),
                wait=True,
                note=f"{len(ids)} refresh intent(s)",
            )

        intents = IntentLog(commit)
        refused: BaseException | None = None
        try:
            async for _, outcome in bounded_map(
                lambda fields: self._send_refresh(fields, intents),
                todo,
                opts.refresh_concurrency,
                fatal=(IrisAuthError,),  # bad credentials: a 401 is never processed by IRIS
            ):
                if isinstance(outcome, BaseException):
                    refused = refused or outcome
                await self.maybe_checkpoint()
        finally:
            await self.checkpoint(wait=True)
        if refused is not None:
            raise refused

    async def _send_refresh(self: IrisSync, fields: AssetFields, intents: IntentLog) -> None:
        """Record the intent (committed), send the refresh, then count it as settled: its
        outcome rows and the deletion of its intent go into the same checkpoint."""
        sent_ms = await intents.record(fields.iris_id)
        try:
            await self._refresh_one(fields, sent_ms)
        except IrisAuthError:
            self.batch.settled.append(fields.iris_id)  # refused unprocessed: nothing to fear
            self.report.refreshes_sent += 1
            raise
        self.batch.settled.append(fields.iris_id)
        self.report.refreshes_sent += 1

    async def _refresh_one(self: IrisSync, fields: AssetFields, sent_ms: int) -> None:
        """Send one refresh and record its outcome (rows added to the batch)."""
        iris_id = fields.iris_id
        try:
            answer = await self.client.refresh_source_url(iris_id)
        except ClientError as exc:  # answered 404 or another status IRIS did not document
            self._ledger(iris_id, sent_ms, "error", exc.status, exc.message)
            return
        except HttpError as exc:  # sent, but the answer was lost or unreadable
            self._ledger(iris_id, sent_ms, "gave_up", exc.status, LOST_ANSWER + exc.message)
            return
        url = answer.source_url
        if url is None:
            errors = f"{answer.status}: " + "; ".join(answer.errors)
            self._ledger(iris_id, sent_ms, "error", answer.status, errors)
            return
        if url == NOT_AVAILABLE:
            self._ledger(iris_id, sent_ms, "not_available", 200, "the refresh said NOT_AVAILABLE")
            return
        result = await self.prober.probe(url)
        self.report.probes += 1
        asset, check = self.probed_rows(fields, url, result, now_ms())
        self.batch.add(ASSETS_STREAM, [asset])
        self.batch.add(CHECKS_STREAM, [check])
        self.count_state(asset, previous="expired")
        if result.status == "expired":
            outcome, detail = (
                "gave_up",
                "the new URL was already expired: IRIS cannot regenerate it",
            )
        else:
            outcome, detail = "refreshed", f"new URL probed: {result.reason}"
        self._ledger(iris_id, sent_ms, outcome, 200, detail, url_expiry_ms(url))

    def _ledger(
        self: IrisSync,
        iris_id: str,
        sent_ms: int,
        outcome: str,
        status: int | None,
        detail: str,
        new_url_expires_ms: int | None = None,
    ) -> None:
        row = refresh_row(
            iris_id,
            sent_ms,
            outcome,
            requested=True,
            run_id=self.report.run_id,
            http_status=status,
            detail=detail[:300],
            new_url_expires_ms=new_url_expires_ms,
        )
        self.batch.add(REFRESHES_STREAM, [row])
        self.count_outcome(row)


class IntentLog:
    """Group commit of refresh intents: :meth:`record` returns once the id's pending row is
    committed; ids that ask while a commit is in flight share the next one."""

    def __init__(self, commit: Callable[[list[str], int], Awaitable[None]]) -> None:
        self._commit = commit
        self._waiting: list[tuple[str, asyncio.Future[int]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def record(self, iris_id: str) -> int:
        """Commit ``iris_id``'s intent; returns the time it was recorded as sent (ms)."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((iris_id, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                at_ms = now_ms()
                try:
                    await self._commit([iris_id for iris_id, _ in group], at_ms)
                except BaseException as exc:  # each waiter raises it
                    for _, future in group + self._waiting:
                        if not future.done():
                            future.set_exception(exc)
                    self._waiting = []
                    return
                for _, future in group:
                    if not future.done():
                        future.set_result(at_ms)
        finally:
            self._flushing = None


__all__ = ["IntentLog", "Refreshes"]
