"""IRIS.TV's catalog as the sandbox serves it: source URLs (tokenized, on the media CDN),
IRIS_ID data API records, Watch items and the ground-truth rows.

A source URL is ``{base}/media-cdn/iris/{iris_id}/video.mp4?token=T&expires=E``: ``E`` is its
expiry in Unix seconds (real clock) and ``T`` a keyed BLAKE2b of (system, id, expires) with
a key derived from the seed, so the CDN checks a URL without storing it and nobody can move
an expiry. Expiries are anchored at the moment the IRIS state was built (``anchor_s``): an
``expired`` asset's first URL expired 1 h to 8 days before it, every other one expires 2 to
14 days after it. A refresh mints a URL expiring ``url_ttl_s`` after the refresh (or, for the
assets the vendor cannot regenerate, one that has already expired); from then on the data
API serves the refreshed URL (``IrisCatalog.refreshed``).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from .world import World
from .world.iris import IRIS_ONLY
from .world.mixing import salt_of

NOT_AVAILABLE = "NOT_AVAILABLE"
CDN_PREFIX = "/media-cdn"
_DAY_S = 86_400


def cdn_key(seed: int) -> bytes:
    """The seed's key for CDN URL tokens."""
    return salt_of(seed, "media-cdn-token").to_bytes(8, "big") * 2


def url_token(key: bytes, system: str, item_id: str, expires: int) -> str:
    """The token of a CDN URL for (system, id, expires): 32 hex."""
    msg = f"{system}/{item_id}/{int(expires)}".encode()
    return hashlib.blake2b(msg, key=key, digest_size=16).hexdigest()


def cdn_url(base: str, key: bytes, system: str, item_id: str, expires: int) -> str:
    tok = url_token(key, system, item_id, expires)
    return f"{base}{CDN_PREFIX}/{system}/{item_id}/video.mp4?token={tok}&expires={int(expires)}"


class IrisCatalog:
    """The IRIS assets of one world, with the refreshes the sandbox answered."""

    def __init__(self, world: World, platform: str, anchor_s: int | None = None) -> None:
        self.world = world
        self.platform = platform
        self.anchor_s = int(time.time()) if anchor_s is None else int(anchor_s)
        self.key = cdn_key(world.seed)
        self.refreshed: dict[int, int] = {}  # code -> expiry of the URL the last refresh minted
        self.gave_up: set[int] = set()  # codes answered with an already-expired URL

    # -- one asset ---------------------------------------------------------------------
    def decode(self, iris_id: Any) -> int | None:
        return self.world.iris_decode(iris_id)

    def first_expires(self, code: int) -> int:
        """The expiry of the URL the data API serves before any refresh."""
        h = self.world._iris_h(code) >> 24
        if self.world.iris_source_kind(code) == "expired":
            return self.anchor_s - 3600 - int(h % (7 * _DAY_S))
        return self.anchor_s + 2 * _DAY_S + int(h % (12 * _DAY_S))

    def expires(self, code: int) -> int | None:
        """The expiry of the URL served now; None for NOT_AVAILABLE."""
        if self.world.iris_source_kind(code) == "not_available":
            return None
        got = self.refreshed.get(code)
        return self.first_expires(code) if got is None else got

    def source_url(self, code: int, base: str) -> str:
        exp = self.expires(code)
        if exp is None:
            return NOT_AVAILABLE
        return cdn_url(base, self.key, "iris", self.world.iris_id_of(code), exp)

    def content_kind(self, code: int) -> str:
        """What the CDN serves for the asset's media once a URL is valid: live, gone_404,
        gone_410, forbidden, slow or redirect (an ``expired`` asset's media is live)."""
        kind = self.world.iris_source_kind(code)
        return "live" if kind == "expired" else kind

    def source_url_kind(self, code: int, now_s: float | None = None) -> str:
        """The state of the URL served now (SOURCE_KINDS)."""
        exp = self.expires(code)
        if exp is None:
            return "not_available"
        if exp <= (time.time() if now_s is None else now_s):
            return "expired"
        return self.content_kind(code)

    def thumbnail_url(self, code: int) -> str:
        return f"https://images.iris.tv/thumbnails/{self.world.iris_id_of(code)}.jpg"

    def record(self, code: int, base: str) -> dict[str, Any]:
        """The IRIS_ID data API's answer for one asset, keys in the documented order."""
        w = self.world
        iid = w.iris_id_of(code)
        meta = w.iris_metadata(code)
        captions = f"https://captions.iris.tv/{iid}.vtt" if meta["has_captions"] else None
        return {
            "iris_id": iid,
            "title": meta["title"],
            "description": meta["description"],
            "source_url": self.source_url(code, base),
            "thumbnail_url": self.thumbnail_url(code),
            "closed_caption_url": captions,
            "length_secs": meta["length_secs"],
            "source_keywords": meta["source_keywords"],
            "billing_id": meta["billing_id"],
        }

    def watch_item(self, code: int, base: str) -> tuple[list[tuple[str, Any]], bool, bool]:
        """One item of a Watch/Next ``next`` list: (fields in order, doubled quote on the
        platform_id, trailing comma). Fields as in the vendor's samples plus ``url``,
        ``thumbnail_url`` and ``duration``; ``platform_id`` only when IRIS has one,
        ``content_url`` only when a source URL exists, ``reviewed`` on some items (the
        samples' items ending with ``reviewed`` carry a trailing comma)."""
        w = self.world
        url = self.source_url(code, base)
        pid = w.iris_platform_of(code)
        release, reviewed = w.iris_dates(code)
        fields: list[tuple[str, Any]] = [
            ("iris_id", w.iris_id_of(code)),
            ("platform", self.platform),
        ]
        if url != NOT_AVAILABLE:
            fields.append(("content_url", url))
        if pid is not None:
            fields.append(("platform_id", pid))
        fields += [
            ("title", w.iris_title(code)),
            ("url", url),
            ("thumbnail_url", self.thumbnail_url(code)),
            ("duration", w.iris_length_secs(code)),
            ("release_date", release),
        ]
        if reviewed is not None:
            fields.append(("reviewed", reviewed))
        doubled = pid is not None and (w._iris_h(code) >> 52) % 100 < 10
        return fields, doubled, reviewed is not None

    # -- ground truth ------------------------------------------------------------------
    def expected(self, base: str, number: int) -> Any:
        """Rows of GET /_control/iris/expected, one per IRIS asset (see iris_control.py)."""
        w = self.world
        now_s = time.time()
        for code in w.iris_codes().tolist():
            pid = w.iris_platform_of(code)
            kind = self.source_url_kind(code, now_s)
            recs = None
            if pid is not None:
                recs = [
                    w.iris_id_of(c)
                    for c in w.iris_recommendations(code, w.iris_version(code), number)
                ]
            yield {
                **self.record(code, base),
                "platform_id": pid,
                "canonical_index": code if code < IRIS_ONLY else None,
                "source_url_kind": kind,
                "expires": self.expires(code),
                "refreshable": kind != "not_available" and not w.iris_refresh_expired(code),
                "refresh_expired": w.iris_refresh_expired(code),
                "gave_up": code in self.gave_up,
                "recommendations": recs,
            }

    def media_rows(self, base: str) -> Any:
        """Rows of GET /_control/media/expected for the IRIS source URLs."""
        now_s = time.time()
        w = self.world
        for code in w.iris_codes().tolist():
            exp = self.expires(code)
            if exp is None:
                continue
            yield {
                "system": "iris",
                "id": w.iris_id_of(code),
                "url": self.source_url(code, base),
                "kind": self.source_url_kind(code, now_s),
                "expires": exp,
            }
