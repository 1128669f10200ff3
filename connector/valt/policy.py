"""Which recordings' details to read this run: pure, deterministic, "now" injected.

Retention lives only in the details, so a changed retention is invisible in the list.
Among the recordings not removed, a run reads the details of:

* ``new`` / ``changed`` / ``unlisted``: the recordings ``meta.valt_details_due`` holds
  (listed for the first time, listed with fields that differ from the stored
  ``listed_hash``, or absent from a complete sweep);
* ``horizon``: ``retention_until`` within ``horizon_days`` of now, either side (ending soon,
  or just ended and perhaps about to be deleted or extended);
* ``rolling``: of the rest, the stalest ``ceil(rest / runs_per_budget)`` (oldest
  ``details_checked_at`` first, ties by id), plus every one that would otherwise exceed the
  staleness budget before the next run (``checked_at + budget <= now + run_interval``).
  ``runs_per_budget = floor(staleness budget / run interval)`` (168 for 7 days, hourly), so
  each recording is re-read at least once per budget as long as runs come every interval.

The same rule as IBM's expiration refresh (``connector/ibm/policy.py``), restated here
because vendor packages do not import each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
DUE_REASONS = ("new", "changed", "unlisted")
REASONS = (*DUE_REASONS, "horizon", "rolling")


@dataclass(frozen=True)
class DetailsPolicy:
    staleness_days: float = 7.0
    run_interval_hours: float = 1.0
    horizon_days: float = 7.0

    @property
    def budget_ms(self) -> int:
        return int(self.staleness_days * DAY_MS)

    @property
    def interval_ms(self) -> int:
        return int(self.run_interval_hours * HOUR_MS)

    @property
    def runs_per_budget(self) -> int:
        return max(1, self.budget_ms // max(1, self.interval_ms))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One recording the policy may pick: ``due`` is its reason in the due table (or None);
    ``retention_until_ms`` / ``checked_at_ms`` as stored (None when unknown)."""

    record_id: str
    due: str | None
    retention_until_ms: int | None
    checked_at_ms: int | None


@dataclass
class DetailsPlan:
    record_ids: list[str]
    reasons: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    rest: int = 0  # recordings eligible for the rolling re-check
    quota: int = 0  # ceil(rest / runs_per_budget)
    overdue: int = 0  # of the rolling ones: would exceed the budget before the next run

    def __len__(self) -> int:
        return len(self.record_ids)


def plan_details(
    candidates: Iterable[Candidate], now_ms: int, policy: DetailsPolicy | None = None
) -> DetailsPlan:
    """The recordings to read at ``now_ms``: due ones (new, changed, unlisted), then the
    horizon (soonest retention first), then the rolling share (stalest first)."""
    policy = policy or DetailsPolicy()
    horizon_ms = int(policy.horizon_days * DAY_MS)
    picked: dict[str, list[Candidate]] = {r: [] for r in REASONS}
    rest: list[Candidate] = []
    for c in candidates:
        if c.due is not None:
            picked[c.due if c.due in DUE_REASONS else "changed"].append(c)
        elif c.retention_until_ms is not None and abs(c.retention_until_ms - now_ms) <= horizon_ms:
            picked["horizon"].append(c)
        else:
            rest.append(c)
    for reason in DUE_REASONS:
        picked[reason].sort(key=lambda c: c.record_id)
    picked["horizon"].sort(key=lambda c: (c.retention_until_ms, c.record_id))
    rest.sort(key=lambda c: (c.checked_at_ms if c.checked_at_ms is not None else -1, c.record_id))
    quota = math.ceil(len(rest) / policy.runs_per_budget)
    deadline = now_ms + policy.interval_ms - policy.budget_ms
    overdue = [c for c in rest if c.checked_at_ms is None or c.checked_at_ms <= deadline]
    # rest is stalest first, so the overdue ones are its head: the quota or more of it
    picked["rolling"] = rest[: max(quota, len(overdue))]
    ids = [c.record_id for r in REASONS for c in picked[r]]
    reasons = [r for r in REASONS for _ in picked[r]]
    return DetailsPlan(
        ids,
        reasons,
        counts={r: len(picked[r]) for r in REASONS},
        rest=len(rest),
        quota=quota,
        overdue=len(overdue),
    )
