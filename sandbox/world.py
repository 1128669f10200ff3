"""The generated world: one catalog of canonical assets shared by the four vendor emulations.

Deterministic from ``(seed, n_assets)`` (and ``epoch_ms``, the simulated "now" the world was
built at: every initial timestamp is ``epoch_ms`` plus a seed-derived offset, so pass the same
``epoch_ms`` to get byte-identical output). Built to scale to millions of assets: the only
per-asset state kept is a handful of numpy arrays of *mutable* state

    created_ms, lastmod_ms, deleted_ms (0 = live), autoexpire_ms (0 = never), version, flags

and every other field (ids, titles, durations, meta, urls, state, per-vendor membership and
ids) is *derived* on demand from ``(seed, index, version)`` with 64-bit bit mixing (the
splitmix64 finalizer, which is invertible, so ids decode back to indices in O(1)).

Canonical index ``i`` in ``[0, n)``. Vendor views:

* Uplynk: every canonical asset. ``uplynk_id(i)`` is 32 hex: the first 16 are an invertible
  scramble of ``i``, the last 16 a seed-derived check, so ``uplynk_index(id)`` validates.
  ``external_id`` is ``EXT-<i + offset, 7+ digits>`` (reversible) for ~97% of assets, ``""``
  for the rest.
* IBM (~40% of canonical assets, plus IBM-only videos): ``ibm_*`` functions.
* VALT (~15%, plus VALT-only recordings): ``valt_*``.
* IRIS (~60%, plus IRIS-only assets): ``iris_*``.

Extension points for vendor modules are the ``ibm_*``, ``valt_*`` and ``iris_*`` functions
and :meth:`World.truth`; add fields there (derive them from ``_static_hash`` with a new salt)
rather than storing new per-asset state.

Churn: :meth:`World.advance` moves the simulated clock and applies creates, updates and
deletes at timestamps spread over the interval; autoexpire deletions happen at their exact
time (lazily, :meth:`World.settle`, as the real clock passes them, or inside ``advance``).
Every change is appended to a compact change log (ts_ms, action, index), always in ts order,
never more than ``changes_page_size - 1`` entries in one millisecond (bursts are capped so
a changes page that starts at a millisecond always reaches past it). Lowering
``changes_page_size`` later (POST /_control/config) does not re-space entries already logged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from .clock import SimClock

# ---------------------------------------------------------------------------- bit mixing

M64 = (1 << 64) - 1
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_INV1 = pow(_C1, -1, 1 << 64)
_INV2 = pow(_C2, -1, 1 << 64)
_GOLD = 0x9E3779B97F4A7C15
_U = np.uint64


def mix_int(x: int) -> int:
    """splitmix64 finalizer on a Python int (bijective on 64 bits)."""
    x &= M64
    x ^= x >> 30
    x = (x * _C1) & M64
    x ^= x >> 27
    x = (x * _C2) & M64
    x ^= x >> 31
    return x


def unmix_int(x: int) -> int:
    """Inverse of :func:`mix_int`."""
    x &= M64
    x ^= (x >> 31) ^ (x >> 62)
    x = (x * _INV2) & M64
    x ^= (x >> 27) ^ (x >> 54)
    x = (x * _INV1) & M64
    x ^= (x >> 30) ^ (x >> 60)
    return x


def mix(x: np.ndarray) -> np.ndarray:
    """Vectorized splitmix64 finalizer over a uint64 array (returns a new array)."""
    x = np.asarray(x, dtype=np.uint64).copy()
    x ^= x >> _U(30)
    x *= _U(_C1)
    x ^= x >> _U(27)
    x *= _U(_C2)
    x ^= x >> _U(31)
    return x


def _salt(seed: int, name: str) -> int:
    h = 0
    for ch in name.encode():
        h = mix_int(h * 131 + ch)
    return mix_int(seed * _GOLD + h)


# ---------------------------------------------------------------------------- word tables
# ASCII only, no quotes or backslashes: titles are inserted into JSON templates unescaped.

SERIES = sorted(
    [
        "Blue Harbor",
        "City Lights",
        "Desert Run",
        "Echo Valley",
        "Field Notes",
        "Fire Watch",
        "Glass House",
        "Golden Hour",
        "Green Line",
        "High Tide",
        "Iron Bridge",
        "Lake Effect",
        "Late Shift",
        "Lost Coast",
        "Midnight Diner",
        "North Star",
        "Open Road",
        "Paper Moon",
        "Quiet Storm",
        "Red Canyon",
        "River Town",
        "Salt Flats",
        "Second Act",
        "Silver Screen",
        "Sky Garden",
        "Small Hours",
        "Stone Circle",
        "Summer Camp",
        "Tall Grass",
        "The Archive",
        "The Crossing",
        "The Kitchen",
        "The Newsroom",
        "The Pitch",
        "Third Rail",
        "Tide Pool",
        "Union Square",
        "Urban Trail",
        "Velvet Room",
        "West Wind",
        "Wild Card",
        "Winter Games",
        "Wooden Boat",
        "Yellow Door",
        "Zero Hour",
        "Morning Brief",
        "Game Day",
        "Local Heroes",
    ]
)
ADJ = sorted(
    [
        "Ancient",
        "Bold",
        "Bright",
        "Broken",
        "Calm",
        "Crimson",
        "Dark",
        "Distant",
        "Early",
        "Empty",
        "Endless",
        "Fallen",
        "Final",
        "First",
        "Frozen",
        "Gentle",
        "Hidden",
        "Hollow",
        "Honest",
        "Last",
        "Little",
        "Lonely",
        "Lost",
        "Loud",
        "Lucky",
        "Modern",
        "Narrow",
        "Northern",
        "Old",
        "Open",
        "Perfect",
        "Quiet",
        "Rapid",
        "Restless",
        "Secret",
        "Silent",
        "Simple",
        "Slow",
        "Small",
        "Southern",
        "Strange",
        "Sudden",
        "Sweet",
        "Tall",
        "Tender",
        "Twin",
        "Urban",
        "Violet",
        "Wandering",
        "Warm",
        "Wild",
        "Winding",
        "Young",
        "Golden",
        "Electric",
        "Burning",
        "Hungry",
        "Painted",
        "Rising",
        "Shining",
        "Sleeping",
        "Steady",
        "Stolen",
        "Tired",
    ]
)
NOUN = sorted(
    [
        "Answer",
        "Bridge",
        "Canyon",
        "City",
        "Coast",
        "Crown",
        "Dance",
        "Dawn",
        "Door",
        "Dream",
        "Echo",
        "Engine",
        "Field",
        "Fire",
        "Forest",
        "Friend",
        "Garden",
        "Ghost",
        "Harbor",
        "Heart",
        "Hill",
        "Island",
        "Journey",
        "Kingdom",
        "Lake",
        "Letter",
        "Light",
        "Machine",
        "Market",
        "Memory",
        "Mirror",
        "Mountain",
        "Night",
        "Ocean",
        "Orchard",
        "Promise",
        "Question",
        "Rain",
        "River",
        "Road",
        "Room",
        "Secret",
        "Shadow",
        "Signal",
        "Song",
        "Storm",
        "Story",
        "Stranger",
        "Street",
        "Summer",
        "Sun",
        "Tower",
        "Town",
        "Train",
        "Valley",
        "Voice",
        "Wall",
        "Water",
        "Wave",
        "Window",
        "Winter",
        "Wolf",
        "World",
        "Year",
    ]
)
RATINGS = ["G", "PG", "PG-13", "TV-14", "TV-G", "TV-MA"]
GENRES = [
    "comedy",
    "documentary",
    "drama",
    "family",
    "kids",
    "lifestyle",
    "music",
    "news",
    "reality",
    "sports",
    "thriller",
    "travel",
]
_SERIES_SLUG = [s.lower().replace(" ", "_") for s in SERIES]
# Precomputed string tables for the hot path (episode code = series*216 + season*24 + episode).
_EP_TITLE = [f"{s} S{a + 1:02d}E{b + 1:02d}" for s in SERIES for a in range(9) for b in range(24)]
_ORIG = [
    f'"{s}_s{a + 1:02d}e{b + 1:02d}.mov"' for s in _SERIES_SLUG for a in range(9) for b in range(24)
]
_META_EP = [
    f'"series":"{s}","season":"{a + 1}","episode":"{b + 1}"'
    for s in SERIES
    for a in range(9)
    for b in range(24)
]
_SUFFIX = [f" - {a} {n}" for a in ADJ for n in NOUN]
_META_RG = [f'"rating":"{r}","genre":"{g}"' for r in RATINGS for g in GENRES]
_STATE = ["failed"] * 10 + ["slicing"] * 20 + ["ready"] * 970
_ORIG2 = [x for o in _ORIG for x in ("null", o)]
# bits 0-2: rays-4, bit 3: require_drm, bit 4: live job
_HEAD = [
    f'{{"rays":{4 + (m & 7)},"require_drm":{(m >> 3) & 1},"require_studio_drm":0,'
    f'"job_type":"{"live" if m & 16 else "vod"}","libraries":[],'
    for m in range(32)
]
_BREAK = [
    f'[{{"break_type":"AD BREAK","duration":30.0,"offset":{k * 0.5 + 7.25!r}}}]'
    for k in range(1000)
]

IBM_CHANNEL_IDS = ["23481001", "23481002", "23481003", "23481004"]

ACTION_UPDATE = 0
ACTION_DELETE = 1
ACTION_NAMES = ("update", "delete")

FLAG_MALFORMED = 1

DAY_MS = 86_400_000
MALFORMED_KINDS = ("duration_not_a_number", "created_negative", "missing_id", "meta_not_a_dict")

_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_EXT_RE = re.compile(r"^EXT-(\d{7,})$")


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


class World:
    """The generated world. See the module docstring."""

    def __init__(
        self,
        seed: int = 0,
        n_assets: int = 1000,
        *,
        epoch_ms: int | None = None,
        clock: SimClock | None = None,
        delete_window_s: float = 6 * 3600,
        update_window_s: float = 7 * 86400,
        changes_page_size: int = 500,
        changes_assets_omit_prob: float = 0.02,
        malformed_fraction: float = 0.0,
    ) -> None:
        self.seed = int(seed)
        self.n_initial = int(n_assets)
        self.clock = clock or SimClock()
        self.epoch_ms = int(epoch_ms) if epoch_ms is not None else self.clock.now_ms()
        self.delete_window_s = float(delete_window_s)
        self.update_window_s = float(update_window_s)
        self.changes_page_size = int(changes_page_size)
        self.changes_assets_omit_prob = float(changes_assets_omit_prob)
        self.malformed_fraction = float(malformed_fraction)
        self.lock = threading.RLock()
        self.mutations = 0  # bumped on every change; invalidates cached orderings
        self.advances = 0

        s = self.seed
        self._k_static = _salt(s, "static")
        self._k_ver = _salt(s, "version")
        self._k_id = _salt(s, "id")
        self._k_chk = _salt(s, "check")
        self._k_omit = _salt(s, "omit")
        self._k_mal = _salt(s, "malformed")
        self._k_time = _salt(s, "time")
        self._k_ibm = _salt(s, "ibm")
        self._k_valt = _salt(s, "valt")
        self._k_iris = _salt(s, "iris")
        self.ext_offset = 100_000 + _salt(s, "ext") % 900_000
        # vendor-only catalogue sizes, fixed at build
        self.ibm_only_count = self.n_initial * 5 // 100
        self.valt_only_count = self.n_initial * 3 // 100
        self.iris_only_count = self.n_initial * 5 // 100

        self._build()
        self._order_cache: dict[tuple[str, str], tuple[int, np.ndarray]] = {}

    # ------------------------------------------------------------------ build

    def _build(self) -> None:
        n = self.n_initial
        idx = np.arange(n, dtype=np.uint64)
        ht = mix(idx * _U(_GOLD) ^ _U(self._k_time))
        ht2 = mix(ht ^ _U(_GOLD))
        e = self.epoch_ms
        span = 730 * DAY_MS
        age = (ht % _U(span - 3_600_000)).astype(np.int64) + 3_600_000
        created = e - age
        # half never modified; the rest modified at a time skewed towards the epoch
        frac = ((ht2 >> _U(11)).astype(np.float64) / float(1 << 53)) ** 4
        modified = (ht2 & _U(1)) == 1
        lastmod = np.where(modified, e - (age * frac).astype(np.int64) - 1, created)
        lastmod = np.maximum(lastmod, created)
        version = np.where(modified, 1 + ((ht2 >> _U(1)) % _U(3)).astype(np.int32), 0).astype(
            np.int32
        )
        # autoexpire: 0 for ~85%, else from 5 days before the epoch to 60 days after
        ax_sel = ((ht >> _U(40)) % _U(100)) < _U(15)
        ax_off = ((ht2 >> _U(20)) % _U(65 * DAY_MS)).astype(np.int64) - 5 * DAY_MS
        autoexpire = np.where(ax_sel, e + ax_off, 0).astype(np.int64)
        deleted = np.zeros(n, dtype=np.int64)
        expired = ax_sel & (autoexpire <= e)
        deleted[expired] = autoexpire[expired]
        # ~1% deleted by hand within the last 24 h (some inside, some outside the delete window)
        hand = (~expired) & (((ht >> _U(50)) % _U(100)) == _U(7))
        deleted[hand] = e - ((ht2[hand] >> _U(30)) % _U(DAY_MS)).astype(np.int64) - 1
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

        # change log: one update at lastmod per asset, one delete per deleted asset
        d_idx = np.nonzero(gone)[0]
        ts = np.concatenate([lastmod, deleted[d_idx]])
        act = np.concatenate(
            [np.zeros(n, dtype=np.int8), np.full(len(d_idx), ACTION_DELETE, dtype=np.int8)]
        )
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
        h = mix(np.asarray(idx, dtype=np.uint64) ^ _U(self._k_mal))
        thr = int(min(self.malformed_fraction, 1.0) * 1_000_000)
        return (h % _U(1_000_000)) < _U(thr)

    def _cap_per_ms(
        self, ts: np.ndarray, act: np.ndarray, idx: np.ndarray, floor_ms: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sort events by ts (stable) and push any beyond ``changes_page_size - 1`` in one ms
        to the following ms. A page that starts at a millisecond must hold all of that ms's
        changes plus at least one more, or a client paging with start=end would never move on."""
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

    # ------------------------------------------------------------------ derived-field cache
    # A cache of fields derived from (seed, index) and (seed, index, version), ~30 bytes per
    # asset, so the asset/list hot path is table lookups instead of per-page bit mixing. It is
    # a pure function of the mutable arrays: rebuilt on creates, refreshed on updates.

    def _derive_static(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        idx = np.asarray(idx, dtype=np.int64)
        u = idx.astype(np.uint64)
        hs = self._static_hash(idx)
        pair = np.empty((len(idx), 2), dtype=">u8")
        pair[:, 0] = mix(u + _U(self._k_id))
        pair[:, 1] = mix(u ^ _U(self._k_chk))
        ep = (
            (hs % _U(len(SERIES))) * _U(216)
            + ((hs >> _U(8)) % _U(9)) * _U(24)
            + (hs >> _U(12)) % _U(24)
        )
        dur_ms = 15_000 + ((hs >> _U(20)) % _U(7_185_000)).astype(np.int64)
        frac = _U(100_000_000) * (_U(1) + dur_ms.astype(np.uint64) % _U(9)) + (hs >> _U(34)) % _U(
            100_000_000
        )
        misc = (
            ((hs >> _U(36)) % _U(5))
            | (((hs >> _U(47)) & _U(1)) << _U(3))
            | ((((hs >> _U(40)) % _U(100)) < _U(5)).astype(np.uint64) << _U(4))
            | ((((hs >> _U(52)) % _U(4)) != _U(0)).astype(np.uint64) << _U(5))
            | ((((hs >> _U(56)) % _U(4)) == _U(0)).astype(np.uint64) << _U(6))
            | ((((hs >> _U(48)) % _U(100)) >= _U(3)).astype(np.uint64) << _U(7))
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
            "st": ((hv >> _U(16)) % _U(1000)).astype(np.uint16),
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

    # ------------------------------------------------------------------ clock and churn

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def settle(self, now_ms: int | None = None) -> int:
        """Apply autoexpire deletions due up to ``now_ms`` (default: the simulated now).
        Returns the number of assets deleted. Call before serving any data."""
        now = self.now_ms() if now_ms is None else int(now_ms)
        with self.lock:
            if now <= self.settled_ms:
                return 0
            end = int(np.searchsorted(self._ax_ts, now, side="right"))
            k = 0
            if end > self._ax_pos:
                sel_i = self._ax_idx[self._ax_pos : end]
                sel_t = self._ax_ts[self._ax_pos : end]
                live = self.deleted_ms[sel_i] == 0
                sel_i, sel_t = sel_i[live], sel_t[live]
                self._ax_pos = end
                if len(sel_i):
                    ts, act, li = self._cap_per_ms(
                        sel_t.copy(), np.full(len(sel_i), ACTION_DELETE, np.int8), sel_i.copy()
                    )
                    self.deleted_ms[li] = ts
                    self._append_log(ts, act, li)
                    k = len(li)
            self.settled_ms = now
            return k

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
        are fewer) share one exact millisecond (capped at ``changes_page_size - 1``). Assets whose
        autoexpire falls in the interval are deleted at that time. Returns a summary."""
        with self.lock:
            self.settle()
            t0 = self.settled_ms
            span = max(1, int(round(float(seconds) * 1000)))
            rng = np.random.default_rng([self.seed, self.advances, 0xAD])
            self.advances += 1
            burst = max(0, min(int(burst), self.max_changes_per_ms))
            creates, updates, deletes = int(creates), int(updates), int(deletes)
            if burst > creates + updates + deletes:
                updates += burst - (creates + updates + deletes)

            # autoexpiries due in (t0, t0 + span]
            end = int(np.searchsorted(self._ax_ts, t0 + span, side="right"))
            ax_i = self._ax_idx[self._ax_pos : end]
            ax_t = self._ax_ts[self._ax_pos : end]
            keep = self.deleted_ms[ax_i] == 0
            ax_i, ax_t = ax_i[keep], ax_t[keep]
            self._ax_pos = end

            # candidates: live and not autoexpiring in this interval
            live = self.deleted_ms == 0
            live[ax_i] = False
            cand = np.nonzero(live)[0]
            deletes = min(deletes, len(cand))
            del_i = (
                rng.choice(cand, size=deletes, replace=False) if deletes else np.empty(0, np.int64)
            )
            if updates and len(cand) > deletes:
                live[del_i] = False
                cand2 = np.nonzero(live)[0]
                upd_i = cand2[rng.integers(0, len(cand2), size=updates)]
            else:
                updates = 0
                upd_i = np.empty(0, np.int64)
            new_i = np.arange(self.n, self.n + creates, dtype=np.int64)

            k = creates + updates + deletes
            ts = t0 + 1 + rng.integers(0, span, size=k).astype(np.int64)
            if burst:
                tb = t0 + 1 + int(rng.integers(0, span))
                pos = rng.choice(k, size=burst, replace=False)
                ts[pos] = tb
            act = np.concatenate(
                [
                    np.zeros(creates + updates, np.int8),
                    np.full(deletes, ACTION_DELETE, np.int8),
                ]
            )
            li = np.concatenate([new_i, upd_i.astype(np.int64), del_i.astype(np.int64)])
            kind = np.concatenate(
                [
                    np.zeros(creates, np.int8),
                    np.ones(updates, np.int8),
                    np.full(deletes, 2, np.int8),
                ]
            )
            # autoexpire deletions (kind 3)
            ts = np.concatenate([ts, ax_t.astype(np.int64)])
            act = np.concatenate([act, np.full(len(ax_i), ACTION_DELETE, np.int8)])
            li = np.concatenate([li, ax_i.astype(np.int64)])
            kind = np.concatenate([kind, np.full(len(ax_i), 3, np.int8)])

            # sort + cap per ms, carrying `kind` along through the index
            order_key = np.arange(len(ts), dtype=np.int64)
            ts, act, order_key = self._cap_per_ms(ts, act, order_key)
            li = li[order_key]
            kind = kind[order_key]

            # creates: grow arrays (created order == ts order, appended after existing)
            if creates:
                cmask = kind == 0
                c_idx = li[cmask]
                c_ts = ts[cmask]
                o = np.argsort(c_idx)
                c_created = c_ts[o]
                hc = mix(c_idx[o].astype(np.uint64) * _U(_GOLD) ^ _U(self._k_time))
                ax_sel = ((hc >> _U(40)) % _U(100)) < _U(15)
                ax_val = np.where(
                    ax_sel,
                    c_created + 3_600_000 + ((hc >> _U(20)) % _U(60 * DAY_MS)).astype(np.int64),
                    0,
                )
                self._created.extend(c_created)
                self._lastmod.extend(c_created)
                self._deleted.extend(np.zeros(creates, np.int64))
                self._autoexpire.extend(ax_val.astype(np.int64))
                self._version.extend(np.zeros(creates, np.int32))
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
            umask = kind == 1
            if umask.any():
                np.add.at(self.version, li[umask], 1)
                np.maximum.at(self.lastmod_ms, li[umask], ts[umask])
                self._refresh_version_derived(np.unique(li[umask]))
            dmask = (kind == 2) | (kind == 3)
            if dmask.any():
                self.deleted_ms[li[dmask]] = ts[dmask]
            self._append_log(ts, act, li)

            t1 = max(t0 + span, int(ts[-1]) if len(ts) else t0)
            self.clock.advance(t1 - t0)
            self.settled_ms = t1
            self.mutations += 1
            return {
                "from_ms": t0,
                "to_ms": t1,
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

    # ------------------------------------------------------------------ change feed

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
        h = mix(idx.astype(np.uint64) * _U(_GOLD) ^ _U(self._k_omit) ^ (v << _U(40)))
        return ((h % _U(1_000_000)) < _U(int(p * 1_000_000))) & (self.deleted_ms[idx] == 0)

    # ------------------------------------------------------------------ ids

    def uplynk_id(self, i: int) -> str:
        return f"{mix_int(i + self._k_id):016x}{mix_int(i ^ self._k_chk):016x}"

    def uplynk_ids(self, idx: np.ndarray) -> list[str]:
        idx = np.asarray(idx, dtype=np.int64)
        pair = np.empty((len(idx), 2), dtype=">u8")
        if len(idx) and int(idx.max()) < len(self._P):
            pair = self._P[idx].astype(">u8", copy=False)
        else:
            u = idx.astype(np.uint64)
            pair[:, 0] = mix(u + _U(self._k_id))
            pair[:, 1] = mix(u ^ _U(self._k_chk))
        h = pair.tobytes().hex()
        return [h[k : k + 32] for k in range(0, 32 * len(idx), 32)]

    def uplynk_index(self, asset_id: Any) -> int | None:
        """Decode an Uplynk asset id to its canonical index; None when not one of ours."""
        if not isinstance(asset_id, str) or not _ID_RE.match(asset_id):
            return None
        i = (unmix_int(int(asset_id[:16], 16)) - self._k_id) & M64
        if i >= self.n or mix_int(i ^ self._k_chk) != int(asset_id[16:], 16):
            return None
        return i

    def has_external_id(self, idx: np.ndarray) -> np.ndarray:
        hs = self._static_hash(idx)
        return ((hs >> _U(48)) % _U(100)) >= _U(3)

    def external_id(self, i: int) -> str:
        if not self.has_external_id(np.array([i]))[0]:
            return ""
        return f"EXT-{i + self.ext_offset:07d}"

    def external_index(self, external_id: Any) -> int | None:
        if not isinstance(external_id, str):
            return None
        m = _EXT_RE.match(external_id)
        if not m:
            return None
        i = int(m.group(1)) - self.ext_offset
        if i < 0 or i >= self.n or not self.has_external_id(np.array([i]))[0]:
            return None
        return i

    def _static_hash(self, idx: np.ndarray, salt: int | None = None) -> np.ndarray:
        x = np.asarray(idx, dtype=np.uint64) * _U(_GOLD) ^ _U(self._k_static)
        h = mix(x)
        if salt is not None:
            h = mix(h ^ _U(salt))
        return h

    # ------------------------------------------------------------------ Uplynk assets

    def _title_codes(self, idx: np.ndarray, version: np.ndarray | None = None):
        """(static hash, version hash, episode code, title-suffix code, rating/genre code)."""
        idx = np.asarray(idx, dtype=np.int64)
        if version is None:
            version = self.version[idx]
        hs = self._static_hash(idx)
        hv = mix(hs ^ (np.asarray(version, np.uint64) * _U(_GOLD) + _U(self._k_ver)))
        ep = (
            (hs % _U(len(SERIES))) * _U(216)
            + ((hs >> _U(8)) % _U(9)) * _U(24)
            + (hs >> _U(12)) % _U(24)
        )
        sx = ((hv >> _U(4)) % _U(len(ADJ))) * _U(len(NOUN)) + (hv >> _U(12)) % _U(len(NOUN))
        rg = ((hv >> _U(24)) % _U(len(RATINGS))) * _U(len(GENRES)) + (hv >> _U(28)) % _U(
            len(GENRES)
        )
        return hs, hv, ep, sx, rg

    def uplynk_titles(self, idx: np.ndarray, version: np.ndarray | None = None) -> list[str]:
        _, _, ep, sx, _ = self._title_codes(idx, version)
        return [_EP_TITLE[e] + _SUFFIX[x] for e, x in zip(ep.tolist(), sx.tolist(), strict=True)]

    def uplynk_json(self, idx: np.ndarray) -> list[str]:
        """The assets at canonical indices ``idx`` exactly as the Uplynk API serves them
        (JSON object text each; deleted ones carry ``deleted``; malformed ones malformed).
        Hot path of asset/list: everything is table lookups and one f-string per asset."""
        idx = np.asarray(idx, dtype=np.int64)
        if not len(idx):
            return []
        ids = self.uplynk_ids(idx)
        rows = self._D[idx].tolist()
        mut = np.column_stack(
            (
                self.created_ms[idx],
                self.lastmod_ms[idx],
                self.deleted_ms[idx],
                self.autoexpire_ms[idx],
                idx + self.ext_offset,
            )
        ).tolist()
        mal = self.flags[idx] & FLAG_MALFORMED
        any_mal = bool(mal.any())
        out = []
        append = out.append
        for aid, (e, x, r, st, w, f, sl, m), (c, lm, dl, ax, eb) in zip(
            ids, rows, mut, strict=True
        ):
            p1 = aid[:24]
            a3 = aid[:3]
            tail = f',"deleted":{dl}}}' if dl else "}"
            append(
                f'{_HEAD[m & 31]}"orig_filename":{_ORIG2[2 * e + ((m >> 5) & 1)]},"slices":{sl},'
                f'"autoexpire":{ax},"break_offsets":{_BREAK[w % 1000] if m & 64 else "[]"},'
                f'"created":{c},"lastmod":{lm},'
                f'"test_player_url":"https://content.uplynk.com/player5/{p1}.html",'
                f'"test_players":[{{"desc":"Monitoring Test Player","id":"{p1}",'
                f'"url":"https://content.uplynk.com/player5/{p1}.html"}}],'
                f'"state":"{_STATE[st]}","duration":{w}.{f},'
                f'"embed_player_url":"https://content.uplynk.com/player5/{aid[8:]}.html",'
                f'"external_id":"{f"EXT-{eb:07d}" if m & 128 else ""}","id":"{aid}",'
                f'"thumb_url":"https://storage.uplynk.com/slices/{a3}/{aid}/00000001.jpg",'
                f'"desc":"{_EP_TITLE[e]}{_SUFFIX[x]}",'
                f'"mp4_url":"https://storage.uplynk.com/slices/{a3}/{aid}/{aid}_g.mp4",'
                f'"meta":{{{_META_EP[e]},{_META_RG[r]}}}{tail}'
            )
        if any_mal:
            for k in np.nonzero(mal)[0].tolist():
                out[k] = self._malform(out[k], int(self._static_hash(idx[k : k + 1])[0]))
        return out

    @staticmethod
    def _malform(j: str, h: int) -> str:
        d = orjson.loads(j)
        kind = (h >> 60) % 4
        if kind == 0:
            d["duration"] = "n/a"
        elif kind == 1:
            d["created"] = -1
        elif kind == 2:
            d.pop("id", None)
        else:
            m = d["meta"]
            d["meta"] = ";".join(f"{k}={v}" for k, v in m.items())
        return orjson.dumps(d).decode()

    def malformed_kind(self, i: int) -> str | None:
        if not self.is_malformed(i):
            return None
        return MALFORMED_KINDS[(int(self._static_hash(np.array([i]))[0]) >> 60) % 4]

    def uplynk_asset(self, i: int) -> dict[str, Any]:
        return orjson.loads(self.uplynk_json(np.array([i]))[0])

    # ------------------------------------------------------------------ list ordering

    _ORDER_FIELDS = (
        "created",
        "desc",
        "duration",
        "external_id",
        "id",
        "lastmod",
        "source",
        "state",
    )

    def parse_order(self, order: str | None) -> list[tuple[str, bool]]:
        """'-created,desc' -> [('created', True), ('desc', False)]; ValueError if unknown."""
        if order is None or str(order).strip() == "":
            return [("created", False)]
        out = []
        for part in str(order).split(","):
            part = part.strip()
            if not part:
                continue
            rev = part.startswith("-")
            name = part[1:] if rev else part
            if name not in self._ORDER_FIELDS:
                raise ValueError(f"unknown order field: {name}")
            out.append((name, rev))
        return out or [("created", False)]

    def _rank_key(self, name: str, idx: np.ndarray) -> np.ndarray:
        if name == "created":
            return self.created_ms[idx]
        if name == "lastmod":
            return self.lastmod_ms[idx]
        if name == "duration":
            d = self._D[idx]
            c = self._DCOLS
            return d[:, c.index("whole")].astype(np.int64) * 1_000_000_000 + d[:, c.index("frac")]
        if name == "id":
            return np.argsort(
                np.argsort(mix(np.asarray(idx, np.uint64) + _U(self._k_id)), kind="stable")
            )
        if name == "desc":
            strs = self.uplynk_titles(idx)
        elif name == "external_id":
            has = self.has_external_id(idx).tolist()
            strs = [
                f"EXT-{i + self.ext_offset:07d}" if h else ""
                for i, h in zip(idx.tolist(), has, strict=True)
            ]
        elif name == "state":
            hs = self._static_hash(idx)
            hv = mix(hs ^ (self.version[idx].astype(np.uint64) * _U(_GOLD) + _U(self._k_ver)))
            st = ((hv >> _U(16)) % _U(1000)).astype(np.int64)
            # alphabetical: failed < ready < slicing
            return np.where(st < 10, 0, np.where(st < 30, 2, 1))
        else:  # source: the original file name (null first)
            hs = self._static_hash(idx)
            orig = ((hs >> _U(52)) % _U(4)) != _U(0)
            ser = (hs % _U(len(SERIES))).tolist()
            sea = (1 + (hs >> _U(8)) % _U(9)).tolist()
            epi = (1 + (hs >> _U(12)) % _U(24)).tolist()
            strs = [
                f"{_SERIES_SLUG[s]}_s{a:02d}e{b:02d}.mov" if o else ""
                for s, a, b, o in zip(ser, sea, epi, orig.tolist(), strict=True)
            ]
        _, inv = np.unique(np.array(strs, dtype=object).astype(str), return_inverse=True)
        return inv.astype(np.int64)

    def list_order(self, order: str | None = None, query: str | None = None) -> np.ndarray:
        """Live canonical indices in the requested ``asset/list`` order (cached until the
        world changes). Ties break on the canonical index. Raises ValueError on a bad order."""
        spec = self.parse_order(order)
        key = (",".join(("-" if r else "") + f for f, r in spec), (query or "").lower())
        with self.lock:
            hit = self._order_cache.get(key)
            if hit is not None and hit[0] == self.mutations:
                return hit[1]
            base = self._by_created.a
            live = base[self.deleted_ms[base] == 0]
            if spec == [("created", False)]:
                res = live
            elif spec == [("created", True)]:
                # descending created, ties still ascending by index
                c = self.created_ms[live]
                res = live[np.lexsort((live, -c))]
            else:
                keys = [live]
                for f, r in reversed(spec):
                    k = self._rank_key(f, live)
                    keys.append(-k if r else k)
                res = live[np.lexsort(tuple(keys))]
            if query:
                q = query.lower()
                titles = self.uplynk_titles(res)
                ids = self.uplynk_ids(res)
                has = self.has_external_id(res).tolist()
                rl = res.tolist()
                m = [
                    q in t.lower() or q in a or (h and q in f"ext-{i + self.ext_offset:07d}")
                    for t, a, h, i in zip(titles, ids, has, rl, strict=True)
                ]
                res = res[np.array(m, dtype=bool)] if len(res) else res
            if len(self._order_cache) > 16:
                self._order_cache.clear()
            self._order_cache[key] = (self.mutations, res)
            return res

    # ------------------------------------------------------------------ other vendors
    # Membership and ids are pure functions of (seed, index). Vendor-only items are numbered
    # j in [0, <vendor>_only_count) and live in separate id spaces.

    def ibm_member(self, idx: np.ndarray) -> np.ndarray:
        h = self._static_hash(idx, self._k_ibm)
        return (h % _U(100)) < _U(40)

    def ibm_channel_ids(self, idx: np.ndarray, vendor_only: bool = False) -> list[str]:
        salt = self._k_ibm ^ (0x5A5A if vendor_only else 0)
        h = self._static_hash(idx, salt)
        return [IBM_CHANNEL_IDS[c] for c in ((h >> _U(8)) % _U(len(IBM_CHANNEL_IDS))).tolist()]

    _IBM_A = 0x2F3A9B5  # odd: (code * A + B) mod 2^30 is a bijection
    _IBM_B = 0x1234567
    _IBM_MASK = (1 << 30) - 1

    def ibm_video_id(self, i: int, vendor_only: bool = False) -> str:
        code = (1 << 29) + i if vendor_only else i
        return str(1_000_000_000 + ((code * self._IBM_A + self._IBM_B) & self._IBM_MASK))

    def ibm_decode(self, video_id: Any) -> tuple[str, int] | None:
        """'123...' -> ('canonical', i) or ('ibm_only', j); None when not one of ours."""
        try:
            v = int(str(video_id)) - 1_000_000_000
        except ValueError:
            return None
        if v < 0 or v > self._IBM_MASK:
            return None
        code = ((v - self._IBM_B) * pow(self._IBM_A, -1, 1 << 30)) & self._IBM_MASK
        if code >= (1 << 29):
            j = code - (1 << 29)
            return ("ibm_only", j) if j < self.ibm_only_count else None
        if code < self.n and self.ibm_member(np.array([code]))[0]:
            return ("canonical", code)
        return None

    def ibm_video(self, i: int, vendor_only: bool = False) -> dict[str, Any]:
        """Starting point for sandbox/ibm.py: an IBM video's fields, derived from (seed, i).
        ``i`` is the canonical index, or ``j`` of an IBM-only video when ``vendor_only``.
        Expiration: ~70% ``never``, else ``at_given_time`` spread from 10 days before the
        world's epoch to 90 days after; ``protect`` is a small share; ``ownership_error``
        marks videos whose expiration endpoints answer 403 ``lack_of_ownership``.
        (The IBM engineer owns the exact shapes; extend here, derived, not stored.)"""
        code = (1 << 40) + i if vendor_only else i
        h = mix_int(code * _GOLD ^ self._k_ibm ^ 0x1B)
        h2 = mix_int(h ^ _GOLD)
        if vendor_only:
            title = self.vendor_only_title("ibm", i)
            created_s = (self.epoch_ms - (h2 % (730 * DAY_MS))) // 1000
            length = 30 + h2 % 5400
        else:
            title = self.vendor_title("ibm", i)
            created_s = int(self.created_ms[i]) // 1000 + int(h2 % 3600)
            length = int(self._D[i, self._DCOLS.index("whole")]) if i < len(self._D) else 60
        rule_at = (h >> 8) % 100 >= 70
        expires_at = (
            (self.epoch_ms // 1000 - 10 * 86400 + int((h >> 16) % (100 * 86400)))
            if rule_at
            else None
        )
        if not vendor_only and i < self.n and self.is_malformed(i):
            length = "n/a"  # a malformed record: the connector must reject it with a reason
        return {
            "id": self.ibm_video_id(i, vendor_only),
            "channel_id": self.ibm_channel_ids(np.array([i]), vendor_only)[0],
            "title": title,
            "length": str(length),
            "created_at": int(created_s),
            "added_at": int(created_s) + int(h % 600),
            "file_size": str(200_000 + (h2 >> 20) % 2_000_000_000),
            "views": int((h2 >> 8) % 100_000),
            "protect": "private" if (h >> 40) % 100 < 5 else "public",
            "expiration_rule": "at_given_time" if rule_at else "never",
            "expires_at": expires_at,
            "ownership_error": self.ibm_check_error(i, vendor_only) == "lack_of_ownership",
        }

    # IBM state over simulated time. Everything is derived from (seed, code, sim time):
    # - a video's expiration has versions: version 0 is ibm_video()'s; every P days (P in
    #   20..60, per video, phase-shifted) it changes at a day boundary after the epoch;
    # - a video whose current rule is at_given_time with expires_at passed is deleted (the
    #   vendor deletes expired videos); deletion is checked on an hourly grid after the
    #   epoch, so nothing flips within the seconds a test takes between two runs;
    # - a canonical video also leaves IBM when its Uplynk asset is deleted by hand (not by
    #   autoexpire), and new canonical assets (world.advance creates) bring new IBM videos.
    IBM_EXPIRATION_ERRORS = ("lack_of_ownership", "forbidden", "not_found")

    def _ibm_h(self, i: int, vendor_only: bool) -> int:
        code = (1 << 40) + i if vendor_only else i
        return mix_int(code * _GOLD ^ self._k_ibm ^ 0x1B)

    def ibm_check_error(self, i: int, vendor_only: bool = False) -> str | None:
        """1% each of IBM videos answer their expiration endpoints with 403
        lack_of_ownership, 403 forbidden or 404 not_found (deterministic)."""
        e = (self._ibm_h(i, vendor_only) >> 48) % 1000
        return self.IBM_EXPIRATION_ERRORS[e // 10] if e < 30 else None

    def ibm_expiration_at(
        self, i: int, vendor_only: bool, now_ms: int, never_since_ms: int | None = None
    ) -> tuple[str, int | None, bool]:
        """(rule, expires_at Unix s or None, expired) of an IBM video at sim time ``now_ms``.
        ``never_since_ms``: a PUT rule=never at that time pins the rule to never from then on."""
        h = self._ibm_h(i, vendor_only)
        epoch_s = self.epoch_ms // 1000
        rule_at = (h >> 8) % 100 >= 70
        exp = epoch_s - 10 * 86400 + int((h >> 16) % (100 * 86400))
        period = 20 + (h >> 24) % 41
        phase = (h >> 32) % period
        elapsed = max(0, int(now_ms) - self.epoch_ms)
        day = elapsed // DAY_MS
        hour_s = epoch_s + (elapsed // 3_600_000) * 3600  # deletion grid
        stop_ms = int(now_ms) if never_since_ms is None else min(int(now_ms), never_since_ms)
        stop_day = max(0, stop_ms - self.epoch_ms) // DAY_MS
        versions = (min(day, stop_day) + phase) // period
        for v in range(1, versions + 1):
            change_s = epoch_s + (v * period - phase) * 86400
            if rule_at and exp <= change_s:
                return ("at_given_time", exp, True)  # expired before this change
            hv = mix_int(h ^ (v * _GOLD))
            rule_at = (hv >> 8) % 100 >= 60
            exp = change_s + 86400 + int((hv >> 16) % (90 * 86400))
        if never_since_ms is not None:
            if rule_at and exp * 1000 <= never_since_ms:
                return ("at_given_time", exp, True)
            return ("never", None, False)
        if rule_at:
            return ("at_given_time", exp, exp <= hour_s)
        return ("never", None, False)

    def ibm_hand_deleted(self, i: int) -> bool:
        """A canonical asset deleted by hand in Uplynk (not by autoexpire) left IBM too."""
        if i >= self.n:
            return True
        d = int(self.deleted_ms[i])
        return d != 0 and d != int(self.autoexpire_ms[i])

    def ibm_member_codes(self) -> tuple[np.ndarray, list[str]]:
        """(canonical indices that are IBM videos, their channel ids), for every index ever
        created (live or not; callers filter)."""
        idx = np.arange(self.n, dtype=np.int64)
        idx = idx[self.ibm_member(idx)]
        return idx, self.ibm_channel_ids(idx) if len(idx) else []

    def valt_member(self, idx: np.ndarray) -> np.ndarray:
        h = self._static_hash(idx, self._k_valt)
        return (h % _U(100)) < _U(15)

    def valt_id(self, i: int, vendor_only: bool = False) -> str:
        """VALT 6 ids are UUIDs, VALT 5 ids integers; both appear (as strings)."""
        code = (1 << 40) + i if vendor_only else i
        h = mix_int(code * _GOLD ^ self._k_valt)
        if h & 1:
            a = mix_int(h)
            b = mix_int(a ^ _GOLD)
            x = f"{a:016x}{b:016x}"
            return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[b & 3]}{x[17:20]}-{x[20:32]}"
        return str(10_000 + (code if not vendor_only else 50_000_000 + i))

    def iris_member(self, idx: np.ndarray) -> np.ndarray:
        h = self._static_hash(idx, self._k_iris)
        return (h % _U(100)) < _U(60)

    def iris_id(self, i: int, vendor_only: bool = False) -> str:
        code = (1 << 40) + i if vendor_only else i
        return f"iris_{mix_int(code + self._k_iris):016x}"

    def iris_platform_id(self, i: int) -> str | None:
        """The Uplynk external_id as IRIS knows it, with realistic noise: mostly exact,
        sometimes lower-cased, prefixed, padded with whitespace, or missing."""
        ext = self.external_id(i)
        if not ext:
            return None
        r = mix_int(i * _GOLD ^ self._k_iris ^ 0x77) % 100
        if r < 80:
            return ext
        if r < 87:
            return ext.lower()
        if r < 92:
            return "uplynk:" + ext
        if r < 95:
            return " " + ext + " "
        return None

    def vendor_title(self, vendor: str, i: int) -> str:
        """The canonical title (version 0) as another vendor spells it: mostly the same,
        sometimes with ' (HD)', different case, or a typo."""
        base = self.uplynk_titles(np.array([i]), np.array([0]))[0]
        r = mix_int(i * _GOLD ^ _salt(self.seed, "title-" + vendor)) % 100
        if r < 70:
            return base
        if r < 80:
            return base + " (HD)"
        if r < 87:
            return base.upper()
        if r < 92:
            return base.lower()
        p = 1 + r % max(1, len(base) - 2)
        return base[:p] + base[p + 1] + base[p] + base[p + 2 :]

    def vendor_only_title(self, vendor: str, j: int) -> str:
        h = mix_int(j * _GOLD ^ _salt(self.seed, "only-" + vendor))
        return f"{ADJ[h % len(ADJ)]} {NOUN[(h >> 8) % len(NOUN)]} ({vendor.upper()} exclusive {j})"

    # ------------------------------------------------------------------ ground truth

    def truth(self, chunk: int = 65536) -> Iterator[dict[str, Any]]:
        """Ground-truth rows: every canonical asset (live or deleted in Uplynk), then the
        vendor-only items. None where the asset is absent from a vendor."""
        n = self.n
        for s in range(0, n, chunk):
            idx = np.arange(s, min(n, s + chunk), dtype=np.int64)
            ids = self.uplynk_ids(idx)
            ib = self.ibm_member(idx).tolist()
            va = self.valt_member(idx).tolist()
            ir = self.iris_member(idx).tolist()
            for k, i in enumerate(idx.tolist()):
                yield {
                    "canonical_index": i,
                    "uplynk_id": ids[k],
                    "ibm_video_id": self.ibm_video_id(i) if ib[k] else None,
                    "valt_id": self.valt_id(i) if va[k] else None,
                    "iris_id": self.iris_id(i) if ir[k] else None,
                }
        for j in range(self.ibm_only_count):
            yield {
                "canonical_index": None,
                "uplynk_id": None,
                "ibm_video_id": self.ibm_video_id(j, True),
                "valt_id": None,
                "iris_id": None,
            }
        for j in range(self.valt_only_count):
            yield {
                "canonical_index": None,
                "uplynk_id": None,
                "ibm_video_id": None,
                "valt_id": self.valt_id(j, True),
                "iris_id": None,
            }
        for j in range(self.iris_only_count):
            yield {
                "canonical_index": None,
                "uplynk_id": None,
                "ibm_video_id": None,
                "valt_id": None,
                "iris_id": self.iris_id(j, True),
            }

    def iter_uplynk_expected(self, chunk: int = 20000) -> Iterator[bytes]:
        """NDJSON lines: every Uplynk asset the world knows (live and deleted) as the API
        serves it, plus ``malformed`` (bool) and ``_index`` (canonical index)."""
        n = self.n
        for s in range(0, n, chunk):
            idx = np.arange(s, min(n, s + chunk), dtype=np.int64)
            js = self.uplynk_json(idx)
            mal = (self.flags[idx] & FLAG_MALFORMED).tolist()
            parts = []
            for k, j in enumerate(js):
                parts.append(
                    f'{j[:-1]},"malformed":{"true" if mal[k] else "false"},"_index":{s + k}}}\n'
                )
            yield "".join(parts).encode()
