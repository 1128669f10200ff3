"""Vendor records -> Arrow: the validation and coercion rules every source's
``normalize.py`` shares.

One coercion rule for numbers, the same in every source: a numeric field is accepted as
a JSON number (``int`` or finite ``float``) or as a string holding one (``"1800"``,
``"1800.5"``, ``"1732400000000"``; the vendors document some numbers as strings).
Anything else (``True``, ``"abc"``, ``""``, ``" 1"``, ``"NaN"``, ``inf``) is a
ValueError whose message is the reject reason; nothing is coerced silently.

Epochs are also range checked: a vendor epoch must fall between 2000-01-01 and
2100-01-01 once read in its documented unit. Seconds sent where milliseconds are
documented read as 1970, milliseconds sent where seconds are read as a year in the tens
of thousands; both are rejects whose reason names the field, the value and the unit.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Literal

import pyarrow as pa

EPOCH_MIN_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
EPOCH_MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z (exclusive)
EpochUnit = Literal["ms", "s"]
_UNIT_WORD = {"ms": "milliseconds", "s": "seconds"}
_MS_PER_YEAR = 365.2425 * 86_400_000
_NUMERIC = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _show(value: object) -> str:
    """``repr(value)``, cut short so one absurd value cannot flood a reject reason."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def optional_str(record: dict, name: str) -> str | None:
    """``record[name]`` when it is a string or absent/None; ValueError for anything else."""
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string: {value!r}")
    return value


def number(value: object, name: str) -> int | float:
    """``value`` as a number under the shared rule (JSON number or numeric string).

    Integral strings stay exact ints (``"1732400000000"`` -> 1732400000000).
    ValueError naming ``name`` for bools, non-numeric or empty strings, NaN, infinities
    and every other type.
    """
    if type(value) is int:
        return value
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise ValueError(f"{name} is not a finite number: {value!r}")
    if isinstance(value, str) and _NUMERIC.fullmatch(value) is not None:
        try:
            out = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:  # more digits than Python converts
            out = math.inf
        if isinstance(out, int) or math.isfinite(out):
            return out
        raise ValueError(f"{name} is not a finite number: {_show(value)}")
    raise ValueError(f"{name} is not a number: {_show(value)}")


def optional_number(record: dict, name: str, *, minimum: float | None = None) -> float | None:
    """``record[name]`` as a float (None when absent/None); ValueError below ``minimum``."""
    value = record.get(name)
    if value is None:
        return None
    out = number(value, name)
    if minimum is not None and out < minimum:
        raise ValueError(f"{name} is below {minimum:g}: {_show(value)}")
    return float(out)


def _reads_as(ms: float) -> str:
    """A human reading of an implausible epoch (``1970-01-21``, ``year ~56,870``)."""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()
    except (OverflowError, OSError, ValueError):
        pass
    try:
        year = 1970 + ms / _MS_PER_YEAR
    except OverflowError:
        return "beyond any date"
    return f"year ~{year:,.0f}" if abs(year) < 1e6 else "beyond any date"


def epoch_ms(value: object, name: str, *, unit: EpochUnit, required: bool = False) -> int | None:
    """A vendor epoch in ``unit`` (``"ms"`` or ``"s"``) as Unix milliseconds.

    None (absent) and 0 mean "not set" and give None, unless ``required``, when they are
    a ValueError. Numbers follow :func:`number`. A value outside 2000-01-01..2100-01-01
    in ``unit`` (negative, the wrong unit, an overflow) is a ValueError that names the
    field, the value and the expected unit.
    """
    if value is None:
        if required:
            raise ValueError(f"{name} is missing")
        return None
    amount = number(value, name)
    if amount == 0:
        if required:
            raise ValueError(f"{name} is 0 (not set) but required")
        return None
    ms = amount * 1000 if unit == "s" else amount
    if not EPOCH_MIN_MS <= ms < EPOCH_MAX_MS:
        word = _UNIT_WORD[unit]
        raise ValueError(
            f"{name} {_show(value)} is not a plausible epoch in {word}: read as Unix {word} it "
            f"is {_reads_as(ms)}, outside 2000-01-01..2100-01-01"
        )
    return int(round(ms))


def rows_to_table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Column-wise Arrow table from row tuples in ``schema`` order.

    Timestamp columns take ints in the schema's unit (ms epochs) directly.
    """
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    arrays = [pa.array(values, type=fld.type) for values, fld in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)
