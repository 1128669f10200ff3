"""IRIS.TV's view of the world: ~60% of canonical assets plus IRIS-only assets."""

from __future__ import annotations

import numpy as np

from .mixing import GOLD, U, mix_int


class IrisViews:
    """Mixed into World: ``iris_*`` derivations."""

    def iris_member(self, idx: np.ndarray) -> np.ndarray:
        h = self._static_hash(idx, self._k_iris)
        return (h % U(100)) < U(60)

    def iris_id(self, i: int, vendor_only: bool = False) -> str:
        code = (1 << 40) + i if vendor_only else i
        return f"iris_{mix_int(code + self._k_iris):016x}"

    def iris_platform_id(self, i: int) -> str | None:
        """The Uplynk external_id as IRIS knows it, with realistic noise: mostly exact,
        sometimes lower-cased, prefixed, padded with whitespace, or missing."""
        ext = self.external_id(i)
        if not ext:
            return None
        r = mix_int(i * GOLD ^ self._k_iris ^ 0x77) % 100
        if r < 80:
            return ext
        if r < 87:
            return ext.lower()
        if r < 92:
            return "uplynk:" + ext
        if r < 95:
            return " " + ext + " "
        return None
