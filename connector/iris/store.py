"""IRIS's warehouse writes: one :class:`IrisBatch` per checkpoint, its tables declared once.

Row tables go through the kit (:class:`~connector.kit.TableSpec`); the statements over
IRIS's tables live in ``sql/*.sql`` beside this module. ``raw.media_url_checks`` is declared
here too (the probes of IRIS source URLs made while their token is in hand); like the
recommendations and the ledger, its rows are counted apart (``IrisReport.media_checks``),
not in the run's inserted / updated, which cover ``raw.iris_resolutions`` and
``raw.iris_assets``.
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa

from connector.iris.normalize import (
    ASSET_SCHEMA,
    ASSETS_STREAM,
    RECOMMENDATION_SCHEMA,
    RECOMMENDATIONS_STREAM,
    REFRESH_SCHEMA,
    REFRESHES_STREAM,
    RESOLUTION_SCHEMA,
    RESOLUTIONS_STREAM,
)
from connector.iris.state import IrisReport
from connector.kit import Batch, TableSpec, write_batch
from connector.media.checks import CHECKS_STREAM, MEDIA_CHECKS
from connector.timeutil import TIMESTAMP
from connector.warehouse import WriteTx, sql_file

RESOLUTIONS = TableSpec(
    RESOLUTIONS_STREAM, "raw.iris_resolutions", ("asset_id",), RESOLUTION_SCHEMA
)
RECOMMENDATIONS = TableSpec(
    RECOMMENDATIONS_STREAM,
    "raw.iris_recommendations",
    ("seed_platform_id", "fetched_at", "rank"),
    RECOMMENDATION_SCHEMA,
    mode="insert_new",
    counted=False,
)
ASSETS = TableSpec(ASSETS_STREAM, "raw.iris_assets", ("iris_id",), ASSET_SCHEMA)
REFRESHES = TableSpec(
    REFRESHES_STREAM,
    "raw.iris_source_url_refreshes",
    ("iris_id", "requested_at"),
    REFRESH_SCHEMA,
    mode="insert_new",
    counted=False,
)
CHECKS = replace(MEDIA_CHECKS, counted=False)  # the table the media stream owns
SPECS = (RESOLUTIONS, RECOMMENDATIONS, ASSETS, REFRESHES, CHECKS)
LAKE_STREAMS = tuple(spec.stream for spec in SPECS)
PENDING_SCHEMA = pa.schema(
    [("iris_id", pa.string()), ("requested_at", TIMESTAMP), ("run_id", pa.string())]
)


def sql(name: str) -> str:
    return sql_file(__file__, name)


class IrisBatch(Batch):
    """Rows of every IRIS table for one checkpoint, plus the refresh intents it settles
    (their ``meta.iris_refresh_pending`` rows are deleted in the same transaction)."""

    def __init__(self) -> None:
        super().__init__(SPECS)
        self.settled: list[str] = []

    @property
    def size(self) -> int:
        return super().size + len(self.settled)


def write(tx: WriteTx, batch: IrisBatch, report: IrisReport) -> None:
    """One checkpoint: every table's rows and rejects, then the settled intents."""
    written = write_batch(tx, batch, report)
    checks = written.get(CHECKS_STREAM)
    if checks is not None:
        report.media_checks += checks.inserted + checks.updated
    if batch.settled:
        settled = pa.table({"iris_id": pa.array(batch.settled, pa.string())})
        tx.run(sql("delete_pending"), inputs={"settled": settled})


def add_pending(tx: WriteTx, iris_ids: list[str], requested_ms: int, run_id: str) -> None:
    """Record refreshes about to be sent (committed before they go out)."""
    n = len(iris_ids)
    rows = pa.table(
        {
            "iris_id": pa.array(iris_ids, pa.string()),
            "requested_at": pa.array([requested_ms] * n, pa.int64()).cast(TIMESTAMP),
            "run_id": pa.array([run_id] * n, pa.string()),
        },
        schema=PENDING_SCHEMA,
    )
    tx.insert_new("meta.iris_refresh_pending", rows, ["iris_id"])


__all__ = [
    "ASSETS",
    "CHECKS",
    "CHECKS_STREAM",
    "LAKE_STREAMS",
    "MEDIA_CHECKS",
    "RECOMMENDATIONS",
    "REFRESHES",
    "RESOLUTIONS",
    "SPECS",
    "IrisBatch",
    "add_pending",
    "sql",
    "write",
]
