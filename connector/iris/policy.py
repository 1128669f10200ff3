"""Which items to look at this run: pure, deterministic, "now" injected.

The IBM refresh policy's idea, for IRIS's two walks (Watch per Uplynk asset, data API per
iris_id). Each candidate is ``(id, checked_ms or None, changed)``:

* ``new``: never looked at (``checked_ms`` None);
* ``changed``: looked at, but something says its stored state is out of date (an Uplynk
  asset whose external_id or lastmod_at changed; an IRIS source URL past its expiry that
  may still be refreshed; a last look that failed);
* ``rolling``: of the rest, the stalest ``ceil(rest / runs_per_budget)`` (oldest first,
  ties by id), plus every one that would otherwise exceed the staleness budget before the
  next run. ``runs_per_budget = floor(staleness / run interval)``: the work is spread evenly
  and each item is looked at again within the budget while runs come every interval.

``everything`` (a full refresh) selects every candidate, with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

HOUR_MS = 3_600_000
REASONS = ("new", "changed", "rolling")


@dataclass(frozen=True)
class RollingPolicy:
    staleness_hours: float = 24.0
    run_interval_hours: float = 1.0

    def __post_init__(self) -> None:
        if self.staleness_hours <= 0 or self.run_interval_hours <= 0:
            raise ValueError("staleness_hours > 0 and run_interval_hours > 0")

    @property
    def budget_ms(self) -> int:
        return int(self.staleness_hours * HOUR_MS)

    @property
    def interval_ms(self) -> int:
        return int(self.run_interval_hours * HOUR_MS)

    @property
    def runs_per_budget(self) -> int:
        return max(1, self.budget_ms // self.interval_ms)


@dataclass
class Plan:
    ids: list[str]
    reasons: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    rest: int = 0  # candidates eligible for the rolling share
    quota: int = 0  # ceil(rest / runs_per_budget)

    def __len__(self) -> int:
        return len(self.ids)


def plan(
    candidates: Iterable[tuple[str, int | None, bool]],
    now_ms: int,
    policy: RollingPolicy | None = None,
    *,
    everything: bool = False,
) -> Plan:
    """The ids to look at: new (by id), changed (by id), then rolling (stalest first)."""
    policy = policy or RollingPolicy()
    new: list[str] = []
    changed: list[str] = []
    rest: list[tuple[int, str]] = []
    for item_id, checked_ms, is_changed in candidates:
        if checked_ms is None:
            new.append(item_id)
        elif is_changed:
            changed.append(item_id)
        else:
            rest.append((checked_ms, item_id))
    new.sort()
    changed.sort()
    rest.sort()
    quota = math.ceil(len(rest) / policy.runs_per_budget)
    if everything:
        rolling = [i for _, i in rest]
    else:
        due_before = now_ms + policy.interval_ms - policy.budget_ms
        rolling = [i for n, (c, i) in enumerate(rest) if n < quota or c <= due_before]
    ids = new + changed + rolling
    reasons = ["new"] * len(new) + ["changed"] * len(changed) + ["rolling"] * len(rolling)
    counts = {"new": len(new), "changed": len(changed), "rolling": len(rolling)}
    return Plan(ids, reasons, counts, len(rest), quota)


__all__ = ["REASONS", "Plan", "RollingPolicy", "plan"]
