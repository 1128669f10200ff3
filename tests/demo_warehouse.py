"""A small demo warehouse, as `make demo` leaves data/ but from the test sandbox: every
source synced once, then a churned hour synced again (two runs per stream in meta.runs),
reconciled, media probed, the four marts built. For tests that look at the result from the
outside (the notebook, the Dagster webserver)."""

from __future__ import annotations

from pathlib import Path

from connector.marts import build_mart
from connector.media import ProbeOptions, probe_media
from connector.reconcile import reconcile
from connector.warehouse import Warehouse
from tests.ibm_helpers import run_ibm
from tests.iris_helpers import run_iris
from tests.uplynk_helpers import run_uplynk
from tests.valt_helpers import run_valt

SMALL = 300  # canonical assets of the shared small demo warehouse: it builds in ~20 s
_shared: dict[str, Warehouse] = {}

#: dependency order: recommendations_to_unplayable reads dead_source_urls
MARTS = (
    "assets_expiring_soon",
    "catalog_coverage",
    "dead_source_urls",
    "recommendations_to_unplayable",
)


def sync_all(sandbox, warehouse: Warehouse) -> None:
    run_uplynk(sandbox, warehouse)
    run_ibm(sandbox, warehouse)
    run_valt(sandbox, warehouse)
    run_iris(sandbox, warehouse)


def build_demo_warehouse(sandbox, root: Path) -> Warehouse:
    """``root``/warehouse.duckdb and ``root``/lake from ``sandbox`` (reset by the caller)."""
    warehouse = Warehouse(root / "warehouse.duckdb", root / "lake")
    sync_all(sandbox, warehouse)
    sandbox.advance(3600, creates=30, updates=80, deletes=20)
    sync_all(sandbox, warehouse)
    reconcile(warehouse)
    probe_media(warehouse, ProbeOptions(timeout_s=2.0))
    for name in MARTS:
        build_mart(warehouse, name)
    return warehouse


def shared_demo_warehouse(sandbox, tmp_path_factory) -> Warehouse:
    """One small demo warehouse per test session (the notebook and the webserver tests read
    it), built from the session sandbox reset to ``SMALL`` assets, which is set back to the
    2,000 assets other tests expect."""
    if "wh" not in _shared:
        sandbox.reset(seed=7, assets=SMALL)
        sandbox.iris_config(slow_s=0.2)  # the media CDN's slow URLs: quick enough here
        try:
            _shared["wh"] = build_demo_warehouse(sandbox, tmp_path_factory.mktemp("demo"))
        finally:
            sandbox.reset(seed=7, assets=2000)
    return _shared["wh"]
