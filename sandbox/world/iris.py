"""IRIS.TV's view of the world: ~60% of canonical assets plus IRIS-only assets.

An IRIS asset is a *code*: a canonical index ``i`` (an IRIS member of the world) or
``IRIS_ONLY + j`` for IRIS-only asset ``j < iris_only_count``. Every field here is derived
from ``(seed, code)`` (recommendations also from the asset's version); nothing is stored.

* ``iris_id``: ``iris_<16 hex>``, an invertible scramble of the code (``iris_decode``).
* ``iris_platform_id``: the Uplynk ``external_id`` as IRIS knows it: mostly exact, sometimes
  lower-cased, prefixed, padded with whitespace, or missing (IRIS-only assets have none).
  A Watch finds an asset only by the exact string IRIS holds (``iris_platform_index``).
* ``iris_source_kind``: what the asset's source URL is (``SOURCE_KINDS``); ``expired`` means
  the URL the data API serves has already expired (the media behind it is live), and
  ``not_available`` that IRIS has no source URL (``"NOT_AVAILABLE"``).
* ``iris_refresh_expired``: a refresh of this asset's URL answers a URL that is itself
  already expired (the vendor cannot regenerate it).
* ``iris_recommendations``: a prefix-stable sequence of IRIS codes, a function of (seed,
  code, version); the default recommendations (unknown asset) depend on the seed only.
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np

from .mixing import GOLD, M64, U, mix, mix_int, unmix_int
from .words import ADJ, GENRES, NOUN

IRIS_ONLY = 1 << 40
# (kind, share in percent) of IRIS assets, in the order the share is drawn
SOURCE_SHARES = (
    ("not_available", 8),
    ("live", 52),
    ("expired", 15),
    ("gone_404", 5),
    ("gone_410", 5),
    ("forbidden", 5),
    ("slow", 4),
    ("redirect", 6),
)
SOURCE_KINDS = tuple(k for k, _ in SOURCE_SHARES)
REFRESH_EXPIRED_PERCENT = 25
_ID_RE = re.compile(r"^iris_([0-9a-f]{16})$")
_PID_RE = re.compile(r"^\s*(?:uplynk:)?ext-(\d{7,})\s*$", re.IGNORECASE)
_DEFAULT_CODE = M64  # the "asset" of the default recommendations
_DAY_S = 86_400


def _utc(ts_s: int) -> str:
    """The vendor's date style: ``2014-08-01 18:34:33 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts_s))


