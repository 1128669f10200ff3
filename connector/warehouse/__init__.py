"""The warehouse: DuckDB current-state tables, the Parquet lake, sync state, rejects, runs."""

from .migrations import Migration
from .rejects import Reject
from .runs import RunRecord
from .sqlfile import sql_file
from .upsert import UpsertCounts
from .warehouse import Warehouse, WarehouseLockTimeout, WriteTx

__all__ = [
    "Migration",
    "Reject",
    "RunRecord",
    "UpsertCounts",
    "Warehouse",
    "WarehouseLockTimeout",
    "WriteTx",
    "sql_file",
]
