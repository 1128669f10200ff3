"""Vendor records -> Arrow: helpers every source's ``normalize.py`` shares."""

from __future__ import annotations

import pyarrow as pa


def optional_str(record: dict, name: str) -> str | None:
    """``record[name]`` when it is a string or absent/None; ValueError for anything else."""
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string: {value!r}")
    return value


def rows_to_table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Column-wise Arrow table from row tuples in ``schema`` order.

    Timestamp columns take ints in the schema's unit (ms epochs) directly.
    """
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    arrays = [pa.array(values, type=fld.type) for values, fld in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)
