"""Uplynk ``asset/list`` ordering: live assets sorted by any documented field, searched by
``query``, cached until the world changes."""

from __future__ import annotations

import numpy as np

from .mixing import GOLD, U, mix
from .words import SERIES, SERIES_SLUG


class UplynkListing:
    """Mixed into World: ``parse_order`` and ``list_order``."""

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
                np.argsort(mix(np.asarray(idx, np.uint64) + U(self._k_id)), kind="stable")
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
            hv = mix(hs ^ (self.version[idx].astype(np.uint64) * U(GOLD) + U(self._k_ver)))
            st = ((hv >> U(16)) % U(1000)).astype(np.int64)
            # alphabetical: failed < ready < slicing
            return np.where(st < 10, 0, np.where(st < 30, 2, 1))
        else:  # source: the original file name (null first)
            hs = self._static_hash(idx)
            orig = ((hs >> U(52)) % U(4)) != U(0)
            ser = (hs % U(len(SERIES))).tolist()
            sea = (1 + (hs >> U(8)) % U(9)).tolist()
            epi = (1 + (hs >> U(12)) % U(24)).tolist()
            strs = [
                f"{SERIES_SLUG[s]}_s{a:02d}e{b:02d}.mov" if o else ""
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
