"""Cross-vendor ground truth: titles and durations as other vendors spell them, duplicates and
decoys, the ids Uplynk's ``meta`` carries, and the truth rows that say which Uplynk asset, IBM
video, VALT recording and IRIS id are the same content.

The noise is dialled by ``World.noise_dials`` (:class:`.noise.NoiseDials`; change it with
:meth:`TruthViews.set_noise`). The truth is for tests and benchmarks only: the connector never
reads it (it is served at ``GET /_control/truth``).

Duplicates are Uplynk assets that re-upload an earlier asset: their title codes and duration
come from the original. :meth:`TruthViews._derive_static` therefore overrides WorldCore's (this
mixin comes before WorldCore in World's bases) and ``UplynkAssets._title_codes`` hashes the
original's index (:meth:`title_source`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .mixing import GOLD, M64, U, mix_int, salt_of
from .noise import (
    DECOY_KINDS,
    DEFAULT_DIALS,
    NoiseDials,
    decoy_title,
    duration_offset,
    noisy_title,
    title_kind,
)
from .uplynk import _EP_TITLE, _SUFFIX
from .words import ADJ, NOUN, SERIES

_DUP_WINDOW = 64  # a duplicate re-uploads one of the 64 assets created just before it (by index)


class TruthViews:
    """Mixed into World: vendor titles/durations, duplicates, decoys, meta ids, ``truth``."""

    noise_dials: NoiseDials = DEFAULT_DIALS

    def set_noise(self, dials: NoiseDials) -> None:
        """Use ``dials`` from now on (the duplicates' derived fields are refreshed)."""
        with self.lock:
            self.noise_dials = dials
            self.__dict__.pop("_valt_names", None)  # VALT caches names derived from titles
            idx = np.arange(self.n, dtype=np.int64)
            if len(idx):
                static = self._derive_static(idx)
                for c in ("ep", "whole", "frac", "slices"):
                    self._D[:, self._DCOLS.index(c)] = static[c]
                self._refresh_version_derived(idx)
            self.mutations += 1

    def _noise_hash(self, idx: np.ndarray, name: str) -> np.ndarray:
        return self._static_hash(np.asarray(idx, dtype=np.int64), self._noise_salt(name))

    def _noise_salt(self, name: str) -> int:
        salts = self.__dict__.setdefault("_noise_salts", {})
        if name not in salts:
            salts[name] = salt_of(self.seed, "noise-" + name)
        return salts[name]

    def _noise_int(self, i: int, name: str) -> int:
        """``_noise_hash`` of one index, without numpy (the per-item hot path)."""
        h = mix_int(((i * GOLD) & M64) ^ self._k_static)
        return mix_int(h ^ self._noise_salt(name))

    def first_title(self, i: int) -> str:
        """Uplynk's title of asset ``i`` at version 0 (= ``uplynk_titles([i], [0])``, without
        numpy; ``i`` must not be a duplicate)."""
        hs = mix_int(((i * GOLD) & M64) ^ self._k_static)
        hv = mix_int(hs ^ self._k_ver)
        ep = (hs % len(SERIES)) * 216 + ((hs >> 8) % 9) * 24 + (hs >> 12) % 24
        sx = ((hv >> 4) % len(ADJ)) * len(NOUN) + (hv >> 12) % len(NOUN)
        return _EP_TITLE[ep] + _SUFFIX[sx]

    # -- duplicates ----------------------------------------------------------------------
    def duplicate_of(self, idx: np.ndarray) -> np.ndarray:
        """Per canonical index, the earlier asset it re-uploads, or -1. An original is an IBM
        video and no candidate itself; a duplicate is in no vendor but Uplynk."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.full(len(idx), -1, dtype=np.int64)
        share = self.noise_dials.duplicate_candidates
        if not share or not len(idx):
            return out
        h = self._noise_hash(idx, "dup")
        orig = idx - 1 - (h >> U(8)).astype(np.int64) % _DUP_WINDOW
        ok = ((h % U(100)) < U(share)) & (orig >= 0)
        if not ok.any():
            return out
        o = np.where(ok, orig, 0)
        ok &= (self._noise_hash(o, "dup") % U(100)) >= U(share)
        ok &= self.ibm_member(o) & ~self.ibm_member(idx)
        ok &= ~self.valt_member(idx) & ~self.iris_member(idx)
        out[ok] = orig[ok]
        return out

    def title_source(self, idx: np.ndarray) -> np.ndarray:
        """The index whose title codes an asset uses: its original for a duplicate."""
        idx = np.asarray(idx, dtype=np.int64)
        dup = self.duplicate_of(idx)
        return np.where(dup >= 0, dup, idx)

    def _derive_static(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        d = super()._derive_static(idx)  # type: ignore[misc]
        dup = self.duplicate_of(idx)
        sel = dup >= 0
        if sel.any():
            orig = super()._derive_static(dup[sel])  # type: ignore[misc]
            for c in ("ep", "whole", "frac", "slices"):
                d[c][sel] = orig[c]
        return d

    # -- copies at other vendors ---------------------------------------------------------
    def vendor_title_kind(self, vendor: str, i: int) -> str:
        return title_kind(self._noise_int(i, "title-" + vendor), self.noise_dials)

    def vendor_title(self, vendor: str, i: int) -> str:
        """The canonical title as first published (version 0) as another vendor spells it."""
        base = self.first_title(i)  # members of other vendors are never duplicates
        h = self._noise_int(i, "title-" + vendor)
        return noisy_title(base, title_kind(h, self.noise_dials), h)

    def vendor_duration_offset(self, vendor: str, i: int) -> int:
        return duration_offset(self._noise_int(i, "dur-" + vendor), self.noise_dials)

    def vendor_duration(self, vendor: str, i: int) -> int:
        """Whole seconds of canonical asset ``i`` as another vendor holds them (noise added)."""
        if i >= len(self._D):
            return 60
        whole = int(self._D[i, self._DCOLS.index("whole")])
        return max(1, whole + self.vendor_duration_offset(vendor, i))

    # -- vendor-only items and decoys ----------------------------------------------------
    def decoy_target(self, vendor: str, j: int) -> tuple[int, str] | None:
        """(canonical index imitated, decoy kind) when vendor-only item ``j`` is a decoy."""
        if not self.n_initial:
            return None
        h = mix_int(j * GOLD ^ salt_of(self.seed, "decoy-" + vendor))
        if h % 100 >= self.noise_dials.decoys:
            return None
        return int((h >> 8) % self.n_initial), DECOY_KINDS[(h >> 40) % len(DECOY_KINDS)]

    def vendor_only_title(self, vendor: str, j: int) -> str:
        decoy = self.decoy_target(vendor, j)
        if decoy is not None:
            t = decoy[0]
            base = self.uplynk_titles(np.array([t]), np.array([0]))[0]
            return decoy_title(base, decoy[1])
        h = mix_int(j * GOLD ^ salt_of(self.seed, "only-" + vendor))
        return f"{ADJ[h % len(ADJ)]} {NOUN[(h >> 8) % len(NOUN)]} ({vendor.upper()} exclusive {j})"

    def vendor_only_duration(self, vendor: str, j: int, default: int) -> int:
        """A decoy's duration is within two seconds of the asset it imitates; else ``default``."""
        decoy = self.decoy_target(vendor, j)
        if decoy is None:
            return int(default)
        return self.vendor_duration("decoy-" + vendor, decoy[0])

    # -- ids carried in Uplynk's meta ----------------------------------------------------
    def meta_ids(self, idx: np.ndarray) -> tuple[list[str | None], list[str | None]]:
        """(IBM video id, VALT record id) each Uplynk asset's ``meta`` carries, or None. A
        duplicate may carry its original's IBM video id."""
        idx = np.asarray(idx, dtype=np.int64)
        dials = self.noise_dials
        src = self.title_source(idx)
        ibm = self.ibm_member(src) & (
            (self._noise_hash(idx, "meta-ibm") % U(100)) < U(dials.meta_ibm)
        )
        valt = self.valt_member(idx) & (
            (self._noise_hash(idx, "meta-valt") % U(100)) < U(dials.meta_valt)
        )
        ibm_ids: list[str | None] = [None] * len(idx)
        valt_ids: list[str | None] = [None] * len(idx)
        sel = np.nonzero(ibm)[0]
        codes = (src[sel] * self._IBM_A + self._IBM_B) & self._IBM_MASK  # = ibm_video_id
        for k, code in zip(sel.tolist(), (codes + 1_000_000_000).tolist(), strict=True):
            ibm_ids[k] = str(code)
        for k in np.nonzero(valt)[0].tolist():
            valt_ids[k] = self.valt_id(int(idx[k]))
        return ibm_ids, valt_ids

    def uplynk_meta_extras(self, idx: np.ndarray) -> list[str]:
        """Per asset, the JSON members its ``meta`` object carries after the usual ones:
        ``,"ibm_video_id":"..."`` and/or ``,"valt_record_id":"..."`` (often "")."""
        ibm_ids, valt_ids = self.meta_ids(idx)
        return [
            (f',"ibm_video_id":"{b}"' if b else "") + (f',"valt_record_id":"{v}"' if v else "")
            for b, v in zip(ibm_ids, valt_ids, strict=True)
        ]

    # -- the truth -----------------------------------------------------------------------
    def truth(self, chunk: int = 65536) -> Iterator[dict[str, Any]]:
        """Ground-truth rows: every canonical asset (live or deleted in Uplynk), then the
        vendor-only items. None where the asset is absent from a vendor.

        Canonical rows also say how each copy can be linked (``*_via``: ``meta`` / ``platform_id``
        when a key carries it, else ``title``), the noise on it (``noise``: vendor -> [title
        kind, seconds off]), whether Uplynk retitled the asset since (``retitled``), and
        ``content_index``: the same content is one ``content_index`` (a duplicate's is its
        original's; ``duplicate_via`` says whether its meta carries the IBM video id). Vendor-only rows carry ``decoy_of`` / ``decoy_kind`` for decoys."""
        for s in range(0, self.n, chunk):
            idx = np.arange(s, min(self.n, s + chunk), dtype=np.int64)
            yield from self._canonical_truth(idx)
        for vendor, count in (
            ("ibm", self.ibm_only_count),
            ("valt", self.valt_only_count),
            ("iris", self.iris_only_count),
        ):
            for j in range(count):
                yield self._vendor_only_truth(vendor, j)

    def _canonical_truth(self, idx: np.ndarray) -> Iterator[dict[str, Any]]:
        ids = self.uplynk_ids(idx)
        member = {
            "ibm": self.ibm_member(idx).tolist(),
            "valt": self.valt_member(idx).tolist(),
            "iris": self.iris_member(idx).tolist(),
        }
        dup = self.duplicate_of(idx).tolist()
        meta_ibm, meta_valt = self.meta_ids(idx)
        retitled = (self.version[idx] > 0).tolist()
        for k, i in enumerate(idx.tolist()):
            ib, va, ir = member["ibm"][k], member["valt"][k], member["iris"][k]
            noise = {
                v: [self.vendor_title_kind(v, i), self.vendor_duration_offset(v, i)]
                for v in ("ibm", "valt", "iris")
                if member[v][k]
            }
            yield {
                "canonical_index": i,
                "uplynk_id": ids[k],
                "ibm_video_id": self.ibm_video_id(i) if ib else None,
                "valt_id": self.valt_id(i) if va else None,
                "iris_id": self.iris_id(i) if ir else None,
                "content_index": dup[k] if dup[k] >= 0 else i,
                "duplicate_of": dup[k] if dup[k] >= 0 else None,
                "ibm_via": ("meta" if meta_ibm[k] else "title") if ib else None,
                "valt_via": ("meta" if meta_valt[k] else "title") if va else None,
                "iris_via": (
                    ("platform_id" if self.iris_platform_id(i) else "title") if ir else None
                ),
                "duplicate_via": ("meta" if meta_ibm[k] else "title") if dup[k] >= 0 else None,
                "retitled": retitled[k],
                "noise": noise,
            }

    def _vendor_only_truth(self, vendor: str, j: int) -> dict[str, Any]:
        decoy = self.decoy_target(vendor, j)
        return {
            "canonical_index": None,
            "uplynk_id": None,
            "ibm_video_id": self.ibm_video_id(j, True) if vendor == "ibm" else None,
            "valt_id": self.valt_id(j, True) if vendor == "valt" else None,
            "iris_id": self.iris_id(j, True) if vendor == "iris" else None,
            "content_index": None,
            "decoy_of": decoy[0] if decoy else None,
            "decoy_kind": decoy[1] if decoy else None,
        }
