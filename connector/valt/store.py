"""VALT's warehouse writes: what one listing checkpoint and one details checkpoint commit.

Row tables go through the kit (:class:`~connector.kit.TableSpec`, :func:`write_batch`); the
statements over VALT's tables live in ``sql/*.sql`` beside this module, each run with
``tx.run`` and the Arrow inputs it names.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from connector.kit import Batch, SyncReport, TableSpec, write_batch
from connector.valt.normalize import (
    RECORDING_SCHEMA,
    RECORDINGS_STREAM,
    VIDEO_SCHEMA,
    VIDEOS_STREAM,
)
from connector.warehouse import WriteTx, sql_file

RECORDING_CONTENT = tuple(f.name for f in RECORDING_SCHEMA if f.name != "record_id")
RECORDINGS = TableSpec(
    RECORDINGS_STREAM,
    "raw.valt_recordings",
    ("record_id",),
    RECORDING_SCHEMA,
    compare=RECORDING_CONTENT,
)
VIDEOS = TableSpec(
    VIDEOS_STREAM, "raw.valt_videos", ("record_id", "video_id"), VIDEO_SCHEMA, counted=False
)
SEEN_TABLE = "meta.valt_listing_seen"


def sql(name: str) -> str:
    return sql_file(__file__, name)


def _ids(ids: list[str]) -> pa.Table:
    return pa.table({"record_id": pa.array(ids, pa.string())})


class ListingBatch(Batch):
    """One listing checkpoint: the ids and listed digests seen (a dict: pages overlap, an
    id counts once), and the list entries rejected for having no usable id."""

    def __init__(self, sweep: bool) -> None:
        super().__init__([])
        self.sweep = sweep
        self.listed: dict[str, str] = {}

    @property
    def size(self) -> int:
        return super().size + len(self.listed)


def write_listing(tx: WriteTx, batch: ListingBatch, report: SyncReport, ts: Any) -> int:
    """Mark new and changed recordings due, stamp the stored ones seen, remember a
    sweep's ids; returns how many became due."""
    write_batch(tx, batch, report)  # the rejects
    if not batch.listed:
        return 0
    listed = pa.table(
        {
            "record_id": pa.array(list(batch.listed), pa.string()),
            "listed_hash": pa.array(list(batch.listed.values()), pa.string()),
        }
    )
    due = tx.run(sql("mark_listed_due"), {"ts": ts}, inputs={"listed": listed})
    tx.run(sql("stamp_listed"), {"ts": ts}, inputs={"listed": listed})
    if batch.sweep:
        tx.insert_new(SEEN_TABLE, listed.select(["record_id"]), ["record_id"])
    return due


def finish_sweep(tx: WriteTx, ts: Any) -> int:
    """After a COMPLETE sweep: stored recordings it lacked become due (unlisted); the seen
    set is emptied. Returns how many became due."""
    unlisted = tx.run(sql("due_unlisted"), {"ts": ts})
    tx.run(sql("clear_listing_seen"))
    return unlisted


def clear_seen(tx: WriteTx) -> None:
    tx.run(sql("clear_listing_seen"))


class DetailsBatch(Batch):
    """One details checkpoint: recording and video rows, rejects, and which recordings
    answered 200 (``checked``), 404 (``gone``) or were rejected (all of them ``done``)."""

    def __init__(self) -> None:
        super().__init__([RECORDINGS, VIDEOS])
        self.checked: list[str] = []
        self.gone: list[str] = []
        self.done: list[str] = []


def write_details(tx: WriteTx, batch: DetailsBatch, report: SyncReport, ts: Any) -> int:
    """Upsert the rows, drop videos the details no longer list, stamp the recordings read,
    mark the 404s removed and clear them all from the due table; returns how many
    recordings were newly marked removed."""
    videos = batch.rows[VIDEOS_STREAM].table()
    counts = write_batch(tx, batch, report)
    if VIDEOS_STREAM in counts:
        report.videos_written += counts[VIDEOS_STREAM].written  # type: ignore[attr-defined]
    if batch.checked:
        checked = _ids(batch.checked)
        if videos is None:
            videos = pa.table(
                {"record_id": pa.array([], pa.string()), "video_id": pa.array([], pa.string())}
            )
        tx.run(
            sql("remove_vanished_videos"),
            inputs={"checked": checked, "videos": videos.select(["record_id", "video_id"])},
        )
        tx.run(sql("stamp_checked"), {"ts": ts}, inputs={"checked": checked})
    removed = 0
    if batch.gone:
        removed = tx.run(sql("mark_removed"), {"ts": ts}, inputs={"gone": _ids(batch.gone)})
    if batch.done:
        tx.run(sql("clear_due"), inputs={"done": _ids(batch.done)})
    return removed
