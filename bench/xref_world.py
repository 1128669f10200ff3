"""Raw rows for the reconcile benchmark, straight from the sandbox world's derivations (no
HTTP): what the four connectors would store, and the ground truth of which rows are the same
content. Used by bench/reconcile.py.

The rows are what the emulations serve (sandbox/world: ``uplynk_titles``, ``ibm_video``,
``valt_name``/``valt_record``, ``iris_*``), mapped to the raw tables' match-relevant columns.
IBM and VALT are subsampled to the requested sizes (``--ibm``, ``--valt``): the first
members in a seed-derived order, keeping the world's share of vendor-only items; IRIS keeps
every member. Uplynk ``meta`` holds only the ids the world puts there (``ibm_video_id``,
``valt_record_id``), not series/season/episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa

from sandbox.world import World
from sandbox.world.iris import IRIS_ONLY
from sandbox.world.mixing import salt_of
from sandbox.world.valt import VALT_ONLY

TS = pa.timestamp("ms", tz="UTC")


@dataclass
class XrefWorld:
    tables: dict[str, pa.Table]  # raw table name -> rows
    truth: pa.Table  # system, system_id, content (NULL = alone), via, noise, decoy


def _pick(world: World, idx: np.ndarray, count: int, name: str) -> np.ndarray:
    """``count`` of ``idx`` in a seed-derived order (all when fewer)."""
    if count >= len(idx):
        return idx
    h = world._static_hash(idx, salt_of(world.seed, "bench-" + name))
    return np.sort(idx[np.argsort(h, kind="stable")[:count]])


def _uplynk(world: World, truth: list) -> pa.Table:
    idx = np.arange(world.n, dtype=np.int64)
    ext = world.has_external_id(idx)
    whole = world._D[:, world._DCOLS.index("whole")].astype(np.float64)
    frac = world._D[:, world._DCOLS.index("frac")].astype(np.float64)
    duration = whole + frac / 10 ** np.floor(np.log10(frac) + 1)
    meta_ibm, meta_valt = world.meta_ids(idx)
    meta = [
        orjson.dumps({k: v for k, v in (("ibm_video_id", b), ("valt_record_id", v)) if v}).decode()
        for b, v in zip(meta_ibm, meta_valt, strict=True)
    ]
    ids = world.uplynk_ids(idx)
    dup = world.duplicate_of(idx)
    # a re-upload is the same content as its original, as the world's truth says, also when
    # the IBM subsample left their IBM video out (then only IRIS or VALT copies, by title, can
    # tie them; earlier versions counted it as content of its own, and a right IRIS/VALT link
    # to the re-upload as a wrong one)
    content = np.where(dup >= 0, dup, idx)
    retitled = world.version[idx] > 0
    for k in range(world.n):
        via = "" if content[k] == k else ("dup-meta" if meta_ibm[k] else "dup-title")
        truth.append(
            ("uplynk", ids[k], int(content[k]), via, "retitled" if retitled[k] else "", None)
        )
    return pa.table(
        {
            "asset_id": ids,
            "external_id": [
                f"EXT-{i + world.ext_offset:07d}" if e else None for i, e in enumerate(ext.tolist())
            ],
            "title": world.uplynk_titles(idx),
            "duration_s": duration,
            "created_at": pa.array(world.created_ms[idx], pa.int64()).cast(TS),
            "meta": meta,
        }
    )


def _ibm(world: World, count: int, truth: list, picked: set[int]) -> pa.Table:
    idx, _ = world.ibm_member_codes()
    only = (
        world.ibm_only_count * count // max(1, len(idx))
        if len(idx) > count
        else world.ibm_only_count
    )
    rows = []
    meta_ibm, _ = world.meta_ids(np.arange(world.n, dtype=np.int64))
    for i in _pick(world, idx, count - only, "ibm").tolist():
        v = world.ibm_video(i)
        rows.append(v)
        picked.add(i)
        via = "meta" if meta_ibm[i] else "title"
        noise = f"{world.vendor_title_kind('ibm', i)}/{world.vendor_duration_offset('ibm', i):+d}s"
        truth.append(("ibm", v["id"], i, via, noise, None))
    for j in range(min(only, world.ibm_only_count)):
        v = world.ibm_video(j, True)
        rows.append(v)
        decoy = world.decoy_target("ibm", j)
        truth.append(("ibm", v["id"], None, "", "", decoy[1] if decoy else None))
    return pa.table(
        {
            "video_id": [v["id"] for v in rows],
            "title": [v["title"] for v in rows],
            "length_s": [float(v["length"]) for v in rows],
            "created_at": pa.array([v["created_at"] * 1000 for v in rows], pa.int64()).cast(TS),
        }
    )


def _valt(world: World, count: int, truth: list) -> pa.Table:
    codes = world.valt_member_codes()
    canon, only = codes[codes < VALT_ONLY], codes[codes >= VALT_ONLY]
    n_only = len(only) * count // max(1, len(codes))
    picked = np.concatenate([_pick(world, canon, count - n_only, "valt"), only[:n_only]])
    created = world.valt_created(picked)
    _, meta_valt = world.meta_ids(np.arange(world.n, dtype=np.int64))
    ids, names, durations = [], [], []
    for code, c in zip(picked.tolist(), created.tolist(), strict=True):
        rec = world.valt_record(code, c)
        ids.append(world.valt_id_of(code))
        names.append(rec["name"])
        durations.append(float(rec["duration"]))
        if code < VALT_ONLY:
            via = "meta" if meta_valt[code] else "title"
            noise = f"{world.vendor_title_kind('valt', code)}/{world.vendor_duration_offset('valt', code):+d}s"
            truth.append(("valt", ids[-1], code, via, noise, None))
        else:
            decoy = world.decoy_target("valt", code - VALT_ONLY)
            truth.append(("valt", ids[-1], None, "", "", decoy[1] if decoy else None))
    return pa.table(
        {
            "record_id": ids,
            "name": names,
            "duration_s": durations,
            "created_at": pa.array(created * 1000, pa.int64()).cast(TS),
        }
    )


def _iris(world: World, truth: list) -> pa.Table:
    ids, platform, titles, lengths = [], [], [], []
    for code in world.iris_codes().tolist():
        ids.append(world.iris_id_of(code))
        platform.append(world.iris_platform_of(code))
        titles.append(world.iris_title(code))
        lengths.append(float(world.iris_length_secs(code)))
        if code < IRIS_ONLY:
            via = "platform_id" if platform[-1] else "title"
            noise = f"{world.vendor_title_kind('iris', code)}/{world.vendor_duration_offset('iris', code):+d}s"
            truth.append(("iris", ids[-1], code, via, noise, None))
        else:
            decoy = world.decoy_target("iris", code - IRIS_ONLY)
            truth.append(("iris", ids[-1], None, "", "", decoy[1] if decoy else None))
    return pa.table(
        {
            "iris_id": ids,
            "platform_id": platform,
            "title": titles,
            "length_s": lengths,
            "source_url_state": ["unknown"] * len(ids),
            "checked_at": pa.array([world.epoch_ms] * len(ids), pa.int64()).cast(TS),
        }
    )


def build(seed: int, uplynk: int, ibm: int, valt: int, epoch_ms: int) -> XrefWorld:
    """The four systems' raw rows and the truth for a world of ``uplynk`` assets."""
    world = World(seed, uplynk, epoch_ms=epoch_ms)
    truth: list[tuple] = []
    ibm_picked: set[int] = set()
    ibm_rows = _ibm(world, ibm, truth, ibm_picked)
    tables = {
        "raw.uplynk_assets": _uplynk(world, truth),
        "raw.ibm_videos": ibm_rows,
        "raw.valt_recordings": _valt(world, valt, truth),
        "raw.iris_assets": _iris(world, truth),
    }
    cols = list(zip(*truth, strict=True))
    schema = ["system", "system_id", "content", "via", "noise", "decoy"]
    types = [pa.string(), pa.string(), pa.int64(), pa.string(), pa.string(), pa.string()]
    table = pa.table({n: pa.array(c, t) for n, c, t in zip(schema, cols, types, strict=True)})
    return XrefWorld(tables, table)
