"""VALT's view of the world: ~15% of canonical assets plus VALT-only recordings."""

from __future__ import annotations

import numpy as np

from .mixing import GOLD, U, mix_int


class ValtViews:
    """Mixed into World: ``valt_*`` derivations."""

    def valt_member(self, idx: np.ndarray) -> np.ndarray:
        h = self._static_hash(idx, self._k_valt)
        return (h % U(100)) < U(15)

    def valt_id(self, i: int, vendor_only: bool = False) -> str:
        """VALT 6 ids are UUIDs, VALT 5 ids integers; both appear (as strings)."""
        code = (1 << 40) + i if vendor_only else i
        h = mix_int(code * GOLD ^ self._k_valt)
        if h & 1:
            a = mix_int(h)
            b = mix_int(a ^ GOLD)
            x = f"{a:016x}{b:016x}"
            return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[b & 3]}{x[17:20]}-{x[20:32]}"
        return str(10_000 + (code if not vendor_only else 50_000_000 + i))
