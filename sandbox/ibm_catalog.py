"""IBM's video catalog: which videos each channel holds, in which order, and their expirations.

A video is a key ``(vendor_only, i)``: a canonical asset ``i`` of the world, an IBM-only video
``j < world.ibm_only_count``, or a video *uploaded* by the sandbox itself (listing churn,
``POST /_control/ibm/churn``): IBM-only keys ``j >= world.ibm_only_count``, whose ids come from
the same bijection (``World.ibm_video_id``) so they never collide with the world's. Uploads
and the videos the sandbox *removed* live here, not in the world, and vanish with it on reset.

Channel listings are ordered like the vendor's default "recent" sort: ``created_at``
descending, ties by id descending (``order="oldest"`` reverses it). An upload is the channel's
newest video (``created_at`` = the simulated now, or one second after the newest one).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from .world import IBM_CHANNEL_IDS, World

Key = tuple[bool, int]  # (vendor_only, index): one IBM video
ORDERS = ("recent", "oldest")
_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000


class IbmCatalog:
    """The videos of the four channels over simulated time, plus the sandbox's own changes."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.lock = threading.Lock()
        self.order = "recent"
        self.never_since: dict[str, int] = {}  # video id -> sim ms of its PUT rule=never
        self.uploads: dict[int, dict[str, Any]] = {}  # j -> the uploaded video's JSON
        self.upload_index: dict[str, int] = {}  # uploaded video id -> j
        self.upload_channel: dict[int, str] = {}
        self.removed: dict[Key, int] = {}  # removed by the sandbox: key -> sim ms
        self.version = 0  # bumped by PUTs, uploads and removals (invalidates listings)
        self._created: dict[Key, int] = {}
        self._members: tuple[tuple, dict[str, list[Key]]] | None = None
        self._sorted: dict[str, tuple[tuple, list[Key]]] = {}
        self._live: dict[str, tuple[tuple, list[Key]]] = {}

    # -- one video ---------------------------------------------------------------------
    def video_id(self, key: Key) -> str:
        return self.world.ibm_video_id(key[1], key[0])

    def decode(self, video_id: str) -> Key | None:
        d = self.world.ibm_decode(video_id)
        if d is not None:
            return (d[0] == "ibm_only", d[1])
        j = self.upload_index.get(str(video_id))
        return None if j is None else (True, j)

    def is_upload(self, key: Key) -> bool:
        return key[0] and key[1] >= self.world.ibm_only_count

    def expiration(self, key: Key, now_ms: int) -> tuple[str, int | None, bool]:
        """(rule, expires_at Unix s or None, expired). Uploads never expire."""
        if self.is_upload(key):
            return ("never", None, False)
        vo, i = key
        return self.world.ibm_expiration_at(i, vo, now_ms, self.never_since.get(self.video_id(key)))

    def check_error(self, key: Key) -> str | None:
        """The expiration endpoints' deterministic 403/404 for this video, or None."""
        if self.is_upload(key):
            return None
        return self.world.ibm_check_error(key[1], key[0])

    def alive(self, key: Key, now_ms: int) -> bool:
        if key in self.removed:
            return False
        if self.is_upload(key):
            return key[1] in self.uploads
        vo, i = key
        w = self.world
        if not vo and (i >= w.n or w.ibm_hand_deleted(i)):
            return False
        return not self.expiration(key, now_ms)[2]

    def video_json(self, key: Key) -> dict[str, Any]:
        """The video as the listing serves it."""
        if self.is_upload(key):
            return dict(self.uploads[key[1]])
        v = self.world.ibm_video(key[1], key[0])
        return {
            "id": v["id"],
            "title": v["title"],
            "description": f"{v['title']} - sandbox video",
            "length": v["length"],
            "created_at": v["created_at"],
            "added_at": v["added_at"],
            "file_size": v["file_size"],
            "views": v["views"],
            "protect": v["protect"],
        }

    def protect(self, key: Key, now_ms: int) -> None:
        """``PUT rule=never``: the rule stays never from ``now_ms`` on."""
        with self.lock:
            self.never_since.setdefault(self.video_id(key), now_ms)
            self.version += 1

    # -- channels ------------------------------------------------------------------------
    def members(self) -> dict[str, list[Key]]:
        """Every video ever in each channel (live or not; uploads included), unordered."""
        w = self.world
        token = (w.n, len(self.uploads))
        if self._members is None or self._members[0] != token:
            by: dict[str, list[Key]] = {c: [] for c in IBM_CHANNEL_IDS}
            j = np.arange(w.ibm_only_count, dtype=np.int64)
            if len(j):
                for jj, c in zip(j.tolist(), w.ibm_channel_ids(j, vendor_only=True), strict=True):
                    by[c].append((True, jj))
            idx, chans = w.ibm_member_codes()
            for i, c in zip(idx.tolist(), chans, strict=True):
                by[c].append((False, i))
            for jj, c in self.upload_channel.items():
                by[c].append((True, jj))
            self._members = (token, by)
        return self._members[1]

    def created_at(self, key: Key) -> int:
        c = self._created.get(key)
        if c is None:
            self._fill_created([key])
            c = self._created[key]
        return c

    def _fill_created(self, keys: list[Key]) -> None:
        """Cache ``created_at`` of ``keys`` (one vectorized world call per kind)."""
        todo = [k for k in keys if k not in self._created and not self.is_upload(k)]
        for vo in (False, True):
            idx = [i for v, i in todo if v == vo]
            if idx:
                values = self.world.ibm_created_at(np.asarray(idx, dtype=np.int64), vo)
                for i, c in zip(idx, values.tolist(), strict=True):
                    self._created[(vo, i)] = int(c)

    def _ordered(self, channel: str) -> list[Key]:
        """The channel's members in listing order (live or not)."""
        members = self.members().get(channel, [])
        token = (self.world.n, len(self.uploads), self.order)
        hit = self._sorted.get(channel)
        if hit is not None and hit[0] == token:
            return hit[1]
        self._fill_created(members)
        ids = [int(self.video_id(k)) for k in members]
        created = [self._created[k] for k in members]
        pos = sorted(range(len(members)), key=lambda p: (created[p], ids[p]))
        if self.order == "recent":
            pos.reverse()
        out = [members[p] for p in pos]
        self._sorted[channel] = (token, out)
        return out

    def listing(self, channel: str, now_ms: int) -> list[Key]:
        """The channel's live videos at ``now_ms``, in listing order."""
        w = self.world
        elapsed = max(0, now_ms - w.epoch_ms)
        token = (w.n, w.mutations, self.version, self.order, elapsed // _HOUR_MS)
        hit = self._live.get(channel)
        if hit is not None and hit[0] == token:
            return hit[1]
        live = [k for k in self._ordered(channel) if self.alive(k, now_ms)]
        self._live[channel] = (token, live)
        return live

    def upload(self, channel: str, now_ms: int) -> Key:
        """A new video in ``channel``, newest of all; returns its key."""
        if channel not in IBM_CHANNEL_IDS:
            raise ValueError(f"unknown channel {channel!r}; one of {IBM_CHANNEL_IDS}")
        ordered = self._ordered(channel)
        newest = max((self.created_at(k) for k in (ordered[:1] + ordered[-1:])), default=0)
        created = max(now_ms // 1000, newest + 1)
        with self.lock:
            k = len(self.uploads)
            j = self.world.ibm_only_count + k
            vid = self.world.ibm_video_id(j, True)
            self.uploads[j] = {
                "id": vid,
                "title": f"Sandbox upload {k + 1} to channel {channel}",
                "description": "uploaded by the sandbox during a listing",
                "length": str(60 + (k * 37) % 3600),
                "created_at": created,
                "added_at": created,
                "file_size": str(1_000_000 + k),
                "views": 0,
                "protect": "public",
            }
            self.upload_index[vid] = j
            self.upload_channel[j] = channel
            self._created[(True, j)] = created
            self.version += 1
        return (True, j)

    def remove(self, key: Key, now_ms: int) -> None:
        """Delete a video from its channel (it leaves listings; its endpoints answer 404)."""
        with self.lock:
            self.removed.setdefault(key, now_ms)
            self.version += 1

    def expected(self, now_ms: int) -> Iterator[dict[str, Any]]:
        """Every IBM video the world and the sandbox know, with its state now."""
        for c, members in self.members().items():
            for key in members:
                vid = self.video_id(key)
                rule, exp, _ = self.expiration(key, now_ms)
                vo, i = key
                row = self.video_json(key)
                row.update(
                    channel_id=c,
                    listed=self.alive(key, now_ms),
                    rule=rule,
                    expires_at=exp,
                    check_error=self.check_error(key),
                    malformed=(not vo and self.world.is_malformed(i)),
                    protected=vid in self.never_since,
                    uploaded=self.is_upload(key),
                    removed_at=self.removed.get(key),
                )
                yield row
