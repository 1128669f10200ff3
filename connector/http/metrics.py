"""Per-run request counters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class RequestMetrics:
    """Counters for one run (or one client). Shared by reference between clients.

    Plain integer increments with no ``await`` in between, so it is safe for any number
    of tasks on one event loop; do not share one instance between threads.

    ``requests`` counts attempts sent (retries included); ``responses_4xx`` counts every
    4xx (429 included), ``responses_429`` the 429s among them; ``parse_errors`` counts
    attempts whose body on an accepted status was unusable. ``wait_s`` is the time
    slept in retry backoff and in the rate limiter, ``elapsed`` the wall-clock span from
    the first request's start to the last request's end.
    """

    requests: int = 0
    retries: int = 0
    responses_2xx: int = 0
    responses_4xx: int = 0
    responses_429: int = 0
    responses_5xx: int = 0
    responses_other: int = 0
    transport_errors: int = 0
    parse_errors: int = 0
    reauths: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    wait_s: float = 0.0
    elapsed: float = 0.0
    _first: float | None = field(default=None, repr=False, compare=False)
    _last: float | None = field(default=None, repr=False, compare=False)

    def count_status(self, status: int) -> None:
        """Count one response by status class."""
        if 200 <= status < 300:
            self.responses_2xx += 1
        elif 400 <= status < 500:
            self.responses_4xx += 1
            if status == 429:
                self.responses_429 += 1
        elif 500 <= status < 600:
            self.responses_5xx += 1
        else:
            self.responses_other += 1

    def span(self, start: float, end: float) -> None:
        """Extend the wall-clock span (``time.monotonic`` values) and update ``elapsed``."""
        if self._first is None or start < self._first:
            self._first = start
        if self._last is None or end > self._last:
            self._last = end
        self.elapsed = self._last - self._first

    def merge(self, other: RequestMetrics) -> RequestMetrics:
        """Add ``other``'s counters into this one (in place) and return ``self``.

        Spans merge as a union when both sides have one, otherwise elapsed times add.
        """
        for f in fields(self):
            if f.name.startswith("_") or f.name == "elapsed":
                continue
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        if self._first is not None and other._first is not None:
            self.span(other._first, other._last or other._first)
        else:
            self.elapsed += other.elapsed
            if self._first is None:
                self._first, self._last = other._first, other._last
        return self

    def as_dict(self) -> dict[str, Any]:
        """Public counters as a plain dict (floats rounded to ms)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            v = getattr(self, f.name)
            out[f.name] = round(v, 3) if isinstance(v, float) else v
        return out

    @staticmethod
    def now() -> float:
        return time.monotonic()
