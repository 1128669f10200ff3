"""Which expirations to re-check this run: pure, deterministic, "now" injected.

Not every video every run. Among the videos still listed (``removed_at IS NULL``):

* ``new``: no expiration row yet (never checked);
* ``horizon``: rule ``at_given_time`` expiring within ``horizon_days`` (expired ones too:
  they are checked until the vendor deletes them);
* ``rolling``: of the rest, the stalest ``ceil(rest / runs_per_budget)`` (oldest
  ``checked_at`` first, ties by video_id), plus every one that would otherwise exceed the
  staleness budget before the next run (``checked_at + budget <= now + run_interval``).
  ``runs_per_budget = floor(staleness budget / expected run interval)`` (168 for 7 days,
  hourly), so the work is spread evenly and each video is re-checked at least once per
  budget as long as runs come at least every ``run_interval``.

:func:`plan_refresh` takes the candidate rows as columns (from ``sql/refresh_candidates.sql`` or a
test) and returns the ordered selection with each video's reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
REASONS = ("new", "horizon", "rolling")


@dataclass(frozen=True)
class RefreshPolicy:
    horizon_days: float = 30.0
    staleness_days: float = 7.0
    run_interval_hours: float = 1.0

    def __post_init__(self) -> None:
        if self.horizon_days < 0 or self.staleness_days <= 0 or self.run_interval_hours <= 0:
            raise ValueError("horizon_days >= 0, staleness_days > 0 and run_interval_hours > 0")

    @property
    def budget_ms(self) -> int:
        return int(self.staleness_days * DAY_MS)

    @property
    def interval_ms(self) -> int:
        return int(self.run_interval_hours * HOUR_MS)

    @property
    def runs_per_budget(self) -> int:
        return max(1, int(self.budget_ms // self.interval_ms))


@dataclass
class RefreshPlan:
    video_ids: list[str]
    reasons: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    rest: int = 0  # videos eligible for rolling refresh
    quota: int = 0  # ceil(rest / runs_per_budget)
    due: int = 0  # of the rolling ones: would exceed the budget before the next run

    def __len__(self) -> int:
        return len(self.video_ids)


def _int_column(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    col = table.column(name).cast(pa.int64())
    valid = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    values = np.asarray(col.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    return values, valid


def plan_refresh(
    candidates: pa.Table, now_ms: int, policy: RefreshPolicy | None = None
) -> RefreshPlan:
    """The videos to check at ``now_ms``: new, then horizon (soonest expiry first), then
    rolling (stalest first)."""
    policy = policy or RefreshPolicy()
    n = candidates.num_rows
    if n == 0:
        return RefreshPlan([], [], {r: 0 for r in REASONS})
    ids = np.asarray(candidates.column("video_id").to_pylist(), dtype=object)
    rule = np.asarray(candidates.column("rule").to_pylist(), dtype=object)
    expires, has_exp = _int_column(candidates, "expires_at_ms")
    checked, has_checked = _int_column(candidates, "checked_at_ms")

    new = ~has_checked
    horizon = (
        ~new
        & (rule == "at_given_time")
        & has_exp
        & (expires <= now_ms + int(policy.horizon_days * DAY_MS))
    )
    rest = ~new & ~horizon
    rest_idx = np.nonzero(rest)[0]
    quota = math.ceil(len(rest_idx) / policy.runs_per_budget)
    # stalest first, ties by video_id (deterministic)
    order = rest_idx[np.lexsort((ids[rest_idx].astype(str), checked[rest_idx]))]
    due = order[checked[order] + policy.budget_ms <= now_ms + policy.interval_ms]
    rolling_sel = np.zeros(n, dtype=bool)
    rolling_sel[order[:quota]] = True
    rolling_sel[due] = True
    rolling_idx = order[rolling_sel[order]]

    new_idx = np.nonzero(new)[0]
    new_idx = new_idx[np.argsort(ids[new_idx].astype(str), kind="stable")]
    hz_idx = np.nonzero(horizon)[0]
    hz_idx = hz_idx[np.lexsort((ids[hz_idx].astype(str), expires[hz_idx]))]

    sel = np.concatenate([new_idx, hz_idx, rolling_idx]).astype(np.int64)
    reasons = ["new"] * len(new_idx) + ["horizon"] * len(hz_idx) + ["rolling"] * len(rolling_idx)
    return RefreshPlan(
        video_ids=[str(v) for v in ids[sel].tolist()],
        reasons=reasons,
        counts={"new": len(new_idx), "horizon": len(hz_idx), "rolling": len(rolling_idx)},
        rest=len(rest_idx),
        quota=quota,
        due=len(due),
    )
