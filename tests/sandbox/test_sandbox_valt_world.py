"""VALT's derivations in the world (no server): ids decode back, names follow the truth's
spelling, sizes and bytes are deterministic and Range-sliceable."""

from __future__ import annotations

import hashlib

import numpy as np

from sandbox.valt_cdn import BLOCK, VideoBytes, parse_range
from sandbox.world import World
from sandbox.world.valt import VALT_ONLY

EPOCH = 1_750_000_000_000


def test_ids_of_both_styles_decode_back_and_sort_like_their_text():
    w = World(5, 5000, epoch_ms=EPOCH)
    codes = w.valt_member_codes()
    assert len(codes) > 500
    for style, key in (("uuid", str), ("int", int)):
        w.valt_id_style = style
        ids = [w.valt_id_of(c) for c in codes.tolist()]
        assert len(set(ids)) == len(ids)
        assert [w.valt_decode(i) for i in ids] == codes.tolist()
        by_text = sorted(range(len(ids)), key=lambda k: key(ids[k]))
        assert by_text == np.argsort(w.valt_sort_keys(codes), kind="stable").tolist()
    w.valt_id_style = "uuid"
    real = w.valt_id_of(int(codes[0]))
    wrong_check = real[:-1] + ("1" if real[-1] == "0" else "0")  # well formed, not ours
    for x in ("12", "0" * 36, real.upper(), real[:-1], wrong_check):
        assert w.valt_decode(x) is None, x


def test_truth_ids_follow_the_id_style():
    w = World(5, 3000, epoch_ms=EPOCH)
    uuids = [r["valt_id"] for r in w.truth() if r["valt_id"]]
    assert all(len(v) == 36 and v.count("-") == 4 for v in uuids)
    w.valt_id_style = "int"
    ints = [r["valt_id"] for r in w.truth() if r["valt_id"]]
    assert len(ints) == len(uuids) and all(v.isdigit() for v in ints)


def test_names_and_durations_carry_the_truths_noise_for_valt():
    w = World(9, 20000, epoch_ms=EPOCH)
    codes = w.valt_member_codes().tolist()
    canon = [c for c in codes if c < VALT_ONLY]
    w.valt_warm_names(codes)  # the batch path, then the one-by-one reference
    assert [w.valt_name(c) for c in canon] == [w.vendor_title("valt", c) for c in canon]
    durations = [w.valt_record(c, 0, full=False)["duration"] for c in canon]
    assert durations == [w.vendor_duration("valt", c) for c in canon]
    only = [c - VALT_ONLY for c in codes if c >= VALT_ONLY]
    assert [w.valt_name(VALT_ONLY + j) for j in only] == [
        w.vendor_only_title("valt", j) for j in only
    ]
    assert len({w.valt_name(c) for c in canon}) > len(canon) * 0.9


def test_video_bytes_are_deterministic_and_slice_like_a_file():
    a, b = VideoBytes(3), VideoBytes(3)
    size = a.size(17, 1, 300_000)
    assert size == b.size(17, 1, 300_000) and 150_000 <= size <= 450_000
    whole = b"".join(a.chunks(17, 1, 0, size - 1))
    assert len(whole) == size and hashlib.sha256(whole).hexdigest() == b.sha256(17, 1, size)
    for first, last in ((0, 0), (BLOCK - 3, BLOCK + 3), (size - 7, size - 1), (5, size - 1)):
        assert b"".join(a.chunks(17, 1, first, last)) == whole[first : last + 1]
    assert whole != b"".join(VideoBytes(4).chunks(17, 1, 0, size - 1))
    assert whole[:BLOCK] != b"".join(a.chunks(17, 2, 0, BLOCK - 1))


def test_range_headers():
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-", 100) == (90, 99)
    assert parse_range("bytes=90-500", 100) == (90, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=-500", 100) == (0, 99)
    assert parse_range("bytes=100-", 100) == "unsatisfiable"
    assert parse_range("bytes=-0", 100) == "unsatisfiable"
    for ignored in ("bytes=0-1,4-5", "bytes=9-2", "items=0-9", "bytes=-", "bytes=a-b"):
        assert parse_range(ignored, 100) is None
