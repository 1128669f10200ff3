"""Simulated clock: real wall-clock milliseconds plus an offset that `advance` moves forward.

Data timestamps (created, lastmod, changes, `end`) use the simulated clock; the Uplynk feed
serves them shifted by its own offset (world knob `uplynk_clock_offset_s`, a vendor clock
ahead of or behind the client's). Request-signing timestamps are always checked against the
real clock (`real_now_s`).
"""

from __future__ import annotations

import time


def real_now_ms() -> int:
    return time.time_ns() // 1_000_000


def real_now_s() -> int:
    return int(time.time())


class SimClock:
    """``now_ms`` = real ms + ``offset_ms``; while frozen (replaying a persisted world's
    journal, sandbox/persist.py) the real part stands still at the frozen ms."""

    def __init__(self) -> None:
        self.offset_ms = 0
        self.frozen_ms: int | None = None

    def now_ms(self) -> int:
        real = real_now_ms() if self.frozen_ms is None else self.frozen_ms
        return real + self.offset_ms

    def freeze(self, at_ms: int) -> None:
        """Stop the real part at ``at_ms`` (offset 0): ``now_ms`` is ``at_ms`` until
        ``advance`` moves it or ``thaw``."""
        self.frozen_ms = int(at_ms)
        self.offset_ms = 0

    def thaw(self, offset_ms: int) -> None:
        """Back to the real clock, ``offset_ms`` ahead of it."""
        self.frozen_ms = None
        self.offset_ms = int(offset_ms)

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the simulated clock only moves forward")
        self.offset_ms += int(ms)

    def reset(self) -> None:
        self.offset_ms = 0
        self.frozen_ms = None
