"""Protect job: set ``rule=never`` on the IBM videos that must not be deleted.

Selection (:func:`select_for_protection`, SQL over the warehouse, "now" injectable), among
videos still listed whose stored expiration is not already ``never`` and whose last check
was not a 403/404:

* ``expiring_live_elsewhere``: rule ``at_given_time`` expiring within ``within_days``
  (not yet expired) and live in Uplynk per ``core.ibm_live_elsewhere`` (the same canonical
  asset in ``core.asset_xref`` as a live Uplynk asset: run reconciliation first);
* ``requested``: listed in ``meta.ibm_protect_requests``;
* ``both``.

Dry run (the default) makes no API call and changes no raw table: every selected video
gets an audit row with ``result = 'would_set'``. A real run re-reads each video's
expiration (GET), skips one that is already ``never`` (``already_never``), else PUTs
``rule=never`` (``set``); a 403/404 is recorded as that result. The outcome is written to
``raw.ibm_expirations`` and ``raw.ibm_expiration_history`` (source ``protect``), and every
action to ``meta.ibm_protect_actions``. Idempotent: after a real run the selection is empty,
so a re-run does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from connector.ibm import store
from connector.ibm.client import Expiration, IbmClient
from connector.ibm.normalize import expiration_row
from connector.kit import SyncReport
from connector.records import rows_to_table
from connector.timeutil import TIMESTAMP, now_ms, utc_from_ms
from connector.warehouse import RunRecord, Warehouse

log = logging.getLogger(__name__)

ACTIONS_TABLE = "meta.ibm_protect_actions"
RUNS_STREAM = "ibm_protect"  # its runs in meta.runs
DAY_MS = 86_400_000


ACTION_SCHEMA = pa.schema(
    [
        ("action_id", pa.string()),
        ("run_id", pa.string()),
        ("video_id", pa.string()),
        ("rule_before", pa.string()),
        ("expires_at_before", TIMESTAMP),
        ("rule_after", pa.string()),
        ("reason", pa.string()),
        ("dry_run", pa.bool_()),
        ("result", pa.string()),
        ("acted_at", TIMESTAMP),
    ]
)


@dataclass
class ProtectOptions:
    within_days: float = 7.0
    dry_run: bool = True
    now_ms: int | None = None  # injectable "now"; default: the clock
    concurrency: int = 8


@dataclass
class Candidate:
    video_id: str
    rule: str | None
    expires_at_ms: int | None
    reason: str


@dataclass
class ProtectReport:
    run_id: str
    dry_run: bool
    selected: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)
    video_ids: list[str] = field(default_factory=list)
    requests: int = 0
    responses_429: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_for_protection(
    warehouse: Warehouse, now_ms_: int, within_days: float
) -> list[Candidate]:
    rows = warehouse.query(
        store.sql("select_for_protection"),
        {"now_ms": int(now_ms_), "within_ms": int(within_days * DAY_MS)},
    )
    return [Candidate(r[0], r[1], r[2], r[3]) for r in rows]


async def protect_videos(
    client: IbmClient | None,
    warehouse: Warehouse,
    options: ProtectOptions | None = None,
    *,
    run_id: str | None = None,
) -> ProtectReport:
    """Run the protect job once (``client`` may be None for a dry run); the run is recorded
    in meta.runs (stream ``ibm_protect``: rows_inserted = audit rows, rows_updated = videos
    set to never), failed or not."""
    opts = options or ProtectOptions()
    report = ProtectReport(
        run_id=run_id or f"ibm-protect-{uuid.uuid4().hex[:12]}", dry_run=opts.dry_run
    )
    started, error = now_ms(), None
    try:
        return await _protect(client, warehouse, opts, report)
    except BaseException as exc:
        error = redact_text(client, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        warehouse.log_run(
            RunRecord(
                run_id=report.run_id,
                stream=RUNS_STREAM,
                started_at=utc_from_ms(started),
                finished_at=utc_from_ms(now_ms()),
                status="failed" if error else "ok",
                rows_inserted=sum(report.results.values()),
                rows_updated=report.results.get("set", 0),
                requests=report.requests,
                error=error,
            )
        )


def redact_text(client: IbmClient | None, text: str) -> str:
    return client.redactor.redact(text) if client is not None else text


async def _protect(
    client: IbmClient | None, warehouse: Warehouse, opts: ProtectOptions, report: ProtectReport
) -> ProtectReport:
    now = opts.now_ms if opts.now_ms is not None else now_ms()
    candidates = select_for_protection(warehouse, now, opts.within_days)
    report.selected = len(candidates)
    report.by_reason = dict(Counter(c.reason for c in candidates))
    report.video_ids = [c.video_id for c in candidates]
    actions: list[dict[str, Any]] = []
    observed: list[tuple] = []

    def action(c: Candidate, result: str, rule_after: str | None) -> None:
        actions.append(
            {
                "action_id": f"{report.run_id}:{c.video_id}",
                "run_id": report.run_id,
                "video_id": c.video_id,
                "rule_before": c.rule,
                "expires_at_before": c.expires_at_ms,
                "rule_after": rule_after,
                "reason": c.reason,
                "dry_run": opts.dry_run,
                "result": result,
                "acted_at": now,
            }
        )

    if opts.dry_run:
        for c in candidates:
            log.info("ibm protect (dry run): would set rule=never on %s (%s)", c.video_id, c.reason)
            action(c, "would_set", "never")
    elif candidates:
        if client is None:
            raise ValueError("a real protect run needs an IbmClient")
        gate = asyncio.Semaphore(max(1, opts.concurrency))

        async def one(c: Candidate) -> None:
            async with gate:
                try:
                    current = await client.get_expiration(c.video_id)
                except ValueError as exc:
                    log.warning("ibm protect: %s has an unusable expiration: %s", c.video_id, exc)
                    action(c, "error", c.rule)
                    return
                if current.status != "ok":
                    observed.append(expiration_row(current, now))
                    action(c, current.status, c.rule)
                    return
                if current.rule == "never":
                    observed.append(expiration_row(current, now))
                    action(c, "already_never", "never")
                    return
                status = await client.set_never(c.video_id)
                if status == "ok":
                    observed.append(expiration_row(Expiration(c.video_id, "ok", "never"), now))
                    action(c, "set", "never")
                    log.info("ibm protect: set rule=never on %s (%s)", c.video_id, c.reason)
                else:
                    observed.append(expiration_row(Expiration(c.video_id, status), now))
                    action(c, status, c.rule)

        await asyncio.gather(*(one(c) for c in candidates))
        report.requests = client.expiration_metrics.requests
        report.responses_429 = client.expiration_metrics.responses_429
    report.results = dict(Counter(a["result"] for a in actions))
    if actions or observed:
        with warehouse.write() as tx:
            if observed:
                batch = store.expirations_batch(observed)
                store.write_expirations(tx, batch, SyncReport(report.run_id), "protect")
            table = rows_to_table(
                [tuple(a[f.name] for f in ACTION_SCHEMA) for a in actions], ACTION_SCHEMA
            )
            tx.insert_new(ACTIONS_TABLE, table, ["action_id"])
    log.info(
        "ibm protect %s: %s",
        "dry run" if opts.dry_run else "run",
        report.results or "nothing to do",
    )
    return report
