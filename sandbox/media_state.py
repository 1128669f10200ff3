"""The media CDN's state for one world: each URL's kind, its body bytes, the counters and
the ``head_405_share`` knob (served by media_cdn.py, driven by media_control.py)."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from .iris_catalog import CDN_PREFIX
from .world import World
from .world.mixing import U, salt_of

if TYPE_CHECKING:
    from .app import SandboxState

UPLYNK_SHARES = (
    ("live", 80),
    ("gone_404", 4),
    ("gone_410", 4),
    ("forbidden", 4),
    ("slow", 3),
    ("redirect", 5),
)
_UPLYNK_KIND_BY_PERCENT = [k for k, share in UPLYNK_SHARES for _ in range(share)]
_FTYP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
POOL = 1 << 16


def uplynk_path(asset_id: str) -> str:
    """The path of an Uplynk asset's mp4_url (sandbox/world/uplynk.py serves the same)."""
    return f"{CDN_PREFIX}/uplynk/{asset_id}/video.mp4"


class MediaState:
    """The CDN's counters and knob for one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.k_uplynk = salt_of(world.seed, "media-uplynk")
        self.k_url = salt_of(world.seed, "media-url").to_bytes(8, "big")
        self.pool = _FTYP + random.Random(f"{world.seed}:media").randbytes(POOL)
        self.head_405_share = 0.0
        self.reset_stats()

    def reset_stats(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.methods: Counter[str] = Counter()
        self.systems: Counter[str] = Counter()
        self.ranges = 0
        self.bytes_sent = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.host_in_flight: Counter[str] = Counter()
        self.max_in_flight_by_host: dict[str, int] = {}

    def stats(self) -> dict[str, Any]:
        return {
            "requests": sum(self.statuses.values()),
            "statuses": {str(s): c for s, c in sorted(self.statuses.items())},
            "methods": dict(self.methods),
            "systems": dict(self.systems),
            "range_requests": self.ranges,
            "bytes_sent": self.bytes_sent,
            "max_in_flight": self.max_in_flight,
            "in_flight": self.in_flight,
            "max_in_flight_by_host": dict(self.max_in_flight_by_host),
        }

    # -- per URL -----------------------------------------------------------------------
    def url_hash(self, system: str, item_id: str) -> int:
        d = hashlib.blake2b(f"{system}/{item_id}".encode(), key=self.k_url, digest_size=8)
        return int.from_bytes(d.digest(), "big")

    def size(self, h: int) -> int:
        return 200_000 + h % 800_000

    def head_allowed(self, h: int) -> bool:
        return (h >> 24) % 1000 >= int(self.head_405_share * 1000)

    def uplynk_kinds(self, idx: np.ndarray) -> list[str]:
        """The kinds of the Uplynk assets at ``idx`` (deleted ones: gone_404)."""
        w = self.world
        h = w._static_hash(np.asarray(idx, dtype=np.int64), self.k_uplynk)
        pct = (h % U(100)).tolist()
        dead = (w.deleted_ms[idx] != 0).tolist()
        return [
            "gone_404" if d else _UPLYNK_KIND_BY_PERCENT[p] for p, d in zip(pct, dead, strict=True)
        ]

    def uplynk_kind(self, i: int) -> str:
        """``uplynk_kinds([i])[0]`` without numpy (the per-request path)."""
        w = self.world
        if w.deleted_ms[i] != 0:
            return "gone_404"
        return _UPLYNK_KIND_BY_PERCENT[w.static_hash_one(i, self.k_uplynk) % 100]

    def body(self, h: int, start: int, end: int) -> bytes:
        """Bytes [start, end) of the URL's body: the ftyp box, then the pool from a shift."""
        shift = h % POOL
        out = bytearray()
        pos = start
        while pos < end:
            if pos < len(_FTYP):
                piece = _FTYP[pos : min(end, len(_FTYP))]
            else:
                o = len(_FTYP) + (pos - len(_FTYP) + shift) % POOL
                piece = self.pool[o : o + min(end - pos, len(_FTYP) + POOL - o)]
            out += piece
            pos += len(piece)
        return bytes(out)


def media_state(state: SandboxState) -> MediaState:
    """The CDN state of the sandbox's current world (built on first use after a reset)."""
    st = getattr(state, "_media_state", None)
    if st is None or st.world is not state.world:
        st = MediaState(state.world)
        state._media_state = st  # type: ignore[attr-defined]
    return st
