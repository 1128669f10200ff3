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

# `make demo` runs this one: its runs are listed under a named job in the UI's Jobs page
refresh_everything = dg.define_asset_job(
    "refresh_everything",
    selection=dg.AssetSelection.all(),
    description="Every asset and check: the four sources, then reconciliation (core/asset_xref), "
    "then the marts and core views. What `make demo` runs; the schedules run each source alone.",
)

defs = dg.Definitions(
    assets=_assets,
    asset_checks=[c for s in _sources for c in s.asset_checks],
    jobs=[*(j for s in _sources for j in s.jobs), refresh_everything],
    schedules=[sc for s in _sources for sc in s.schedules],
    resources={
        "warehouse": WarehouseResource.from_env(),
        **{k: v for s in _sources for k, v in s.resources.items()},
    },
)
