"""Resources shared by every source: the warehouse, and how env variables become config."""

from __future__ import annotations

import os

import dagster as dg

from connector.config import DEFAULT_LAKE, DEFAULT_WAREHOUSE
from connector.kit import describe_failure
from connector.warehouse import Warehouse


def env_if_set(name: str) -> dg.EnvVar | None:
    """``EnvVar(name)`` when the variable is set, else None.

    Credentials stay EnvVars (Dagster never shows their values), while an unset variable
    reaches the connector, whose MissingConfigError names every missing variable at once
    instead of failing on the first.
    """
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else None


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file and the Parquet lake (CONNECTOR_WAREHOUSE, CONNECTOR_LAKE)."""

    warehouse_path: str = DEFAULT_WAREHOUSE
    lake_root: str = DEFAULT_LAKE

    def get(self) -> Warehouse:
        return Warehouse(self.warehouse_path, self.lake_root)

    @classmethod
    def from_env(cls) -> WarehouseResource:
        fields = {}
        if env_if_set("CONNECTOR_WAREHOUSE"):
            fields["warehouse_path"] = dg.EnvVar("CONNECTOR_WAREHOUSE")
        if env_if_set("CONNECTOR_LAKE"):
            fields["lake_root"] = dg.EnvVar("CONNECTOR_LAKE")
        return cls(**fields)


def count_duplicate_keys(warehouse: Warehouse, table: str, key: list[str]) -> tuple[int, int]:
    """(rows, keys that appear more than once) for a primary-key check."""
    cols = ", ".join(key)
    with warehouse.read() as con:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        dupes = con.execute(
            f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY {cols} HAVING count(*) > 1)"
        ).fetchone()[0]
    return int(rows), int(dupes)


def primary_key_check(warehouse: Warehouse, table: str, key: list[str]) -> dg.AssetCheckResult:
    rows, dupes = count_duplicate_keys(warehouse, table, key)
    return dg.AssetCheckResult(
        passed=dupes == 0,
        metadata={"table": table, "key": ", ".join(key), "rows": rows, "duplicate_keys": dupes},
    )


def run_or_fail(sync, *args, **kwargs):
    """Run a connector sync; a failure reaches Dagster as the same one-screen message the
    command line prints (what failed, why, what was kept), the exception chained."""
    try:
        return sync(*args, **kwargs)
    except Exception as exc:
        raise dg.Failure(description=describe_failure(exc)) from exc
