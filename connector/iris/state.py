"""The IRIS stream's options, report and state.

The stream keeps no cursor: what to look at is decided from the tables themselves
(:mod:`connector.iris.policy` over ``raw.iris_resolutions`` / ``raw.iris_assets``), and the
vendor's refresh rules are remembered in the ledger ``raw.iris_source_url_refreshes``.
Invariants the walk keeps:

* a seed's snapshot (its rows of ``raw.iris_recommendations``) is committed in the same
  transaction as its ``raw.iris_resolutions`` row, whose ``watched_at`` equals the
  snapshot's ``fetched_at``;
* an IRIS_ID with a ``not_available`` or ``gave_up`` ledger row is never sent a refresh;
* a refresh is sent only after its ``meta.iris_refresh_pending`` row is committed, and its
  outcome's ledger row is committed with the deletion of that row; a pending row found at
  the start of a run (the run that sent it died) becomes a ``gave_up`` ledger row.

``meta.sync_state['iris']`` records only the last finished run (:class:`IrisState`), for
people; nothing reads it back to decide.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from connector.config import concurrency_from_env
from connector.iris.policy import RollingPolicy
from connector.kit import SyncReport


@dataclass
class IrisState:
    last_run_id: str | None = None
    finished_at_ms: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> IrisState:
        data = data or {}
        return cls(data.get("last_run_id"), data.get("finished_at_ms"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncOptions:
    """Knobs of one IRIS sync; the Dagster config and the CLI map onto these."""

    watch_policy: RollingPolicy = field(default_factory=RollingPolicy)  # Watch per Uplynk asset
    assets_policy: RollingPolicy = field(default_factory=RollingPolicy)  # data API per iris_id
    full_refresh: bool = False  # every asset resolved and every iris_id read this run
    resolve: bool = True  # run the Watch walk
    check_assets: bool = True  # run the data API walk (probes and refreshes included)
    recommendations: int = 10  # Watch `number`
    user_id: str = "video-catalog-connector"  # Watch `user_id`
    # Watch / data API calls in flight
    concurrency: int = field(default_factory=lambda: concurrency_from_env("iris", 16))
    probe_timeout_s: float = 5.0  # a source URL silent this long is `timeout`
    probe_concurrency: int = 64
    probe_per_host: int = 16
    max_refreshes: int = 500  # refresh requests per run at most
    refresh_concurrency: int = 16  # refreshes in flight (each one's intent committed first)
    checkpoint_rows: int = 10_000  # commit every N rows (all tables together)

    def __post_init__(self) -> None:
        if self.recommendations < 1 or self.concurrency < 1 or self.refresh_concurrency < 1:
            raise ValueError("recommendations, concurrency and refresh_concurrency must be >= 1")
        if self.max_refreshes < 0 or self.checkpoint_rows < 1 or self.probe_timeout_s <= 0:
            raise ValueError("max_refreshes >= 0, checkpoint_rows >= 1, probe_timeout_s > 0")


@dataclass
class IrisReport(SyncReport):
    """What one IRIS run did (the kit's common fields plus each walk's detail)."""

    seeds_candidates: int = 0  # Uplynk assets with an external_id
    seeds_selected: dict[str, int] = field(default_factory=dict)  # by policy reason
    watched: int = 0
    resolved: int = 0  # Watch echoed the asset (an iris_id)
    default_recs: int = 0  # Watch said the asset is unknown to IRIS
    recommendations: int = 0  # recommendation rows written
    assets_candidates: int = 0  # iris_ids known (resolved or recommended)
    assets_selected: dict[str, int] = field(default_factory=dict)
    assets_checked: int = 0
    source_url_states: dict[str, int] = field(default_factory=dict)
    refreshes_sent: int = 0
    refresh_outcomes: dict[str, int] = field(default_factory=dict)  # ledger rows written
    refresh_skipped_barred: int = 0  # expired, but not_available / gave_up: not asked
    refresh_deferred: int = 0  # expired and refreshable, beyond max_refreshes
    pending_settled: int = 0  # refreshes a dead run left unanswered (now gave_up)
    probes: int = 0
    probe_requests: int = 0
    media_checks: int = 0  # rows written to raw.media_url_checks (counted apart)
    tokens_fetched: int = 0
    token_renewals: int = 0
    personalization_calls: int = 0  # Watch/Next requests sent
    recs_only_not_true: int = 0  # of those, sent with a recs_only other than "true" (must be 0)
    failed_calls: int = 0  # calls that failed after the core's retries
    # per call ("watch", "video_assets"): {"count", "ids" (the first 5), "error" (the last)}
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)


__all__ = ["IrisReport", "IrisState", "SyncOptions"]