class IrisViews:
    """Mixed into World: ``iris_*`` derivations (sandbox/iris*.py serve them)."""

    def iris_member(self, idx: np.ndarray) -> np.ndarray:
        h = self._static_hash(idx, self._k_iris)
        return (h % U(100)) < U(60)

    def iris_member_one(self, i: int) -> bool:
        """``iris_member`` of one index, without numpy (the CDN's per-request path)."""
        return self.static_hash_one(i, self._k_iris) % 100 < 60

    def static_hash_one(self, i: int, salt: int) -> int:
        """``_static_hash([i], salt)[0]`` on Python ints."""
        return mix_int(mix_int(((i * GOLD) & M64) ^ self._k_static) ^ salt)

    # -- ids ---------------------------------------------------------------------------
    @staticmethod
    def iris_code(i: int, vendor_only: bool = False) -> int:
        return IRIS_ONLY + i if vendor_only else i

    def iris_id(self, i: int, vendor_only: bool = False) -> str:
        return f"iris_{mix_int(self.iris_code(i, vendor_only) + self._k_iris):016x}"

    def iris_id_of(self, code: int) -> str:
        return f"iris_{mix_int(code + self._k_iris):016x}"

    def iris_decode(self, iris_id: Any) -> int | None:
        """An IRIS id -> its code; None when it is not one of this world's IRIS assets."""
        if not isinstance(iris_id, str):
            return None
        m = _ID_RE.match(iris_id)
        if not m:
            return None
        code = (unmix_int(int(m.group(1), 16)) - self._k_iris) & M64
        if code >= IRIS_ONLY:
            return code if code - IRIS_ONLY < self.iris_only_count else None
        if code < self.n and self.iris_member_one(code):
            return code
        return None

    def iris_codes(self) -> np.ndarray:
        """Every IRIS code: canonical members (every index ever created), then IRIS-only."""
        idx = np.arange(self.n, dtype=np.int64)
        only = IRIS_ONLY + np.arange(self.iris_only_count, dtype=np.int64)
        return np.concatenate([idx[self.iris_member(idx)], only])

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

    def iris_platform_of(self, code: int) -> str | None:
        return None if code >= IRIS_ONLY else self.iris_platform_id(code)

    def iris_platform_index(self, platform_id: Any) -> int | None:
        """The canonical IRIS member whose platform_id is exactly ``platform_id``, or None."""
        if not isinstance(platform_id, str):
            return None
        m = _PID_RE.match(platform_id)
        if not m:
            return None
        i = int(m.group(1)) - self.ext_offset
        if i < 0 or i >= self.n or not self.iris_member_one(i):
            return None
        return i if self.iris_platform_id(i) == platform_id else None

    # -- fields ------------------------------------------------------------------------
    def _iris_h(self, code: int) -> int:
        return mix_int(code * GOLD ^ self._k_iris ^ 0x5151)

    def iris_source_kind(self, code: int) -> str:
        """The kind of the asset's source URL as first served (SOURCE_SHARES)."""
        r = (self._iris_h(code) >> 8) % 100
        for kind, share in SOURCE_SHARES:
            if r < share:
                return kind
            r -= share
        raise AssertionError("SOURCE_SHARES must sum to 100")

    def iris_refresh_expired(self, code: int) -> bool:
        """A refresh of this asset's source URL answers an already-expired URL."""
        if self.iris_source_kind(code) == "not_available":
            return False
        return (self._iris_h(code) >> 20) % 100 < REFRESH_EXPIRED_PERCENT

    def iris_title(self, code: int) -> str:
        if code >= IRIS_ONLY:
            return self.vendor_only_title("iris", code - IRIS_ONLY)
        return self.vendor_title("iris", code)

    def iris_length_secs(self, code: int) -> int:
        if code < IRIS_ONLY:  # Uplynk's whole seconds with noise; decoys near their target
            return self.vendor_duration("iris", code)  # (truth.py)
        return self.vendor_only_duration("iris", code - IRIS_ONLY, 30 + self._iris_h(code) % 5400)

    def iris_release_s(self, code: int) -> int:
        """When the asset could be recommended (Unix s): its creation, for canonical ones."""
        if code < IRIS_ONLY:
            return int(self.created_ms[code]) // 1000
        return self.epoch_ms // 1000 - int((self._iris_h(code) >> 12) % (730 * _DAY_S))

    def iris_dates(self, code: int) -> tuple[str, str | None]:
        """(release_date, reviewed or None) in the vendor's date style."""
        h = self._iris_h(code)
        release = self.iris_release_s(code)
        reviewed = None
        if (h >> 30) % 100 < 30:
            reviewed = _utc(release + int((h >> 36) % (200 * _DAY_S)))
        return _utc(release), reviewed

    def iris_keywords(self, code: int) -> str | list[str]:
        """``source_keywords``: a comma string for some assets, a list for the others."""
        h = self._iris_h(code)
        words = [GENRES[(h >> 40) % len(GENRES)].lower()]
        for k in range(1 + (h >> 44) % 3):
            words.append(NOUN[(h >> (46 + 5 * k)) % len(NOUN)].lower())
        words = list(dict.fromkeys(words))
        return ",".join(words) if (h >> 62) & 1 else words

    def iris_metadata(self, code: int) -> dict[str, Any]:
        """The fields of the IRIS_ID data API that do not depend on the server's URL."""
        h = self._iris_h(code)
        title = self.iris_title(code)
        return {
            "title": title,
            "description": f"{title}: {ADJ[(h >> 24) % len(ADJ)].lower()} "
            f"{NOUN[(h >> 32) % len(NOUN)].lower()} story.",
            "length_secs": self.iris_length_secs(code),
            "source_keywords": self.iris_keywords(code),
            "billing_id": f"BILL-{(h >> 16) % 100000:05d}" if (h >> 4) % 10 else None,
            "has_captions": (h >> 6) % 100 < 60,
        }

    # -- recommendations ---------------------------------------------------------------
    def iris_recommendations(self, code: int | None, version: int, count: int) -> list[int]:
        """The first ``count`` recommendations for IRIS asset ``code`` at ``version`` (None:
        the default recommendations). Distinct codes, never ``code`` itself, drawn from the
        world's initial IRIS catalog; prefix-stable (more asked = the same list extended)."""
        me = _DEFAULT_CODE if code is None else int(code)
        n0 = self.n_initial
        space = n0 + self.iris_only_count
        base = mix_int(me * GOLD ^ self._k_iris ^ (int(version) * 0x2545F4914F6CDD1D) ^ 0x4EC)
        out: list[int] = []
        seen = {me}
        start = 0
        while len(out) < count and start < 64 * (count + 8):
            t = np.arange(start, start + 4 * (count + 8), dtype=np.uint64)
            start += len(t)
            cand = (mix(t + U(base)) % U(space)).astype(np.int64)
            canon = cand < n0
            ok = ~canon | self.iris_member(np.where(canon, cand, 0))
            codes = np.where(canon, cand, cand - n0 + IRIS_ONLY)[ok]
            for c in codes.tolist():
                if c not in seen:
                    seen.add(c)
                    out.append(c)
                    if len(out) == count:
                        break
        return out

    def iris_version(self, code: int) -> int:
        """The version recommendations are computed at (the Uplynk asset's version)."""
        return int(self.version[code]) if code < IRIS_ONLY else 0
