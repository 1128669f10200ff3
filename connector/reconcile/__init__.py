"""Cross-system identity: which Uplynk asset, IBM video, VALT recording and IRIS id are the
same content, kept in ``core.asset_xref`` (one row per record, a stable ``canonical_id`` per
content) with the undecided cases in ``core.xref_conflicts``.

Exact key rules first, then probabilistic matching on normalised title, duration and dates,
both configured as data in ``rules.toml``; incremental (only new and changed records are
matched again); runs on the warehouse through its API. See :mod:`.engine`.

>>> report = reconcile()  # doctest: +SKIP  (CONNECTOR_WAREHOUSE, all present systems)
"""

from .engine import STREAM, Reconcile, ReconcileOptions, ReconcileReport, reconcile
from .rules import DEFAULT_RULES, Rules, RulesError, load_rules

__all__ = [
    "DEFAULT_RULES",
    "STREAM",
    "Reconcile",
    "ReconcileOptions",
    "ReconcileReport",
    "Rules",
    "RulesError",
    "load_rules",
    "reconcile",
]
