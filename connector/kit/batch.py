"""Rows and rejects waiting for the next checkpoint, and how they are written.

A source declares where its rows go with :class:`TableSpec` (lake stream, table, key,
schema, insert mode) and fills a :class:`Batch`; :func:`write_batch` lands each table's rows
as an immutable Parquet file, writes them through the warehouse (upsert or insert-if-new)
and records the rejects, all in the caller's transaction, counting into the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from connector.kit.report import SyncReport
from connector.records import rows_to_table
from connector.warehouse import Reject, UpsertCounts, WriteTx


@dataclass(frozen=True)
class TableSpec:
    """Where one kind of row goes.

    ``stream`` names the lake folder and the rejects' stream; ``mode`` is ``upsert``
    (current state by key) or ``insert_new`` (append-only logs keyed by identity);
    ``counted`` says whether its rows count in the report's inserted/updated/unchanged.
    """

    stream: str
    table: str
    key: tuple[str, ...]
    schema: pa.Schema
    mode: Literal["upsert", "insert_new"] = "upsert"
    compare: tuple[str, ...] | None = None
    counted: bool = True


class RowBuffer:
    """Row tuples in schema order, turned into Arrow chunks of ``chunk_rows`` as they come,
    so a large batch never holds millions of Python tuples."""

    def __init__(self, schema: pa.Schema, chunk_rows: int = 10_000) -> None:
        self.schema = schema
        self.chunk_rows = chunk_rows
        self._chunks: list[pa.Table] = []
        self._rows: list[tuple] = []
        self.count = 0

    def _flush(self) -> None:
        """The pending tuples as one more Arrow chunk."""
        if self._rows:
            self._chunks.append(rows_to_table(self._rows, self.schema))
            self._rows = []

    def extend(self, rows: Sequence[tuple]) -> None:
        self._rows.extend(rows)
        self.count += len(rows)
        if len(self._rows) >= self.chunk_rows:
            self._flush()

    def append_buffer(self, other: RowBuffer) -> None:
        """``other``'s rows after this buffer's own (order kept: the upsert keeps the last)."""
        table = other.table()
        if table is None:
            return
        self._flush()
        self._chunks.append(table)
        self.count += table.num_rows

    def table(self) -> pa.Table | None:
        self._flush()
        if not self._chunks:
            return None
        if len(self._chunks) > 1:
            self._chunks = [pa.concat_tables(self._chunks)]
        return self._chunks[0]


class Batch:
    """Everything one checkpoint commits: rows per :class:`TableSpec`, rejects per stream.

    Sources that carry more (tombstones, ids a listing has seen) subclass it and count
    those in :attr:`size`.
    """

    def __init__(self, specs: Iterable[TableSpec]) -> None:
        self.specs = {spec.stream: spec for spec in specs}
        self.rows = {stream: RowBuffer(spec.schema) for stream, spec in self.specs.items()}
        self.rejects: dict[str, list[Reject]] = {}

    def add(self, stream: str, rows: Sequence[tuple]) -> None:
        self.rows[stream].extend(rows)

    def reject(self, stream: str, record_id: str | None, reason: str, payload: Any) -> None:
        self.rejects.setdefault(stream, []).append(Reject(record_id, reason, payload))

    def add_rejects(self, stream: str, rejects: Sequence[Reject]) -> None:
        if rejects:
            self.rejects.setdefault(stream, []).extend(rejects)

    def absorb(self, other: Batch) -> None:
        """Take ``other``'s rows and rejects, after this batch's own."""
        for stream, buffer in other.rows.items():
            self.rows[stream].append_buffer(buffer)
        for stream, rejects in other.rejects.items():
            self.add_rejects(stream, rejects)

    @property
    def size(self) -> int:
        """Rows and rejects held (what checkpoint thresholds compare against)."""
        return sum(b.count for b in self.rows.values()) + sum(map(len, self.rejects.values()))


def write_batch(tx: WriteTx, batch: Batch, report: SyncReport) -> dict[str, UpsertCounts]:
    """Land and write every table's rows, then the rejects; returns the counts per stream
    (also added to the report for the specs that are ``counted``)."""
    written: dict[str, UpsertCounts] = {}
    for stream, spec in batch.specs.items():
        table = batch.rows[stream].table()
        if table is None:
            continue
        tx.land(stream, table, report.run_id)
        if spec.mode == "upsert":
            counts = tx.upsert(spec.table, table, list(spec.key), compare=spec.compare)
        else:
            inserted = tx.insert_new(spec.table, table, list(spec.key))
            counts = UpsertCounts(inserted, 0, table.num_rows - inserted)
        if spec.counted:
            report.inserted += counts.inserted
            report.updated += counts.updated
            report.unchanged += counts.unchanged
        written[stream] = counts
    for stream, rejects in batch.rejects.items():
        report.rejected += tx.reject(stream, rejects, report.run_id)
    return written
