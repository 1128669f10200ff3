"""Vendor epochs to UTC timestamps, converted once at the edge.

Uplynk speaks Unix milliseconds, IBM/VALT/IRIS Unix seconds. Inside the connector every
timestamp is an Arrow ``timestamp('ms', tz='UTC')`` (DuckDB ``TIMESTAMPTZ``); 0 and None
mean "not set" and become NULL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

TIMESTAMP = pa.timestamp("ms", tz="UTC")


def ms_or_none(value: object) -> int | None:
    """A vendor millisecond epoch as an int, None for 0/None; ValueError if not an epoch."""
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not an epoch in ms: {value!r}")
    if value < 0:
        raise ValueError(f"negative epoch: {value!r}")
    return int(value)


def seconds_to_ms(value: object) -> int | None:
    """A vendor second epoch (int, float or numeric string) as ms, None for 0/None/''."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an epoch in s: {value!r}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"not an epoch in s: {value!r}") from None
    if not isinstance(value, int | float) or value < 0:
        raise ValueError(f"not an epoch in s: {value!r}")
    return int(round(value * 1000))


def utc_from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def now_ms() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1000)
