"""Uplynk's view of the world: asset ids, external ids, titles, and assets as JSON text.

``uplynk_id(i)`` is 32 hex: the first 16 are an invertible scramble of ``i``, the last 16 a
seed-derived check, so ``uplynk_index(id)`` validates. ``external_id`` is ``EXT-<i + offset,
7+ digits>`` (reversible) for ~97% of assets, ``""`` for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from .core import FLAG_MALFORMED
from .mixing import GOLD, M64, U, mix, mix_int, unmix_int
from .words import ADJ, GENRES, NOUN, RATINGS, SERIES, SERIES_SLUG

MALFORMED_KINDS = ("duration_not_a_number", "created_negative", "missing_id", "meta_not_a_dict")

_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_EXT_RE = re.compile(r"^EXT-(\d{7,})$")

# Precomputed string tables for the hot path (episode code = series*216 + season*24 + episode).
_EP_TITLE = [f"{s} S{a + 1:02d}E{b + 1:02d}" for s in SERIES for a in range(9) for b in range(24)]
_ORIG = [
    f'"{s}_s{a + 1:02d}e{b + 1:02d}.mov"' for s in SERIES_SLUG for a in range(9) for b in range(24)
]
_META_EP = [
    f'"series":"{s}","season":"{a + 1}","episode":"{b + 1}"'
    for s in SERIES
    for a in range(9)
    for b in range(24)
]
_SUFFIX = [f" - {a} {n}" for a in ADJ for n in NOUN]
_META_RG = [f'"rating":"{r}","genre":"{g}"' for r in RATINGS for g in GENRES]
_STATE = ["failed"] * 10 + ["slicing"] * 20 + ["ready"] * 970
_ORIG2 = [x for o in _ORIG for x in ("null", o)]
# bits 0-2: rays-4, bit 3: require_drm, bit 4: live job
_HEAD = [
    f'{{"rays":{4 + (m & 7)},"require_drm":{(m >> 3) & 1},"require_studio_drm":0,'
    f'"job_type":"{"live" if m & 16 else "vod"}","libraries":[],'
    for m in range(32)
]
_BREAK = [
    f'[{{"break_type":"AD BREAK","duration":30.0,"offset":{k * 0.5 + 7.25!r}}}]'
    for k in range(1000)
]


class UplynkAssets:
    """Mixed into World: Uplynk ids and assets as the API serves them."""

    def uplynk_id(self, i: int) -> str:
        return f"{mix_int(i + self._k_id):016x}{mix_int(i ^ self._k_chk):016x}"

    def uplynk_ids(self, idx: np.ndarray) -> list[str]:
        idx = np.asarray(idx, dtype=np.int64)
        pair = np.empty((len(idx), 2), dtype=">u8")
        if len(idx) and int(idx.max()) < len(self._P):
            pair = self._P[idx].astype(">u8", copy=False)
        else:
            u = idx.astype(np.uint64)
            pair[:, 0] = mix(u + U(self._k_id))
            pair[:, 1] = mix(u ^ U(self._k_chk))
        h = pair.tobytes().hex()
        return [h[k : k + 32] for k in range(0, 32 * len(idx), 32)]

    def uplynk_index(self, asset_id: Any) -> int | None:
        """Decode an Uplynk asset id to its canonical index; None when not one of ours."""
        if not isinstance(asset_id, str) or not _ID_RE.match(asset_id):
            return None
        i = (unmix_int(int(asset_id[:16], 16)) - self._k_id) & M64
        if i >= self.n or mix_int(i ^ self._k_chk) != int(asset_id[16:], 16):
            return None
        return i

    def has_external_id(self, idx: np.ndarray) -> np.ndarray:
        hs = self._static_hash(idx)
        return ((hs >> U(48)) % U(100)) >= U(3)

    def external_id(self, i: int) -> str:
        if not self.has_external_id(np.array([i]))[0]:
            return ""
        return f"EXT-{i + self.ext_offset:07d}"

    def external_index(self, external_id: Any) -> int | None:
        if not isinstance(external_id, str):
            return None
        m = _EXT_RE.match(external_id)
        if not m:
            return None
        i = int(m.group(1)) - self.ext_offset
        if i < 0 or i >= self.n or not self.has_external_id(np.array([i]))[0]:
            return None
        return i

    def _title_codes(self, idx: np.ndarray, version: np.ndarray | None = None):
        """(static hash, version hash, episode code, title-suffix code, rating/genre code)."""
        idx = np.asarray(idx, dtype=np.int64)
        if version is None:
            version = self.version[idx]
        hs = self._static_hash(self.title_source(idx))  # a duplicate's: its original's (truth.py)
        hv = mix(hs ^ (np.asarray(version, np.uint64) * U(GOLD) + U(self._k_ver)))
        ep = (hs % U(len(SERIES))) * U(216) + ((hs >> U(8)) % U(9)) * U(24) + (hs >> U(12)) % U(24)
        sx = ((hv >> U(4)) % U(len(ADJ))) * U(len(NOUN)) + (hv >> U(12)) % U(len(NOUN))
        rg = ((hv >> U(24)) % U(len(RATINGS))) * U(len(GENRES)) + (hv >> U(28)) % U(len(GENRES))
        return hs, hv, ep, sx, rg

    def uplynk_titles(self, idx: np.ndarray, version: np.ndarray | None = None) -> list[str]:
        _, _, ep, sx, _ = self._title_codes(idx, version)
        return [_EP_TITLE[e] + _SUFFIX[x] for e, x in zip(ep.tolist(), sx.tolist(), strict=True)]

    def uplynk_json(self, idx: np.ndarray, as_served: bool = True) -> list[str]:
        """The assets at canonical indices ``idx`` exactly as the Uplynk API serves them
        (JSON object text each; deleted ones carry ``deleted``; malformed ones malformed;
        dates on the feed's clock, ``uplynk_offset_ms`` added), except that ``mp4_url`` is
        the PATH of the asset's media on the sandbox's media CDN
        (``/media-cdn/uplynk/<id>/video.mp4``): the world does not know the server's
        address, so the Uplynk emulation puts the request's ``scheme://host`` in front when
        it serialises (``with_media_base``).
        ``as_served=False`` keeps the numbers of ``served_as_strings`` assets numbers (what
        they mean, for the expected export). Hot path of asset/list: table lookups and one
        f-string per asset."""
        idx = np.asarray(idx, dtype=np.int64)
        if not len(idx):
            return []
        ids = self.uplynk_ids(idx)
        rows = self._D[idx].tolist()
        off = self.uplynk_offset_ms
        deleted, autoexpire = self.deleted_ms[idx], self.autoexpire_ms[idx]
        if off:
            deleted = np.where(deleted != 0, deleted + off, 0)
            autoexpire = np.where(autoexpire != 0, autoexpire + off, 0)
        mut = np.column_stack(
            (
                self.created_ms[idx] + off,
                self.lastmod_ms[idx] + off,
                deleted,
                autoexpire,
                idx + self.ext_offset,
            )
        ).tolist()
        mal = self.flags[idx] & FLAG_MALFORMED
        any_mal = bool(mal.any())
        extras = self.uplynk_meta_extras(idx)  # other vendors' ids in meta (truth.py)
        out = []
        append = out.append
        for aid, (e, x, r, st, w, f, sl, m), (c, lm, dl, ax, eb), mx in zip(
            ids, rows, mut, extras, strict=True
        ):
            p1 = aid[:24]
            a3 = aid[:3]
            tail = f',"deleted":{dl}}}' if dl else "}"
            append(
                f'{_HEAD[m & 31]}"orig_filename":{_ORIG2[2 * e + ((m >> 5) & 1)]},"slices":{sl},'
                f'"autoexpire":{ax},"break_offsets":{_BREAK[w % 1000] if m & 64 else "[]"},'
                f'"created":{c},"lastmod":{lm},'
                f'"test_player_url":"https://content.uplynk.com/player5/{p1}.html",'
                f'"test_players":[{{"desc":"Monitoring Test Player","id":"{p1}",'
                f'"url":"https://content.uplynk.com/player5/{p1}.html"}}],'
                f'"state":"{_STATE[st]}","duration":{w}.{f},'
                f'"embed_player_url":"https://content.uplynk.com/player5/{aid[8:]}.html",'
                f'"external_id":"{f"EXT-{eb:07d}" if m & 128 else ""}","id":"{aid}",'
                f'"thumb_url":"https://storage.uplynk.com/slices/{a3}/{aid}/00000001.jpg",'
                f'"desc":"{_EP_TITLE[e]}{_SUFFIX[x]}",'
                f'"mp4_url":"/media-cdn/uplynk/{aid}/video.mp4",'
                f'"meta":{{{_META_EP[e]},{_META_RG[r]}{mx}}}{tail}'
            )
        if as_served and self.numbers_as_strings > 0:
            for k in np.nonzero(self.served_as_strings(idx))[0].tolist():
                out[k] = _stringify_numbers(out[k])
        if any_mal:
            for k in np.nonzero(mal)[0].tolist():
                out[k] = self._malform(out[k], int(self._static_hash(idx[k : k + 1])[0]))
        return out

    @staticmethod
    def _malform(j: str, h: int) -> str:
        d = orjson.loads(j)
        kind = (h >> 60) % 4
        if kind == 0:
            d["duration"] = "n/a"
        elif kind == 1:
            d["created"] = -1
        elif kind == 2:
            d.pop("id", None)
        else:
            m = d["meta"]
            d["meta"] = ";".join(f"{k}={v}" for k, v in m.items())
        return orjson.dumps(d).decode()

    def malformed_kind(self, i: int) -> str | None:
        if not self.is_malformed(i):
            return None
        return MALFORMED_KINDS[(int(self._static_hash(np.array([i]))[0]) >> 60) % 4]

    def uplynk_asset(self, i: int) -> dict[str, Any]:
        return orjson.loads(self.uplynk_json(np.array([i]))[0])

    def served_as_strings(self, idx: np.ndarray) -> np.ndarray:
        """Mask of the assets whose numbers are served as numeric strings: a deterministic
        ``numbers_as_strings`` share, a function of (seed, index)."""
        p = self.numbers_as_strings
        if p <= 0 or not len(idx):
            return np.zeros(len(idx), dtype=bool)
        h = self._static_hash(np.asarray(idx, dtype=np.int64), self._k_str)
        return (h % U(1_000_000)) < U(int(min(p, 1.0) * 1_000_000))

    def iter_uplynk_expected(self, chunk: int = 20000) -> Iterator[bytes]:
        """NDJSON lines: every Uplynk asset the world knows (live and deleted) as the API
        serves it (dates on the feed's clock; deleted ones carry ``deleted``) but with numbers
        as numbers where they are served as strings, plus ``malformed`` (bool), ``_index``
        (canonical index) and, only on assets whose STRING_NUMBER_FIELDS are served as
        numeric strings, ``"served_as_strings": true`` (absent means false, so rows keep
        their original keys while ``numbers_as_strings`` is 0)."""
        n = self.n
        for s in range(0, n, chunk):
            idx = np.arange(s, min(n, s + chunk), dtype=np.int64)
            js = self.uplynk_json(idx, as_served=False)
            mal = (self.flags[idx] & FLAG_MALFORMED).tolist()
            strs = self.served_as_strings(idx).tolist()
            parts = []
            for k, j in enumerate(js):
                flag = ',"served_as_strings":true' if strs[k] else ""
                parts.append(
                    f'{j[:-1]},"malformed":{"true" if mal[k] else "false"}{flag},'
                    f'"_index":{s + k}}}\n'
                )
            yield "".join(parts).encode()


STRING_NUMBER_FIELDS = ("duration", "autoexpire", "created", "lastmod")
# mp4_url is served as "<scheme://host>/media-cdn/uplynk/<id>/video.mp4" (sandbox/media_cdn.py)
MP4_URL_PREFIX = b'"mp4_url":"/media-cdn/'


def with_media_base(body: bytes, base: str) -> bytes:
    """``body`` (Uplynk JSON text from ``uplynk_json``) with every mp4_url made absolute on
    ``base`` (``scheme://host[:port]``, as the request addressed the server)."""
    if not base:
        return body
    return body.replace(MP4_URL_PREFIX, b'"mp4_url":"' + base.encode() + b"/media-cdn/")


def _stringify_numbers(j: str) -> str:
    """The asset text with its STRING_NUMBER_FIELDS as numeric strings ("1800.5")."""
    d = orjson.loads(j)
    for k in STRING_NUMBER_FIELDS:
        v = d.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool):
            d[k] = repr(v)
    return orjson.dumps(d).decode()
