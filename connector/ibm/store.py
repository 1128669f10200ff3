"""IBM's warehouse writes, shared by the sync and the protect job.

Row tables go through the kit (:class:`~connector.kit.TableSpec`); the statements over IBM's
raw tables live in ``sql/*.sql`` beside this module.
"""

from __future__ import annotations

import pyarrow as pa

from connector.ibm.normalize import (
    EXPIRATION_SCHEMA,
    EXPIRATIONS_STREAM,
    VIDEO_SCHEMA,
    VIDEOS_STREAM,
)
from connector.kit import Batch, SyncReport, TableSpec, write_batch
from connector.warehouse import WriteTx, sql_file

VIDEO_CONTENT = tuple(f.name for f in VIDEO_SCHEMA if f.name != "video_id")
VIDEOS = TableSpec(
    VIDEOS_STREAM, "raw.ibm_videos", ("video_id",), VIDEO_SCHEMA, compare=VIDEO_CONTENT
)
EXPIRATIONS = TableSpec(EXPIRATIONS_STREAM, "raw.ibm_expirations", ("video_id",), EXPIRATION_SCHEMA)
SEEN_TABLE = "meta.ibm_listing_seen"


def sql(name: str) -> str:
    return sql_file(__file__, name)


def write_expirations(tx: WriteTx, batch: Batch, report: SyncReport, source: str) -> int:
    """Record every changed expiration in the history, then upsert the batch (rows and
    rejects); returns how many history rows were written."""
    table = batch.rows[EXPIRATIONS_STREAM].table()
    changed = 0
    if table is not None:
        changed = tx.run(
            sql("record_expiration_history"),
            {"source": source, "run_id": report.run_id},
            inputs={"checked": table},
        )
    write_batch(tx, batch, report)
    return changed


def expirations_batch(rows: list[tuple]) -> Batch:
    batch = Batch([EXPIRATIONS])
    batch.add(EXPIRATIONS_STREAM, rows)
    return batch


def clear_listing_seen(tx: WriteTx, channel: str) -> None:
    tx.run(sql("clear_listing_seen"), {"channel": channel})


def mark_listed(tx: WriteTx, channel: str, video_ids: list[str], ts: object) -> int:
    """Stamp the videos a listing page showed as present; returns how many came back
    after being marked removed."""
    seen = pa.table(
        {
            "channel_id": pa.array([channel] * len(video_ids), pa.string()),
            "video_id": pa.array(video_ids, pa.string()),
        }
    )
    tx.insert_new(SEEN_TABLE, seen, ["channel_id", "video_id"])
    returned = tx.run(sql("count_returned"), inputs={"seen_batch": seen})
    tx.run(sql("mark_listed"), {"ts": ts}, inputs={"seen_batch": seen})
    return returned


def finish_listing(tx: WriteTx, channel: str, ts: object) -> tuple[int, int]:
    """After a complete listing: (removed, newly missing) per the two-listing rule."""
    removed = tx.run(sql("confirm_removed"), {"channel": channel})
    missing = tx.run(sql("mark_missing"), {"channel": channel, "ts": ts})
    clear_listing_seen(tx, channel)
    return removed, missing
