"""IRIS asset checks: the vendor's refresh rules held (from the ledger itself)."""

import dagster as dg

from assets_defs.catalog import table_key
from assets_defs.resources import WarehouseResource

RULE_BREAKS = """
SELECT count(*) FROM raw.iris_source_url_refreshes AS r
WHERE r.requested AND (r.outcome = 'not_available' OR EXISTS (
    SELECT 1 FROM raw.iris_source_url_refreshes AS b
    WHERE b.iris_id = r.iris_id AND b.requested_at < r.requested_at
      AND b.outcome IN ('not_available', 'gave_up')))
"""


@dg.asset_check(
    asset=table_key("raw.iris_source_url_refreshes"),
    description="no refresh was ever requested for a NOT_AVAILABLE IRIS id, nor for one after "
    "it was NOT_AVAILABLE or given up",
)
def iris_refresh_rules_held(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    n = warehouse.get().query(RULE_BREAKS)[0][0]
    return dg.AssetCheckResult(passed=n == 0, metadata={"refreshes_breaking_rules": int(n)})
