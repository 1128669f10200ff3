"""IBM Video Streaming's view of the world: ~40% of canonical assets plus IBM-only videos.

Membership and ids are pure functions of (seed, index). Vendor-only items are numbered
j in [0, ibm_only_count) and live in a separate id space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import DAY_MS
from .mixing import GOLD, U, mix, mix_int

IBM_CHANNEL_IDS = ["23481001", "23481002", "23481003", "23481004"]


class IbmViews:
    """Mixed into World: ``ibm_*`` derivations (sandbox/ibm.py serves them)."""

    def ibm_member(self, idx: np.ndarray) -> np.ndarray:
        h = self._static_hash(idx, self._k_ibm)
        return (h % U(100)) < U(40)

    def ibm_channel_ids(self, idx: np.ndarray, vendor_only: bool = False) -> list[str]:
        salt = self._k_ibm ^ (0x5A5A if vendor_only else 0)
        h = self._static_hash(idx, salt)
        return [IBM_CHANNEL_IDS[c] for c in ((h >> U(8)) % U(len(IBM_CHANNEL_IDS))).tolist()]

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

    def ibm_created_at(self, idx: np.ndarray, vendor_only: bool = False) -> np.ndarray:
        """``ibm_video(i, vendor_only)["created_at"]`` for many indices at once (int64)."""
        idx = np.asarray(idx, dtype=np.int64)
        code = idx.astype(np.uint64) + (U(1 << 40) if vendor_only else U(0))
        h = mix(code * U(GOLD) ^ U(self._k_ibm ^ 0x1B))
        h2 = mix(h ^ U(GOLD))
        if vendor_only:
            return (self.epoch_ms - (h2 % U(730 * DAY_MS)).astype(np.int64)) // 1000
        return self.created_ms[idx] // 1000 + (h2 % U(3600)).astype(np.int64)

    def ibm_video(self, i: int, vendor_only: bool = False) -> dict[str, Any]:
        """Starting point for sandbox/ibm.py: an IBM video's fields, derived from (seed, i).
        ``i`` is the canonical index, or ``j`` of an IBM-only video when ``vendor_only``.
        Expiration: ~70% ``never``, else ``at_given_time`` spread from 10 days before the
        world's epoch to 90 days after; ``protect`` is a small share; ``ownership_error``
        marks videos whose expiration endpoints answer 403 ``lack_of_ownership``.
        (The IBM engineer owns the exact shapes; extend here, derived, not stored.)"""
        code = (1 << 40) + i if vendor_only else i
        h = mix_int(code * GOLD ^ self._k_ibm ^ 0x1B)
        h2 = mix_int(h ^ GOLD)
        if vendor_only:
            title = self.vendor_only_title("ibm", i)
            created_s = (self.epoch_ms - (h2 % (730 * DAY_MS))) // 1000
            length = self.vendor_only_duration("ibm", i, 30 + h2 % 5400)  # decoys (truth.py)
        else:
            title = self.vendor_title("ibm", i)
            created_s = int(self.created_ms[i]) // 1000 + int(h2 % 3600)
            length = self.vendor_duration("ibm", i)  # Uplynk's whole seconds, noise added
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
        return mix_int(code * GOLD ^ self._k_ibm ^ 0x1B)

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
            hv = mix_int(h ^ (v * GOLD))
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
