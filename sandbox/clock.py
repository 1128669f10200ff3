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
    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        return real_now_ms() + self.offset_ms

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the simulated clock only moves forward")
        self.offset_ms += int(ms)

    def reset(self) -> None:
        self.offset_ms = 0
