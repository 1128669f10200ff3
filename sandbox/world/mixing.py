"""64-bit bit mixing: the splitmix64 finalizer (invertible) and per-seed salts.

Every derived field of the world is a function of ``(seed, index[, version])`` through these.
"""

from __future__ import annotations

import numpy as np

M64 = (1 << 64) - 1
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_INV1 = pow(_C1, -1, 1 << 64)
_INV2 = pow(_C2, -1, 1 << 64)
GOLD = 0x9E3779B97F4A7C15
U = np.uint64


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
    x ^= x >> U(30)
    x *= U(_C1)
    x ^= x >> U(27)
    x *= U(_C2)
    x ^= x >> U(31)
    return x


def salt_of(seed: int, name: str) -> int:
    """A 64-bit key for one named derivation of one seed."""
    h = 0
    for ch in name.encode():
        h = mix_int(h * 131 + ch)
    return mix_int(seed * GOLD + h)
