"""Churn: the simulated clock moving; creates, updates, deletes and autoexpiries applied to the
state arrays and appended to the change log (ts_ms, action, index), always in ts order.

Ordinary churn (``advance``, ``settle``) never puts more than ``changes_page_size - 1``
entries in one millisecond while ``cap_changes_per_ms`` is on (the default): bursts are
capped so a changes page that starts at a millisecond always reaches past it. Lowering
``changes_page_size`` later (POST /_control/config) does not re-space entries already logged.
:meth:`Churn.burst` is the exception on purpose: N deletes and/or updates at ONE millisecond,
never capped, as a vendor's bulk delete does; each burst is recorded in ``self.bursts``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import ACTION_CREATE, ACTION_DELETE, ACTION_UPDATE, DAY_MS, FLAG_MALFORMED
from .mixing import GOLD, U, mix

# what advance() applies, per change (carried through the sort)
_CREATE, _UPDATE, _DELETE, _AUTOEXPIRE = 0, 1, 2, 3


class Churn:
    """Mixed into World: settle, advance, burst and the bookkeeping they share."""

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def settle(self, now_ms: int | None = None) -> int:
        """Apply autoexpire deletions due up to ``now_ms`` (default: the simulated now).
        Returns the number of assets deleted. Call before serving any data."""
        now = self.now_ms() if now_ms is None else int(now_ms)
        with self.lock:
            if now <= self.settled_ms:
                return 0
            sel_i, sel_t = self._take_autoexpiries(now)
            k = 0
            if len(sel_i):
                ts, act, li = self._cap_per_ms(
                    sel_t.copy(), np.full(len(sel_i), ACTION_DELETE, np.int8), sel_i.copy()
                )
                self.deleted_ms[li] = ts
                self._append_log(ts, act, li)
                k = len(li)
            self.settled_ms = now
            return k

    def _take_autoexpiries(self, until_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """Pending autoexpiries due up to ``until_ms`` (index, ts) of still-live assets;
        consumed from the pending list."""
        end = int(np.searchsorted(self._ax_ts, until_ms, side="right"))
        ax_i = self._ax_idx[self._ax_pos : end]
        ax_t = self._ax_ts[self._ax_pos : end]
        keep = self.deleted_ms[ax_i] == 0
        self._ax_pos = max(self._ax_pos, end)
        return ax_i[keep], ax_t[keep]

    def _append_log(self, ts: np.ndarray, act: np.ndarray, idx: np.ndarray) -> None:
        if not len(ts):
            return
        self._log_ts.extend(ts.astype(np.int64))
        self._log_act.extend(act.astype(np.int8))
        self._log_idx.extend(idx.astype(np.int64))
        self.mutations += 1

    def advance(
        self,
        seconds: float,
        creates: int = 0,
        updates: int = 0,
        deletes: int = 0,
        burst: int = 0,
    ) -> dict[str, Any]:
        """Move the simulated clock forward by ``seconds`` and apply churn at timestamps
        spread over the interval. ``burst=K`` makes K of the changes (adding updates if there
        are fewer) share one exact millisecond (capped at ``changes_page_size - 1`` while
        ``cap_changes_per_ms``). Assets whose autoexpire falls in the interval are deleted at
        that time. Returns a summary (``from_ms``/``to_ms`` on the simulated clock,
        ``uplynk_from_ms``/``uplynk_to_ms`` on the Uplynk feed's clock)."""
        with self.lock:
            self.settle()
            t0 = self.settled_ms
            op = {"op": "advance", "at_ms": t0, "seconds": seconds, "creates": creates,
                  "updates": updates, "deletes": deletes, "burst": burst}  # fmt: skip
            span = max(1, int(round(float(seconds) * 1000)))
            rng = np.random.default_rng([self.seed, self.advances, 0xAD])
            self.advances += 1
            burst = max(0, int(burst))
            if self.cap_changes_per_ms:
                burst = min(burst, self.max_changes_per_ms)
            creates, updates, deletes = int(creates), int(updates), int(deletes)
            if burst > creates + updates + deletes:
                updates += burst - (creates + updates + deletes)
            ax_i, ax_t = self._take_autoexpiries(t0 + span)
            del_i, upd_i = self._pick_churn(rng, ax_i, deletes, updates)
            deletes, updates = len(del_i), len(upd_i)
            new_i = np.arange(self.n, self.n + creates, dtype=np.int64)

            k = creates + updates + deletes
            ts = t0 + 1 + rng.integers(0, span, size=k).astype(np.int64)
            if burst:
                tb = t0 + 1 + int(rng.integers(0, span))
                pos = rng.choice(k, size=min(burst, k), replace=False)
                ts[pos] = tb
            ts = np.concatenate([ts, ax_t.astype(np.int64)])
            li = np.concatenate([new_i, upd_i, del_i, ax_i]).astype(np.int64)
            counts = (creates, updates, deletes, len(ax_i))
            kind = np.repeat(np.array([_CREATE, _UPDATE, _DELETE, _AUTOEXPIRE], np.int8), counts)
            act = np.array([ACTION_CREATE, ACTION_UPDATE, ACTION_DELETE, ACTION_DELETE], np.int8)
            # sort + cap per ms, carrying `kind` along through the index
            order_key = np.arange(len(ts), dtype=np.int64)
            ts, _, order_key = self._cap_per_ms(ts, act[kind], order_key)
            li, kind = li[order_key], kind[order_key]
            if creates:
                self._apply_creates(li[kind == _CREATE], ts[kind == _CREATE])
            self._apply_updates(li[kind == _UPDATE], ts[kind == _UPDATE])
            dmask = kind >= _DELETE
            self.deleted_ms[li[dmask]] = ts[dmask]
            self._append_log(ts, act[kind], li)

            t1 = max(t0 + span, int(ts[-1]) if len(ts) else t0)
            self.clock.advance(t1 - t0)
            self.settled_ms = t1
            self.mutations += 1
            if self.on_churn is not None:
                self.on_churn(op)
            off = self.uplynk_offset_ms
            return {
                "from_ms": t0,
                "to_ms": t1,
                "uplynk_from_ms": t0 + off,
                "uplynk_to_ms": t1 + off,
                "created": int(creates),
                "updated": int(updates),
                "deleted": int(deletes),
                "autoexpired": int(len(ax_i)),
                "burst": burst,
                "changes": int(len(ts)),
                "created_ids": [self.uplynk_id(int(i)) for i in new_i[:1000]],
                "assets": self.n,
                "live": self.live_count(),
            }

    def _pick_churn(
        self, rng: np.random.Generator, ax_i: np.ndarray, deletes: int, updates: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(assets to delete, assets to update): live ones not autoexpiring now; deletes are
        distinct, updates drawn with replacement from what is left."""
        live = self.deleted_ms == 0
        live[ax_i] = False
        cand = np.nonzero(live)[0]
        deletes = min(deletes, len(cand))
        del_i = rng.choice(cand, size=deletes, replace=False) if deletes else np.empty(0, np.int64)
        if updates and len(cand) > deletes:
            live[del_i] = False
            cand2 = np.nonzero(live)[0]
            upd_i = cand2[rng.integers(0, len(cand2), size=updates)]
        else:
            upd_i = np.empty(0, np.int64)
        return del_i.astype(np.int64), upd_i.astype(np.int64)

    def _apply_creates(self, c_idx: np.ndarray, c_ts: np.ndarray) -> None:
        """Grow the arrays by new assets ``c_idx`` (consecutive new indices) created at
        ``c_ts``; their created order follows every existing asset's."""
        o = np.argsort(c_idx)
        c_created = c_ts[o]
        hc = mix(c_idx[o].astype(np.uint64) * U(GOLD) ^ U(self._k_time))
        ax_sel = ((hc >> U(40)) % U(100)) < U(15)
        ax_val = np.where(
            ax_sel,
            c_created + 3_600_000 + ((hc >> U(20)) % U(60 * DAY_MS)).astype(np.int64),
            0,
        )
        self._created.extend(c_created)
        self._lastmod.extend(c_created)
        self._deleted.extend(np.zeros(len(c_idx), np.int64))
        self._autoexpire.extend(ax_val.astype(np.int64))
        self._version.extend(np.zeros(len(c_idx), np.int32))
        self._flags.extend(self._malformed_mask(c_idx[o]).astype(np.uint8) * FLAG_MALFORMED)
        # new assets are created after every existing one, but may tie among themselves
        self._by_created.extend(c_idx[np.lexsort((c_idx, c_ts))])
        self._extend_derived(c_idx[o])
        nax = np.nonzero(ax_sel)[0]
        if len(nax):
            rest_i = np.concatenate([self._ax_idx[self._ax_pos :], c_idx[o][nax]])
            rest_t = np.concatenate([self._ax_ts[self._ax_pos :], ax_val[nax]])
            oo = np.argsort(rest_t, kind="stable")
            self._ax_idx, self._ax_ts, self._ax_pos = rest_i[oo], rest_t[oo], 0

    def _apply_updates(self, u_idx: np.ndarray, u_ts: np.ndarray) -> None:
        """Each update bumps its asset's version (new title, meta, state) and lastmod."""
        if not len(u_idx):
            return
        np.add.at(self.version, u_idx, 1)
        np.maximum.at(self.lastmod_ms, u_idx, u_ts)
        self._refresh_version_derived(np.unique(u_idx))

    def burst(self, deletes: int = 0, updates: int = 0) -> dict[str, Any]:
        """A vendor-side bulk operation: ``deletes`` distinct live assets deleted and
        ``updates`` distinct other live assets updated, all at ONE millisecond (never capped,
        whatever ``cap_changes_per_ms`` says), at the simulated now or just after the last
        logged change, so that millisecond holds the burst's changes only. Recorded in
        ``self.bursts``; returns the ids touched and the burst's ms on both clocks."""
        with self.lock:
            now0 = self.now_ms()
            op = {"op": "burst", "at_ms": now0, "deletes": deletes, "updates": updates}
            t = max(now0, int(self._log_ts.a[-1]) + 1 if self._log_ts.n else 0)
            while True:  # autoexpiries due by t go first; t must stay the burst's own ms
                self.settle(t)
                if not self._log_ts.n or int(self._log_ts.a[-1]) < t:
                    break
                t = int(self._log_ts.a[-1]) + 1
            rng = np.random.default_rng([self.seed, self.advances, 0xB5])
            self.advances += 1
            cand = np.nonzero(self.deleted_ms == 0)[0]
            pick = rng.permutation(cand)
            del_i = np.sort(pick[: max(0, min(int(deletes), len(pick)))])
            upd_i = np.sort(pick[len(del_i) : len(del_i) + max(0, int(updates))])
            self._apply_updates(upd_i, np.full(len(upd_i), t, np.int64))
            self.deleted_ms[del_i] = t
            li = np.concatenate([upd_i, del_i]).astype(np.int64)
            act = np.repeat(
                np.array([ACTION_UPDATE, ACTION_DELETE], np.int8), (len(upd_i), len(del_i))
            )
            self._append_log(np.full(len(li), t, np.int64), act, li)
            now = self.now_ms()
            if now < t:
                self.clock.advance(t - now)
            self.settled_ms = max(self.settled_ms, t)
            self.mutations += 1
            rec = {"ts_ms": t, "deletes": len(del_i), "updates": len(upd_i)}
            self.bursts.append(rec)
            if self.on_churn is not None:
                self.on_churn(op)
            return {
                **rec,
                "uplynk_ts_ms": t + self.uplynk_offset_ms,
                "changes": len(li),
                "deleted_ids": self.uplynk_ids(del_i),
                "updated_ids": self.uplynk_ids(upd_i),
                "live": self.live_count(),
            }

    def _cap_per_ms(
        self, ts: np.ndarray, act: np.ndarray, idx: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sort events by ts (stable) and push any beyond ``changes_page_size - 1`` in one ms
        to the following ms. A page that starts at a millisecond must hold all of that ms's
        changes plus at least one more, or a client paging with start=end would never move on.
        With ``cap_changes_per_ms`` off: only the sort."""
        if not self.cap_changes_per_ms:
            o = np.argsort(ts, kind="stable")
            return ts[o], act[o], idx[o]
        cap = self.max_changes_per_ms
        for _ in range(10_000):
            o = np.argsort(ts, kind="stable")
            ts, act, idx = ts[o], act[o], idx[o]
            if len(ts) <= cap:
                break
            starts = np.r_[True, ts[1:] != ts[:-1]]
            grp = np.cumsum(starts) - 1
            first = np.nonzero(starts)[0]
            rank = np.arange(len(ts)) - first[grp]
            over = rank >= cap
            if not over.any():
                break
            ts = ts.copy()
            ts[over] += 1
        return ts, act, idx
