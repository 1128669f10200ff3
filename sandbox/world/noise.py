"""Ground-truth noise between vendors: how another vendor's copy of a canonical asset differs
from Uplynk's, and which items only look alike. Every choice is a pure function of 64-bit
hashes that :mod:`.truth` derives from ``(seed, index)``; :class:`NoiseDials` holds the shares.

What the dials make (defaults in brackets):

* titles of IBM / VALT / IRIS copies: the Uplynk title as first published (version 0) [50%],
  or with its case changed [12%], its punctuation changed [8%], a " (HD)" suffix [8%],
  a " - Trailer" suffix [5%], one typo inside a word of letters (never in a number) [10%],
  or both a case change and a " (HD)" suffix [7%]. Uplynk's own title moves on with every
  update (its version), so an updated asset is *retitled* against every copy;
* durations of copies: Uplynk's whole seconds [70%], off by one second [20%], by two [10%];
* Uplynk ``meta`` carrying the IBM video id [40% of IBM copies] or the VALT record id [40% of
  VALT copies] (keys ``ibm_video_id``, ``valt_record_id``);
* duplicates: an Uplynk asset that re-uploads an earlier asset held by IBM (same title at
  version 0, same duration, its own id, date and external id; in no other vendor): two
  Uplynk assets for one IBM video. ``duplicate_candidates`` [12%] of assets are candidates;
  one becomes a duplicate when its original is an IBM video and itself is in no other vendor;
* decoys: vendor-only items titled like a canonical asset but different content: the same
  title with " Part 2" added, or the next episode of the same series (``SxxEyy`` + 1), with a
  duration within two seconds of the imitated asset's [30% of vendor-only items].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TITLE_KINDS = ("same", "case", "punct", "hd", "trailer", "typo", "case_hd")
DECOY_KINDS = ("part", "episode")

_WORD = re.compile(r"[A-Za-z]{4,}")
_EPISODE = re.compile(r"S(\d{2})E(\d{2})")
_NEIGHBOUR = "qwertyuiopasdfghjklzxcvbnm"


@dataclass(frozen=True)
class NoiseDials:
    """The generator's noise shares, in percent of the items concerned (see the module doc)."""

    title_same: int = 50
    title_case: int = 12
    title_punct: int = 8
    title_hd: int = 8
    title_trailer: int = 5
    title_typo: int = 10
    title_case_hd: int = 7
    duration_off_1s: int = 20
    duration_off_2s: int = 10
    meta_ibm: int = 40
    meta_valt: int = 40
    duplicate_candidates: int = 12
    decoys: int = 30

    def __post_init__(self) -> None:
        shares = self.title_shares()
        if sum(shares) != 100 or min(shares) < 0:
            raise ValueError(f"title shares must be >= 0 and sum to 100, got {shares}")
        for name in ("duration_off_1s", "duration_off_2s", "meta_ibm", "meta_valt"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must be a percentage, got {getattr(self, name)}")
        if self.duration_off_1s + self.duration_off_2s > 100:
            raise ValueError("duration_off_1s + duration_off_2s must be <= 100")
        if not 0 <= self.duplicate_candidates <= 100 or not 0 <= self.decoys <= 100:
            raise ValueError("duplicate_candidates and decoys must be percentages")

    def title_shares(self) -> tuple[int, ...]:
        return tuple(getattr(self, f"title_{k}") for k in TITLE_KINDS)


DEFAULT_DIALS = NoiseDials()
#: no noise at all: copies spell titles and durations exactly as Uplynk, no duplicates/decoys
CLEAN_DIALS = NoiseDials(
    title_same=100,
    title_case=0,
    title_punct=0,
    title_hd=0,
    title_trailer=0,
    title_typo=0,
    title_case_hd=0,
    duration_off_1s=0,
    duration_off_2s=0,
    duplicate_candidates=0,
    decoys=0,
)


def title_kind(h: int, dials: NoiseDials) -> str:
    """Which title noise a copy gets, from the hash ``h``."""
    r = h % 100
    for kind, share in zip(TITLE_KINDS, dials.title_shares(), strict=True):
        if r < share:
            return kind
        r -= share
    raise AssertionError("title shares sum to 100")


def noisy_title(base: str, kind: str, h: int) -> str:
    """``base`` (the Uplynk title) with the noise ``kind``; ``h`` picks the variant."""
    v = (h >> 8) % 3
    if kind == "same":
        return base
    if kind == "case":
        return (base.upper(), base.lower(), base.capitalize())[v]
    if kind == "punct":
        return (base.replace(" - ", ": "), base.replace(" - ", " "), base + ".")[v]
    if kind == "hd":
        return base + " (HD)"
    if kind == "trailer":
        return base + " - Trailer"
    if kind == "typo":
        return typo(base, h >> 16)
    if kind == "case_hd":
        return (base.upper(), base.lower(), base.capitalize())[v] + " (HD)"
    raise ValueError(f"unknown title noise {kind!r}")


def typo(text: str, h: int) -> str:
    """One edit inside a word of four or more letters (numbers are never touched): two
    adjacent letters swapped, one letter replaced by a keyboard neighbour, or one dropped."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    m = words[h % len(words)]
    start, word = m.start(), m.group()
    p = 1 + (h >> 8) % (len(word) - 2)  # an inner position: 1 .. len-2
    op = (h >> 20) % 3
    if op == 0 and word[p] != word[p + 1]:
        new = word[:p] + word[p + 1] + word[p] + word[p + 2 :]
    elif op == 1:
        c = word[p].lower()
        k = _NEIGHBOUR.index(c) if c in _NEIGHBOUR else 0
        sub = _NEIGHBOUR[(k + 1) % len(_NEIGHBOUR)]
        new = word[:p] + (sub.upper() if word[p].isupper() else sub) + word[p + 1 :]
    else:
        new = word[:p] + word[p + 1 :]
    return text[:start] + new + text[start + len(word) :]


def duration_offset(h: int, dials: NoiseDials) -> int:
    """Seconds a copy's duration is off by: 0, +-1 or +-2 (sign from ``h``)."""
    r = h % 100
    sign = 1 if (h >> 7) & 1 else -1
    if r < dials.duration_off_1s:
        return sign
    if r < dials.duration_off_1s + dials.duration_off_2s:
        return 2 * sign
    return 0


def decoy_title(base: str, kind: str) -> str:
    """A title that looks like ``base`` but names other content: " Part 2" appended, or the
    next episode of the same season (E24 wraps to E01)."""
    if kind == "part":
        return base + " Part 2"
    m = _EPISODE.search(base)
    if m is None:
        return base + " Part 2"
    episode = int(m.group(2)) % 24 + 1
    return f"{base[: m.start()]}S{m.group(1)}E{episode:02d}{base[m.end() :]}"
