"""What the Dagster catalog shows for every table asset, the same way for every source.

* keys name where the data lives: ``raw/uplynk_assets`` is the table ``raw.uplynk_assets``;
* ``dagster/column_schema`` from the data dictionary (the migrations' column comments) and
  ``dagster/row_count`` on each materialization;
* owners, ``dagster/table_name``, kinds, and a freshness policy matching the schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import dagster as dg

from connector.warehouse import Warehouse
from connector.warehouse.dictionary import columns

OWNERS = ["team:video-ops"]


def table_key(table: str) -> dg.AssetKey:
    """``"raw.uplynk_assets"`` -> ``AssetKey(["raw", "uplynk_assets"])``."""
    return dg.AssetKey(table.split("."))


def column_schema(table: str) -> dg.TableSchema:
    """The table's columns, types and data-dictionary comments."""
    cols = columns().get(table, {})
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, c.type, description=c.doc or None) for c in cols.values()]
    )


def table_spec(
    table: str,
    *,
    group: str,
    description: str,
    kinds: Iterable[str],
    deps: Sequence[str] = (),
    fresh_within: timedelta | None = None,
    automation: dg.AutomationCondition | None = None,
) -> dg.AssetSpec:
    """The spec of the asset that is ``table`` (``schema.name``)."""
    return dg.AssetSpec(
        table_key(table),
        group_name=group,
        description=description,
        kinds=set(kinds),
        deps=[table_key(d) for d in deps],
        owners=OWNERS,
        metadata={"dagster/table_name": table, "dagster/column_schema": column_schema(table)},
        freshness_policy=(
            dg.FreshnessPolicy.time_window(fail_window=fresh_within) if fresh_within else None
        ),
        automation_condition=automation,
    )


def table_metadata(warehouse: Warehouse, table: str) -> dict[str, Any]:
    """Row count and column schema of ``table`` now (for a materialization). Views (marts,
    core) have no migration columns: their schema is read from the database."""
    rows = warehouse.query(f"SELECT count(*) FROM {table}")[0][0]
    schema = column_schema(table)
    if not schema.columns:
        described = warehouse.query(f"DESCRIBE {table}")
        schema = dg.TableSchema(columns=[dg.TableColumn(r[0], r[1]) for r in described])
    return {
        "dagster/row_count": dg.MetadataValue.int(int(rows)),
        "dagster/column_schema": schema,
    }
