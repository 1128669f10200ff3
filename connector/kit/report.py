"""The report every sync run returns: the fields common to every source.

A source subclasses :class:`SyncReport` to add its own detail (pages, look-backs, ...);
the common fields are filled by the kit (request metrics, elapsed, cursors) and by
:func:`connector.kit.batch.write_batch` (row counts), and they are what ``meta.runs``
records for every stream.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from connector.http import RequestMetrics


@dataclass
class SyncReport:
    """What one run did. Row counts cover every table the stream writes."""

    run_id: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    checkpoints: int = 0
    cursor_before: Any = None
    cursor_after: Any = None
    requests: int = 0
    retries: int = 0
    responses_429: int = 0
    bytes_received: int = 0
    elapsed_s: float = 0.0
    status: str = "running"

    def take_metrics(self, metrics: RequestMetrics) -> None:
        """Copy the request counters of the run's client(s)."""
        self.requests = metrics.requests
        self.retries = metrics.retries
        self.responses_429 = metrics.responses_429
        self.bytes_received = metrics.bytes_received

    @property
    def rows_committed(self) -> int:
        return self.inserted + self.updated + self.deleted

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
