"""Cross-vendor ground truth: titles as other vendors spell them, and the truth rows that map
every canonical asset to its id at each vendor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .mixing import GOLD, mix_int, salt_of
from .words import ADJ, NOUN


class TruthViews:
    """Mixed into World: ``vendor_title``, ``vendor_only_title``, ``truth``."""

    def vendor_title(self, vendor: str, i: int) -> str:
        """The canonical title (version 0) as another vendor spells it: mostly the same,
        sometimes with ' (HD)', different case, or a typo."""
        base = self.uplynk_titles(np.array([i]), np.array([0]))[0]
        r = mix_int(i * GOLD ^ salt_of(self.seed, "title-" + vendor)) % 100
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
        h = mix_int(j * GOLD ^ salt_of(self.seed, "only-" + vendor))
        return f"{ADJ[h % len(ADJ)]} {NOUN[(h >> 8) % len(NOUN)]} ({vendor.upper()} exclusive {j})"

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
