"""The warehouse: current-state tables (a DuckDB file or a DuckLake catalog, see
:mod:`.backends`), the Parquet lake, sync state, rejects, runs."""

from .backends import WarehouseConfigError, backend_from
from .migrations import Migration
from .rejects import Reject
from .runs import RunRecord
from .sqlfile import sql_file
from .upsert import UpsertCounts
from .warehouse import (
    Warehouse,
    WarehouseConflictError,
    WarehouseLockTimeout,
    WriteTx,
    is_conflict,
)

__all__ = [
    "Migration",
    "Reject",
    "RunRecord",
    "UpsertCounts",
    "Warehouse",
    "WarehouseConfigError",
    "WarehouseConflictError",
    "WarehouseLockTimeout",
    "WriteTx",
    "backend_from",
    "is_conflict",
    "sql_file",
]
