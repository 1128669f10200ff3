"""The world's state: per-asset mutable numpy arrays, build from the seed, the derived cache.

Per asset only ``created_ms, lastmod_ms, deleted_ms (0 = live), autoexpire_ms (0 = never),
version, flags`` are stored; everything else is derived (see the package docstring). The
change log (``_log_ts``, ``_log_act``, ``_log_idx``) is kept in ts order by ``churn.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..clock import SimClock
from .knobs import KNOBS, check_knobs
from .mixing import GOLD, U, mix, salt_of
from .words import SERIES

# change-log actions; a create is served as "update" unless the world's create_action is on
ACTION_UPDATE = 0
ACTION_DELETE = 1
ACTION_CREATE = 2
ACTION_NAMES = ("update", "delete", "create")

FLAG_MALFORMED = 1

DAY_MS = 86_400_000


class _Grow:
    """A growable 1-D numpy array (capacity doubling)."""

    __slots__ = ("buf", "n")

    def __init__(self, init: np.ndarray) -> None:
        self.buf = init
        self.n = len(init)

    @property
    def a(self) -> np.ndarray:
        return self.buf[: self.n]

    def extend(self, values: np.ndarray) -> None:
        k = len(values)
        if self.n + k > len(self.buf):
            cap = max(self.n + k, 2 * len(self.buf), 1024)
            nb = np.zeros(cap, dtype=self.buf.dtype)
            nb[: self.n] = self.buf[: self.n]
            self.buf = nb
        self.buf[self.n : self.n + k] = values
        self.n += k


class WorldCore:
    """Construction, state arrays and the derived cache (World mixes in the rest)."""

    def __init__(
        self,
        seed: int = 0,
        n_assets: int = 1000,
        *,
        epoch_ms: int | None = None,
        clock: SimClock | None = None,
        **knobs: Any,
    ) -> None:
        """``knobs``: the settings of knobs.py (defaults there); ValueError names a bad one."""
        self.seed = int(seed)
        self.n_initial = int(n_assets)
        self.clock = clock or SimClock()
        self.epoch_ms = int(epoch_ms) if epoch_ms is not None else self.clock.now_ms()
        self.delete_window_s: float
        self.update_window_s: float
        self.changes_page_size: int
        self.changes_assets_omit_prob: float
        self.malformed_fraction: float
        self.uplynk_clock_offset_s: float
        self.cap_changes_per_ms: bool
        self.get_unknown: str
        self.create_action: bool
        self.numbers_as_strings: float
        values = {name: default for name, (default, _, _) in KNOBS.items()}
        values.update(check_knobs(knobs))
        for name, value in values.items():
            setattr(self, name, value)
        self.bursts: list[dict[str, int]] = []  # ground truth of every burst() (see churn.py)
        self.lock = threading.RLock()
        self.mutations = 0  # bumped on every change; invalidates cached orderings
        self.advances = 0
        # called with each advance/burst as a replayable op (sandbox/persist.py's journal)
        self.on_churn: Callable[[dict[str, Any]], None] | None = None

        s = self.seed
        self._k_static = salt_of(s, "static")
        self._k_ver = salt_of(s, "version")
        self._k_id = salt_of(s, "id")
        self._k_chk = salt_of(s, "check")
        self._k_omit = salt_of(s, "omit")
        self._k_mal = salt_of(s, "malformed")
        self._k_time = salt_of(s, "time")
        self._k_ibm = salt_of(s, "ibm")
        self._k_valt = salt_of(s, "valt")
        self._k_iris = salt_of(s, "iris")
        self._k_str = salt_of(s, "strings")
        self.ext_offset = 100_000 + salt_of(s, "ext") % 900_000
        # vendor-only catalogue sizes, fixed at build
        self.ibm_only_count = self.n_initial * 5 // 100
        self.valt_only_count = self.n_initial * 3 // 100
        self.iris_only_count = self.n_initial * 5 // 100

        self._build()
        self._order_cache: dict[tuple[str, str], tuple[int, np.ndarray]] = {}

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Change live-settable knobs (knobs.LIVE_KNOBS) on this world; returns them checked.
        Lowering ``changes_page_size`` does not re-space change-log entries already logged."""
        values = check_knobs(knobs, live=True)
        with self.lock:
            for name, value in values.items():
                setattr(self, name, value)
            self.mutations += 1
        return values

    # ------------------------------------------------------------------ build

    def _build(self) -> None:
        n = self.n_initial
        idx = np.arange(n, dtype=np.uint64)
        ht = mix(idx * U(GOLD) ^ U(self._k_time))
        ht2 = mix(ht ^ U(GOLD))
        e = self.epoch_ms
        span = 730 * DAY_MS
        age = (ht % U(span - 3_600_000)).astype(np.int64) + 3_600_000
        created = e - age
        # half never modified; the rest modified at a time skewed towards the epoch
        frac = ((ht2 >> U(11)).astype(np.float64) / float(1 << 53)) ** 4
        modified = (ht2 & U(1)) == 1
        lastmod = np.where(modified, e - (age * frac).astype(np.int64) - 1, created)
        lastmod = np.maximum(lastmod, created)
        version = np.where(modified, 1 + ((ht2 >> U(1)) % U(3)).astype(np.int32), 0).astype(
            np.int32
        )
        # autoexpire: 0 for ~85%, else from 5 days before the epoch to 60 days after
        ax_sel = ((ht >> U(40)) % U(100)) < U(15)
        ax_off = ((ht2 >> U(20)) % U(65 * DAY_MS)).astype(np.int64) - 5 * DAY_MS
        autoexpire = np.where(ax_sel, e + ax_off, 0).astype(np.int64)
        deleted = np.zeros(n, dtype=np.int64)
        expired = ax_sel & (autoexpire <= e)
        deleted[expired] = autoexpire[expired]
        # ~1% deleted by hand within the last 24 h (some inside, some outside the delete window)
        hand = (~expired) & (((ht >> U(50)) % U(100)) == U(7))
        deleted[hand] = e - ((ht2[hand] >> U(30)) % U(DAY_MS)).astype(np.int64) - 1
        gone = deleted > 0
        created = np.where(gone, np.minimum(created, deleted - 2), created)
        lastmod = np.where(gone, np.clip(lastmod, created, deleted - 1), lastmod)

        flags = np.zeros(n, dtype=np.uint8)
        flags |= self._malformed_mask(idx).astype(np.uint8) * FLAG_MALFORMED

        self._created = _Grow(created.astype(np.int64))
        self._lastmod = _Grow(lastmod.astype(np.int64))
        self._deleted = _Grow(deleted)
        self._autoexpire = _Grow(autoexpire)
        self._version = _Grow(version)
        self._flags = _Grow(flags)

        # change log: one update (or create) at lastmod per asset, one delete per deleted asset
        d_idx = np.nonzero(gone)[0]
        ts = np.concatenate([lastmod, deleted[d_idx]])
        # (an asset never modified since it was created logs its creation)
        first = np.where(version == 0, ACTION_CREATE, ACTION_UPDATE).astype(np.int8)
        act = np.concatenate([first, np.full(len(d_idx), ACTION_DELETE, dtype=np.int8)])
        li = np.concatenate([np.arange(n, dtype=np.int64), d_idx.astype(np.int64)])
        ts, act, li = self._cap_per_ms(ts, act, li)
        self._log_ts = _Grow(ts)
        self._log_act = _Grow(act)
        self._log_idx = _Grow(li)

        # pending autoexpiries (after the epoch), sorted by time
        pend = np.nonzero(ax_sel & ~expired & ~gone)[0]
        o = np.argsort(autoexpire[pend], kind="stable")
        self._ax_idx = pend[o].astype(np.int64)
        self._ax_ts = autoexpire[pend][o]
        self._ax_pos = 0
        self.settled_ms = e
        # created order (stable by index); creates append in time order so it stays sorted
        self._by_created = _Grow(np.argsort(created, kind="stable").astype(np.int64))
        self._extend_derived(np.arange(n, dtype=np.int64))

    def _malformed_mask(self, idx: np.ndarray) -> np.ndarray:
        if self.malformed_fraction <= 0:
            return np.zeros(len(idx), dtype=bool)
        h = mix(np.asarray(idx, dtype=np.uint64) ^ U(self._k_mal))
        thr = int(min(self.malformed_fraction, 1.0) * 1_000_000)
        return (h % U(1_000_000)) < U(thr)

    # ------------------------------------------------------------------ derived-field cache
    # A cache of fields derived from (seed, index) and (seed, index, version), ~30 bytes per
    # asset, so the asset/list hot path is table lookups instead of per-page bit mixing. It is
    # a pure function of the mutable arrays: rebuilt on creates, refreshed on updates.

    def _derive_static(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        idx = np.asarray(idx, dtype=np.int64)
        u = idx.astype(np.uint64)
        hs = self._static_hash(idx)
        pair = np.empty((len(idx), 2), dtype=">u8")
        pair[:, 0] = mix(u + U(self._k_id))
        pair[:, 1] = mix(u ^ U(self._k_chk))
        ep = (hs % U(len(SERIES))) * U(216) + ((hs >> U(8)) % U(9)) * U(24) + (hs >> U(12)) % U(24)
        dur_ms = 15_000 + ((hs >> U(20)) % U(7_185_000)).astype(np.int64)
        frac = U(100_000_000) * (U(1) + dur_ms.astype(np.uint64) % U(9)) + (hs >> U(34)) % U(
            100_000_000
        )
        misc = (
            ((hs >> U(36)) % U(5))
            | (((hs >> U(47)) & U(1)) << U(3))
            | ((((hs >> U(40)) % U(100)) < U(5)).astype(np.uint64) << U(4))
            | ((((hs >> U(52)) % U(4)) != U(0)).astype(np.uint64) << U(5))
            | ((((hs >> U(56)) % U(4)) == U(0)).astype(np.uint64) << U(6))
            | ((((hs >> U(48)) % U(100)) >= U(3)).astype(np.uint64) << U(7))
        )
        return {
            "id_hi": pair[:, 0].astype(np.uint64),
            "id_lo": pair[:, 1].astype(np.uint64),
            "ep": ep.astype(np.uint16),
            "whole": (dur_ms // 1000).astype(np.uint16),
            "frac": frac.astype(np.uint32),
            "slices": (dur_ms // 4000 + 1).astype(np.uint16),
            "misc": misc.astype(np.uint8),
        }

    def _derive_version(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        _, hv, _, sx, rg = self._title_codes(idx)
        return {
            "sx": sx.astype(np.uint16),
            "rg": rg.astype(np.uint8),
            "st": ((hv >> U(16)) % U(1000)).astype(np.uint16),
        }

    # Column layout of the packed derived cache (one int32 row per asset, one fancy index and
    # one tolist() per page).
    _DCOLS = ("ep", "sx", "rg", "st", "whole", "frac", "slices", "misc")

    def _extend_derived(self, idx: np.ndarray) -> None:
        d = {**self._derive_static(idx), **self._derive_version(idx)}
        pair = np.empty((len(idx), 2), dtype=">u8")
        pair[:, 0] = d["id_hi"]
        pair[:, 1] = d["id_lo"]
        rows = np.empty((len(idx), len(self._DCOLS)), dtype=np.int32)
        for k, c in enumerate(self._DCOLS):
            rows[:, k] = d[c]
        if not hasattr(self, "_D"):
            self._D = rows
            self._P = pair
        else:
            self._D = np.concatenate([self._D, rows])
            self._P = np.concatenate([self._P, pair]).astype(">u8", copy=False)

    def _refresh_version_derived(self, idx: np.ndarray) -> None:
        d = self._derive_version(idx)
        for c in ("sx", "rg", "st"):
            self._D[idx, self._DCOLS.index(c)] = d[c]

    # ------------------------------------------------------------------ sizes and arrays

    @property
    def max_changes_per_ms(self) -> int:
        """Most change-log entries one millisecond may hold: ``changes_page_size - 1``."""
        return max(1, self.changes_page_size - 1)

    @property
    def n(self) -> int:
        """Number of canonical assets ever created (live and deleted)."""
        return self._created.n

    @property
    def created_ms(self) -> np.ndarray:
        return self._created.a

    @property
    def lastmod_ms(self) -> np.ndarray:
        return self._lastmod.a

    @property
    def deleted_ms(self) -> np.ndarray:
        return self._deleted.a

    @property
    def autoexpire_ms(self) -> np.ndarray:
        return self._autoexpire.a

    @property
    def version(self) -> np.ndarray:
        return self._version.a

    @property
    def flags(self) -> np.ndarray:
        return self._flags.a

    def live_count(self) -> int:
        return int(np.count_nonzero(self.deleted_ms == 0))

    def is_malformed(self, i: int) -> bool:
        return bool(self.flags[i] & FLAG_MALFORMED)

    def log_len(self) -> int:
        return self._log_ts.n

    def _static_hash(self, idx: np.ndarray, salt: int | None = None) -> np.ndarray:
        x = np.asarray(idx, dtype=np.uint64) * U(GOLD) ^ U(self._k_static)
        h = mix(x)
        if salt is not None:
            h = mix(h ^ U(salt))
        return h
