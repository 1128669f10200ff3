"""VALT's recordings over simulated time: the world's, plus what the sandbox changed itself.

A recording is a code (sandbox/world/valt.py). The world gives the canonical members and the
VALT-only recordings, their fields, and the deletions ``World.advance`` / ``burst`` make. This
catalog adds the sandbox's own churn (``POST /_control/valt/churn``): recordings it created
(``created`` = the simulated now), renamed, whose retention it changed, and deleted; all of
it vanishes with the world on reset.

Listing order is ``created`` ascending, then id (string order for UUIDs, numeric for integer
ids). The ordered index (numpy arrays of codes and ``created``) is built once and reused until
the world or the catalog changes (``World.n``, ``advances``, ``mutations``, ``version``, the
id style), so
a listing page is two binary searches and a slice, whatever the catalog's size.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .world import World
from .world.valt import RETENTION_TYPES, VALT_ONLY, retention_from
from .world.words import ADJ, NOUN


@dataclass
class Index:
    """The catalog in listing order at one moment."""

    token: tuple
    all_codes: np.ndarray  # every recording ever known (live and deleted), listing order
    live_codes: np.ndarray  # live recordings only, listing order
    live_created: np.ndarray  # their created (Unix s), ascending
    names_lower: list[str] | None = None  # live names, lower-cased (built on the first search)


class ValtCatalog:
    """The recordings of one world (see the module docstring)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.lock = threading.RLock()
        self.names: dict[int, str] = {}  # code -> name given by a rename
        self.retention: dict[int, dict[str, Any]] = {}  # code -> retention set by a change
        self.removed: dict[int, int] = {}  # code -> sim ms the sandbox deleted it
        self.made: dict[int, int] = {}  # code of a recording the sandbox created -> created
        self.version = 0
        self.renames = 0
        self.totals = dict.fromkeys(("created", "renamed", "retention_changed", "deleted"), 0)
        self.rng = random.Random(f"{world.seed}:valt-churn")
        self._index: Index | None = None

    # -- one recording -----------------------------------------------------------------
    def known(self, code: int) -> bool:
        return code in self.made or self.world.valt_world_has(code)

    def deleted(self, code: int) -> bool:
        if code in self.removed:
            return True
        return code < VALT_ONLY and int(self.world.valt_deleted_ms(np.array([code]))[0]) != 0

    def live_code(self, record_id: Any) -> int | None:
        """The code of a live recording with this id (as text), else None."""
        code = self.world.valt_decode(record_id)
        if code is None or not self.known(code) or self.deleted(code):
            return None
        return code

    def created(self, code: int) -> int:
        made = self.made.get(code)
        if made is not None:
            return made
        return self.world.valt_created_one(code)

    def served_id(self, code: int) -> int | str:
        """The id as the JSON carries it: a number for VALT 5 ids, a string for UUIDs."""
        text = self.world.valt_id_of(code)
        return int(text) if self.world.valt_id_style == "int" else text

    def details(self, code: int) -> dict[str, Any]:
        """The recording as ``GET /api/v3/records/{id}`` serves it (``data``)."""
        return self._record(code, full=True)

    def listed(self, code: int) -> dict[str, Any]:
        """The recording as a listing serves it."""
        return self._record(code, full=False)

    def _record(self, code: int, full: bool) -> dict[str, Any]:
        created = self.created(code)
        r = self.world.valt_record(code, created, full)
        cams = r.pop("cameras_in_order")
        name = self.names.get(code, r.pop("name"))  # a rename wins
        out = {"id": self.served_id(code), "name": name, "created": created, **r}
        if not full:
            return out
        if code in self.retention:
            out["retention"] = dict(self.retention[code])
        out["videos"] = [
            {"id": self.world.valt_video_id(code, n), "camera": cam, "duration": r["duration"]}
            for n, (_, cam) in enumerate(cams, 1)
        ]
        return out

    # -- the ordered index -------------------------------------------------------------
    def _token(self) -> tuple:
        w = self.world
        # mutations: also bumped when the world's noise dials change the names (truth.py)
        return (w.n, w.advances, w.mutations, self.version, w.valt_id_style)

    def index(self) -> Index:
        ix = self._index
        token = self._token()
        if ix is not None and ix.token == token:
            return ix
        w = self.world
        with self.lock:
            world_codes = w.valt_member_codes()
            made = np.fromiter(self.made.keys(), dtype=np.int64, count=len(self.made))
            codes = np.concatenate([world_codes, made])
            created = np.concatenate(
                [
                    w.valt_created(world_codes),
                    np.fromiter(self.made.values(), dtype=np.int64, count=len(self.made)),
                ]
            )
            gone = np.concatenate([w.valt_deleted_ms(world_codes) != 0, np.zeros(len(made), bool)])
            if self.removed:
                gone |= np.isin(codes, np.fromiter(self.removed.keys(), dtype=np.int64))
            order = np.lexsort((w.valt_sort_keys(codes), created))
            live = order[~gone[order]]
            ix = Index(token, codes[order], codes[live], created[live])
            self._index = ix
        return ix

    def page(
        self,
        search: str | None,
        start_s: int | None,
        end_s: int | None,
        offset: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Live recordings with ``start_s <= created < end_s`` whose name holds ``search``
        (case-insensitive), in listing order, ``limit`` of them from ``offset``."""
        ix = self.index()
        created = ix.live_created
        lo = 0 if start_s is None else int(np.searchsorted(created, start_s, side="left"))
        hi = len(created) if end_s is None else int(np.searchsorted(created, end_s, side="left"))
        if search:
            needle = search.lower()
            names = self._names_lower(ix)
            hits = (p for p in range(lo, hi) if needle in names[p])
            picked = [p for k, p in enumerate(hits) if k >= offset and k < offset + limit]
            codes = ix.live_codes[picked].tolist() if picked else []
        else:
            a = min(hi, lo + offset)
            codes = ix.live_codes[a : min(hi, a + limit)].tolist()
        self.world.valt_warm_names(codes)
        return [self.listed(c) for c in codes]

    def _names_lower(self, ix: Index) -> list[str]:
        if ix.names_lower is None:
            codes = ix.live_codes.tolist()
            for k in range(0, len(codes), 10_000):
                self.world.valt_warm_names(codes[k : k + 10_000])
            ix.names_lower = [self.name(c).lower() for c in codes]
        return ix.names_lower

    def name(self, code: int) -> str:
        return self.names.get(code) or self.world.valt_name(code)

    def every_code(self) -> list[int]:
        """Every recording ever known, live or deleted, in listing order."""
        return self.index().all_codes.tolist()

    # -- churn -------------------------------------------------------------------------
    def churn(self, counts: dict[str, int], ids: dict[str, list[str]], retention: Any, now_ms: int):
        """Delete, rename, change the retention of live recordings (``counts`` picked at
        random, distinct, plus the ``ids`` given per kind) and create new ones, at
        ``now_ms``. Returns the served ids per kind: created, renamed, retention_changed,
        deleted."""
        if retention is not None:
            retention = check_retention(retention)
        with self.lock:
            picked = self._pick(counts, ids)
            now_s = now_ms // 1000
            for code in picked["deleted"]:
                self.removed[code] = now_ms
            for code in picked["renamed"]:
                self.names[code] = self._new_name(code)
            for code in picked["retention_changed"]:
                self.retention[code] = retention or self._new_retention(code, now_s)
            made = []
            for _ in range(counts.get("creates", 0)):
                code = VALT_ONLY + self.world.valt_only_count + len(self.made)
                self.made[code] = now_s
                made.append(code)
            picked["created"] = made
            self.version += 1
        for kind, codes in picked.items():
            self.totals[kind] += len(codes)
        return {k: [self.served_id(c) for c in v] for k, v in picked.items()}

    def _pick(self, counts: dict[str, int], ids: dict[str, list[str]]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        taken: set[int] = set()
        for kind, count_key in (
            ("deleted", "deletes"),
            ("renamed", "renames"),
            ("retention_changed", "retention_changes"),
        ):
            chosen = []
            for rid in ids.get(count_key, []):
                code = self.live_code(rid)
                if code is None:
                    raise ValueError(f"{count_key}: {rid!r} is not a live VALT recording")
                chosen.append(code)
            taken.update(chosen)
            n = counts.get(count_key, 0)
            if n:
                pool = [c for c in self.index().live_codes.tolist() if c not in taken]
                extra = self.rng.sample(pool, min(n, len(pool)))
                taken.update(extra)
                chosen += extra
            out[kind] = chosen
        return out

    def _new_name(self, code: int) -> str:
        self.renames += 1
        return f"{self.rng.choice(ADJ)} {self.rng.choice(NOUN)} review {self.renames}"

    def _new_retention(self, code: int, now_s: int) -> dict[str, Any]:
        """A retention other than the current one, ending near ``now_s`` when it ends."""
        old = self.details(code)["retention"]
        for _ in range(32):
            new = retention_from(self.rng.getrandbits(64), self.created(code), now_s)
            if new != old:
                return new
        return {"type": "infinitely"} if old.get("type") != "infinitely" else {"type": "inherit"}

    # -- ground truth ------------------------------------------------------------------
    def expected(self) -> Iterator[tuple[int, dict[str, Any], bool]]:
        """(code, details as served, deleted) of every recording ever known."""
        for code in self.every_code():
            yield code, self.details(code), self.deleted(code)


def check_retention(value: Any) -> dict[str, Any]:
    """A retention given to the churn endpoint, checked against the documented shapes."""
    if not isinstance(value, dict) or value.get("type") not in RETENTION_TYPES:
        raise ValueError(f"retention: an object with type one of {RETENTION_TYPES}")
    kind = value["type"]
    allowed = {"inherit": set(), "infinitely": set(), "until": {"until"}}
    keys = allowed.get(kind, {"days", "hours", "minutes"})
    unknown = set(value) - keys - {"type"}
    if unknown:
        raise ValueError(f"retention {kind}: unknown fields {sorted(unknown)}")
    if kind == "until" and type(value.get("until")) is not int:
        raise ValueError("retention until: an integer Unix time is required")
    for k in keys - {"until"}:
        if k in value and (type(value[k]) is not int or value[k] < 0):
            raise ValueError(f"retention for: {k} must be a non-negative integer")
    return dict(value)
