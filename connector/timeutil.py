"""UTC timestamps inside the connector.

Uplynk speaks Unix milliseconds, IBM/VALT/IRIS Unix seconds; normalizers read them with
:func:`connector.records.epoch_ms` (range checked, 0 = "not set"), once, at the edge.
Inside the connector every timestamp is an Arrow ``timestamp('ms', tz='UTC')``
(:data:`TIMESTAMP`, DuckDB ``TIMESTAMPTZ``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

TIMESTAMP = pa.timestamp("ms", tz="UTC")


def utc_from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def now_ms() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1000)
