"""VALT's view of the world: ~15% of canonical assets plus VALT-only recordings.

A recording is a *code*: a canonical index ``i`` (a VALT member of the world), or
``VALT_ONLY + j`` for VALT-only recording ``j``. ``j < valt_only_count`` are the world's;
larger ``j`` are recordings the sandbox itself creates later (``POST /_control/valt/churn``,
sandbox/valt_catalog.py), whose ``created`` the catalog keeps. Every field here is derived
from ``(seed, code)`` (and ``created`` for the retention); nothing is stored per recording.
Names and durations are VALT's copy as truth.py's noise dials make it (a title's spelling,
seconds off; decoys among the VALT-only recordings); retentions that end do so around the
later of the world's epoch and the recording's creation.

Ids, in the style ``World.valt_id_style`` (the VALT knob ``id_style``):

* ``"uuid"`` (VALT 6, the default): a version-4-shaped UUID whose first 64 bits (less the
  version and variant bits) are an invertible scramble of the code and the rest a
  seed-derived check, so ids decode back to codes and validate; string order equals the order
  of the scramble (``valt_sort_keys``).
* ``"int"`` (VALT 5): ``10000 + i`` for canonical recordings, ``50010000 + j`` for VALT-only
  ones; served as a JSON integer.

A canonical recording leaves VALT when its Uplynk asset is deleted by hand (``advance`` /
``burst`` deletes; not an autoexpiry, which is Uplynk's own policy); ``advance`` creates bring
new canonical recordings (~15% of them), whose ``created`` is up to an hour before the asset's
own creation: they arrive late, inside date ranges a client may already have listed.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .mixing import GOLD, M64, U, mix, mix_int, unmix_int
from .noise import duration_offset, noisy_title, title_kind

VALT_ONLY = 1 << 40
ID_STYLES = ("uuid", "int")
_INT_BASE = 10_000
_INT_ONLY = 50_000_000
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_DAY = 86_400

ROOMS = (
    "Exam Room 1",
    "Exam Room 2",
    "Simulation Lab A",
    "Simulation Lab B",
    "Interview Room 3",
    "Debrief Room",
    "Skills Lab 4",
    "Counseling Suite",
    "Observation Room",
    "Classroom 101",
    "OSCE Station 5",
    "Trauma Bay Sim",
)
FIRST = ("Alex", "Blair", "Casey", "Dana", "Eli", "Frankie", "Gray", "Harper", "Indy", "Jordan")
LAST = ("Nguyen", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga")
USERS = tuple((1000 + k, f"{FIRST[k % len(FIRST)]} {LAST[(k * 7) % len(LAST)]}") for k in range(40))
GROUPS = (
    (1, "Faculty"),
    (2, "Students 2025"),
    (3, "Standardized Patients"),
    (4, "Researchers"),
    (5, "Nursing"),
    (6, "Administrators"),
)
TEMPLATE_FIELDS = (
    (11, "Scenario", ("Chest pain", "Sepsis", "Breaking bad news", "Pediatric fever", "Falls")),
    (12, "Course", ("NUR 301", "MED 210", "PA 115", "EMS 120")),
    (13, "Score", ("1", "2", "3", "4", "5")),
    (14, "Consent on file", ("yes", "no")),
)
MARKER_EVENTS = (
    "Scenario start",
    "Intervention",
    "Question",
    "Feedback",
    "Critical action",
    "Pause",
    "Debrief",
    "Scenario end",
)
MARKER_COLORS = ("#e53935", "#43a047", "#1e88e5", "#fdd835", "#8e24aa", "#fb8c00")
RETENTION_TYPES = ("inherit", "infinitely", "until", "for")


def _h(x: int, salt: int) -> int:
    return mix_int((x * GOLD) ^ salt)


def retention_from(h: int, created: int, now_s: int) -> dict[str, Any]:
    """A retention derived from the 64-bit ``h``: inherit 35%, infinitely 15%, until 22%, for
    28%. Where it ends (until, for): ~30% from one day before ``now_s`` to 10 days after, the
    rest from 30 days before to 180 days after. ``for`` leaves out a zero hours / minutes part
    half the time (absent = 0)."""
    r = h % 100
    if r < 35:
        return {"type": "inherit"}
    if r < 50:
        return {"type": "infinitely"}
    soon = (h >> 8) % 100 < 30
    lo, span = (-_DAY, 11 * _DAY) if soon else (-30 * _DAY, 210 * _DAY)
    end = now_s + lo + int((h >> 16) % span)
    if r < 72:
        return {"type": "until", "until": end}
    total = max(60, end - created)
    days, rest = divmod(total, _DAY)
    hours, rest = divmod(rest, 3600)
    out: dict[str, Any] = {"type": "for"}
    omit_zero = (h >> 60) & 1
    for name, value in (("days", days), ("hours", hours), ("minutes", rest // 60)):
        if value or not omit_zero:
            out[name] = int(value)
    return out


class ValtViews:
    """Mixed into World: ``valt_*`` derivations (sandbox/valt*.py serve them)."""

    valt_id_style = "uuid"  # per world: the VALT knob id_style (sandbox/valt_state.py)

    def valt_member(self, idx: np.ndarray) -> np.ndarray:
        h = self._static_hash(idx, self._k_valt)
        return (h % U(100)) < U(15)

    # -- ids ---------------------------------------------------------------------------
    @staticmethod
    def valt_code(i: int, vendor_only: bool = False) -> int:
        return VALT_ONLY + i if vendor_only else i

    def valt_id(self, i: int, vendor_only: bool = False) -> str:
        """The id (as text) of canonical recording ``i`` or VALT-only ``j``."""
        return self.valt_id_of(self.valt_code(i, vendor_only))

    def valt_id_of(self, code: int) -> str:
        if self.valt_id_style == "int":
            return str(self._valt_int(code))
        x = mix_int(code ^ self._k_valt)
        return self._valt_uuid(x, mix_int(x ^ self._k_valt ^ 0x5EED))

    @staticmethod
    def _valt_int(code: int) -> int:
        return _INT_BASE + (_INT_ONLY + code - VALT_ONLY if code >= VALT_ONLY else code)

    @staticmethod
    def _valt_uuid(x: int, y: int) -> str:
        """64 bits ``x`` laid out so that string order is ``x`` order, then 58 bits of ``y``."""
        hx = f"{x:016x}"
        c = (
            hx[:12]
            + "4"
            + hx[12:15]
            + "89ab"[(x >> 2) & 3]
            + f"{((x & 3) << 2) | (y & 3):x}"
            + f"{y:016x}"[:14]
        )
        return f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}"

    def valt_decode(self, text: Any) -> int | None:
        """An id in the current style -> its code, or None when it is not one of ours. Does not
        say whether the recording exists (sandbox/valt_catalog.py does)."""
        s = str(text)
        if self.valt_id_style == "int":
            if not (s.isascii() and s.isdigit()) or len(s) > 12:
                return None
            v = int(s) - _INT_BASE
            if v < 0:
                return None
            code = VALT_ONLY + v - _INT_ONLY if v >= _INT_ONLY else v
        else:
            if not _UUID_RE.match(s):
                return None
            c = s.replace("-", "")
            x = (int(c[:12] + c[13:16], 16) << 4) | ("89ab".index(c[16]) << 2)
            x |= int(c[17], 16) >> 2
            code = unmix_int(x) ^ self._k_valt
        if code >= VALT_ONLY << 1 or self.valt_id_of(code) != s:
            return None
        return code

    def valt_sort_keys(self, codes: np.ndarray) -> np.ndarray:
        """Per code, a number whose order is the order of the ids (string order for UUIDs,
        numeric for integers): the tie-break of the listing's ``created`` order."""
        c = np.asarray(codes, dtype=np.int64)
        if self.valt_id_style == "int":
            only = c >= VALT_ONLY
            return np.where(only, c - VALT_ONLY + _INT_ONLY, c) + _INT_BASE
        return mix(c.astype(np.uint64) ^ U(self._k_valt))

    def valt_video_id(self, code: int, n: int) -> str:
        """The id (text) of video ``n`` (1-based) of a recording."""
        if self.valt_id_style == "int":
            return str(self._valt_int(code) * 10 + n)
        x = _h(code * 16 + n, self._k_valt ^ 0x7D)
        return self._valt_uuid(x, mix_int(x ^ GOLD))

    # -- membership, time --------------------------------------------------------------
    def valt_member_codes(self) -> np.ndarray:
        """Codes of every recording the world holds (live or deleted), unordered."""
        idx = np.arange(self.n, dtype=np.int64)
        only = VALT_ONLY + np.arange(self.valt_only_count, dtype=np.int64)
        return np.concatenate([idx[self.valt_member(idx)], only])

    def valt_world_has(self, code: int) -> bool:
        """Is ``code`` a recording of the world (not one the sandbox created)?"""
        if code >= VALT_ONLY:
            return code - VALT_ONLY < self.valt_only_count
        return 0 <= code < self.n and bool(self.valt_member(np.array([code]))[0])

    def valt_created(self, codes: np.ndarray) -> np.ndarray:
        """``created`` (Unix s) of world recordings: a canonical one up to an hour before its
        asset's creation, a VALT-only one within 730 days before the epoch."""
        c = np.asarray(codes, dtype=np.int64)
        h = mix(c.astype(np.uint64) * U(GOLD) ^ U(self._k_valt ^ 0xC7))
        only = c >= VALT_ONLY
        canon = np.where(only, 0, c)
        from_asset = self.created_ms[canon] // 1000 - (h % U(3600)).astype(np.int64)
        epoch_s = self.epoch_ms // 1000
        vendor = epoch_s - 3600 - (h % U(730 * _DAY)).astype(np.int64)
        return np.where(only, vendor, from_asset).astype(np.int64)

    def valt_deleted_ms(self, codes: np.ndarray) -> np.ndarray:
        """Sim ms a world recording left VALT (its asset deleted by hand), else 0."""
        c = np.asarray(codes, dtype=np.int64)
        canon = c < VALT_ONLY
        i = np.where(canon, c, 0)
        d = self.deleted_ms[i]
        by_hand = canon & (d != 0) & (d != self.autoexpire_ms[i])
        return np.where(by_hand, d, 0).astype(np.int64)

    # -- fields ------------------------------------------------------------------------
    def valt_name(self, code: int) -> str:
        """The recording's name as the world made it: the canonical title as VALT spells it
        (``vendor_title("valt", i)``), or a VALT-only title (truth.py)."""
        return self._valt_noisy(code)[0]

    def _valt_noisy(self, code: int) -> tuple[str, int]:
        """(name, duration) of a recording: what the noise dials (truth.py) decide. Cached
        in ``_valt_names``, which ``set_noise`` drops."""
        hit = self.__dict__.get("_valt_names", {}).get(code)
        if hit is None:
            self.valt_warm_names([code])
            hit = self.__dict__["_valt_names"][code]
        return hit

    def valt_warm_names(self, codes: list[int]) -> None:
        """Cache (name, duration) of ``codes`` at once. Canonical ones: ``vendor_title("valt",
        i)`` and ``vendor_duration("valt", i)`` (truth.py) composed from one vectorized title
        call and vectorized noise hashes instead of several numpy calls per recording;
        VALT-only ones one by one (``vendor_only_title``, ``_valt_duration``)."""
        cache = self.__dict__.setdefault("_valt_names", {})
        todo = [c for c in codes if c not in cache]
        canon = np.asarray([c for c in todo if c < VALT_ONLY], dtype=np.int64)
        if len(canon):
            dials = self.noise_dials
            bases = self.uplynk_titles(canon, np.zeros(len(canon), np.int64))
            title_h = self._noise_hash(canon, "title-valt").tolist()
            dur_h = self._noise_hash(canon, "dur-valt").tolist()
            whole = self._D[canon, self._DCOLS.index("whole")].tolist()
            for c, base, th, dh, w in zip(
                canon.tolist(), bases, title_h, dur_h, whole, strict=True
            ):
                name = noisy_title(base, title_kind(th, dials), th)
                cache[c] = (name, max(1, w + duration_offset(dh, dials)))
        for c in todo:
            if c >= VALT_ONLY:
                h2 = mix_int(_h(c, self._k_valt ^ 0xA1) ^ GOLD)
                cache[c] = (
                    self.vendor_only_title("valt", c - VALT_ONLY),
                    self._valt_duration(c, h2),
                )

    def valt_created_one(self, code: int) -> int:
        """``valt_created`` of one world recording, without numpy."""
        h = mix_int((code * GOLD) ^ self._k_valt ^ 0xC7)
        if code >= VALT_ONLY:
            return self.epoch_ms // 1000 - 3600 - h % (730 * _DAY)
        return int(self.created_ms[code]) // 1000 - h % 3600

    def _valt_duration(self, code: int, h2: int) -> int:
        """Seconds: Uplynk's whole seconds with noise, a decoy's near its target (truth.py)."""
        if code >= VALT_ONLY:
            return self.vendor_only_duration("valt", code - VALT_ONLY, 60 + int(h2 % 5400))
        return self.vendor_duration("valt", code)

    def valt_record(self, code: int, created: int, full: bool = True) -> dict[str, Any]:
        """Every field of a recording but ``id`` and ``created``, in the order VALT serves
        them, plus ``cameras_in_order`` [(camera id, name)] (one video per camera).
        ``full=False``: the listed fields only (no template, retention, markers)."""
        h = _h(code, self._k_valt ^ 0xA1)
        h2 = mix_int(h ^ GOLD)
        name, duration = self._valt_noisy(code)
        room = int(h % len(ROOMS))
        n_cams = 1 + (0 if h2 % 100 < 50 else 1 if h2 % 100 < 85 else 2)
        first = int((h >> 8) % 4)
        slots = [1 + (first + k) % 4 for k in range(n_cams)]
        cams = [(room * 10 + c, f"{ROOMS[room]} Cam {c}") for c in slots]
        user = USERS[(h >> 16) % len(USERS)]
        out = {
            "name": name,
            "author": {"id": user[0], "name": user[1]},
            "type": "recording",
            "duration": duration,
            "room": {"id": room + 1, "name": ROOMS[room]},
            "cameras": {str(cid): cname for cid, cname in cams},
            "sharing": self._valt_sharing(h2),
            "cameras_in_order": cams,
        }
        if full:
            anchor = max(self.epoch_ms // 1000, created)
            out["template"] = self._valt_template(h2)
            out["retention"] = retention_from(_h(code, self._k_valt ^ 0xE7), created, anchor)
            out["markers"] = self._valt_markers(code, h, duration)
        return out

    @staticmethod
    def _valt_sharing(h: int) -> dict[str, list[dict[str, Any]]]:
        groups = [GROUPS[(h >> (20 + 3 * k)) % len(GROUPS)] for k in range((h >> 12) % 3)]
        users = [USERS[(h >> (30 + 5 * k)) % len(USERS)] for k in range((h >> 14) % 3)]
        return {
            "groups": [{"id": g, "name": n} for g, n in dict(groups).items()],
            "users": [{"id": u, "name": n} for u, n in dict(users).items()],
        }

    @staticmethod
    def _valt_template(h: int) -> list[dict[str, Any]]:
        k = (h >> 40) % (len(TEMPLATE_FIELDS) + 1)
        out = []
        for fid, fname, values in TEMPLATE_FIELDS[:k]:
            out.append({"id": fid, "name": fname, "value": values[(h >> (fid % 7)) % len(values)]})
        return out

    @staticmethod
    def _valt_markers(code: int, h: int, duration: int) -> list[dict[str, Any]]:
        out = []
        for k in range((h >> 24) % 6):
            hm = mix_int(h ^ ((k + 1) * GOLD) & M64)
            out.append(
                {
                    "id": (code % 1_000_000) * 10 + k + 1,
                    "event": MARKER_EVENTS[hm % len(MARKER_EVENTS)],
                    "time": int((hm >> 8) % max(1, duration)),
                    "color": MARKER_COLORS[(hm >> 40) % len(MARKER_COLORS)],
                }
            )
        out.sort(key=lambda m: (m["time"], m["id"]))
        return out


__all__ = ["ID_STYLES", "RETENTION_TYPES", "VALT_ONLY", "ValtViews", "retention_from"]
