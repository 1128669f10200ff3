"""Dagster definitions: one module per source, shared warehouse resource.

Load with ``dagster dev -w workspace.yaml`` or ``dagster asset materialize -m assets_defs``.
"""

import warnings

import dagster as dg

from assets_defs import ibm, iris, marts, reconcile, uplynk, valt
from assets_defs.resources import WarehouseResource
from connector.http import Redactor, install_log_redaction

install_log_redaction(Redactor())

_sources = [uplynk, ibm, valt, iris, reconcile, marts]

with warnings.catch_warnings():  # code references are a beta API: its warnings are noise
    warnings.simplefilter("ignore", dg.BetaWarning)
    _assets = dg.with_source_code_references([a for s in _sources for a in s.assets])

defs = dg.Definitions(
    assets=_assets,
    asset_checks=[c for s in _sources for c in s.asset_checks],
    jobs=[j for s in _sources for j in s.jobs],
    schedules=[sc for s in _sources for sc in s.schedules],
    resources={
        "warehouse": WarehouseResource.from_env(),
        **{k: v for s in _sources for k, v in s.resources.items()},
    },
)
