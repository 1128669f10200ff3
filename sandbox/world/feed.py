"""The change feed as ``asset/changes`` reads it: retention windows, page limits, the feed's
own clock (``uplynk_clock_offset_s``) and action names (``create_action``).

Inside the world every timestamp is on the simulated clock; the Uplynk feed serves them
shifted by ``uplynk_offset_ms`` (a vendor clock ahead of or behind the client's), and reads a
client's ``start`` back through the same shift.
"""

from __future__ import annotations

import numpy as np

from .core import ACTION_CREATE, ACTION_DELETE, ACTION_NAMES, ACTION_UPDATE
from .mixing import GOLD, U, mix


class ChangeFeed:
    """Mixed into World: ``changes`` (simulated clock) and ``uplynk_changes`` (feed clock)."""

    @property
    def uplynk_offset_ms(self) -> int:
        """Milliseconds the Uplynk feed's clock runs ahead (+) of the simulated clock."""
        return int(round(self.uplynk_clock_offset_s * 1000))

    def uplynk_now_ms(self) -> int:
        """The simulated now on the Uplynk feed's clock."""
        return self.now_ms() + self.uplynk_offset_ms

    def uplynk_changes(self, start_ms: int) -> tuple[list[int], list[str], np.ndarray, int]:
        """One ``asset/changes`` page for a client's ``start`` (feed clock): change
        timestamps (feed clock), action names, canonical indices, and ``end`` (the last
        change's ms when the page is full, else the feed's now). Settles the world first."""
        off = self.uplynk_offset_ms
        now = self.now_ms()
        self.settle(now)
        ts, act, idx, full = self.changes(int(start_ms) - off, now)
        end = (int(ts[-1]) if full else now) + off
        names = list(ACTION_NAMES)
        if not self.create_action:
            names[ACTION_CREATE] = ACTION_NAMES[ACTION_UPDATE]
        return (ts + off).tolist(), [names[a] for a in act.tolist()], idx, end

    def changes(
        self, start_ms: int, now_ms: int, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Change-log entries with ``ts >= start_ms`` in ts order, at most ``limit``
        (default ``changes_page_size``), after retention: deletes older than
        ``now - delete_window_s`` and updates older than ``now - update_window_s`` are gone.
        Returns (ts, action, index, page_full)."""
        limit = self.changes_page_size if limit is None else int(limit)
        upd_floor = now_ms - int(self.update_window_s * 1000)
        del_floor = now_ms - int(self.delete_window_s * 1000)
        lts, lact, lidx = self._log_ts.a, self._log_act.a, self._log_idx.a
        pos = int(np.searchsorted(lts, max(int(start_ms), min(upd_floor, del_floor)), "left"))
        hi = int(np.searchsorted(lts, now_ms, "right"))
        out_t, out_a, out_i = [], [], []
        got = 0
        chunk = max(limit * 4, 1024)
        while pos < hi and got < limit:
            e = min(hi, pos + chunk)
            t, a, i = lts[pos:e], lact[pos:e], lidx[pos:e]
            keep = np.where(a == ACTION_DELETE, t >= del_floor, t >= upd_floor)
            t, a, i = t[keep], a[keep], i[keep]
            take = min(limit - got, len(t))
            out_t.append(t[:take])
            out_a.append(a[:take])
            out_i.append(i[:take])
            got += take
            pos = e
            chunk *= 2
        if not out_t:
            z = np.empty(0, np.int64)
            return z, np.empty(0, np.int8), z, False
        return np.concatenate(out_t), np.concatenate(out_a), np.concatenate(out_i), got >= limit

    def omitted_from_changes(self, idx: np.ndarray) -> np.ndarray:
        """Deterministic mask of assets left out of a changes response's ``assets`` dict
        (a function of seed, index and version). Only live assets are ever left out: the
        client fetches those with asset/get, which cannot return deleted ones."""
        p = self.changes_assets_omit_prob
        if p <= 0 or not len(idx):
            return np.zeros(len(idx), dtype=bool)
        idx = np.asarray(idx, dtype=np.int64)
        v = self.version[idx].astype(np.uint64)
        h = mix(idx.astype(np.uint64) * U(GOLD) ^ U(self._k_omit) ^ (v << U(40)))
        return ((h % U(1_000_000)) < U(int(p * 1_000_000))) & (self.deleted_ms[idx] == 0)
