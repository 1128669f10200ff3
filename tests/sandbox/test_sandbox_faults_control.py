"""Fault injection, stats, the control API's expected/truth streams, and determinism."""

from __future__ import annotations

import httpx
import orjson
import pytest

from .uplynk_client import Uplynk


@pytest.fixture
def up(fresh_sandbox):
    c = Uplynk(fresh_sandbox.env)
    yield c
    c.close()


def statuses(up, n):
    out = []
    for _ in range(n):
        r = up.raw("/api2/asset/list", {"limit": 2})
        try:
            body_ok = r.status_code == 200 and isinstance(r.json(), dict)
        except ValueError:
            body_ok = False
        out.append((r.status_code, body_ok, r.headers))
    return out


def test_faults_are_served_at_roughly_the_configured_rates(fresh_sandbox, up):
    fresh_sandbox.faults(
        scope="uplynk", p_500=0.1, p_503=0.1, p_429=0.1, retry_after_s=2, p_truncate=0.1
    )
    res = statuses(up, 400)
    n500 = sum(s == 500 for s, _, _ in res)
    n503 = sum(s == 503 for s, _, _ in res)
    n429 = [h for s, _, h in res if s == 429]
    truncated = sum(s == 200 and not ok for s, ok, _ in res)
    for n in (n500, n503, len(n429), truncated):
        assert 15 <= n <= 70, (n500, n503, len(n429), truncated)
    assert all(h["retry-after"] == "2" and h["x-ratelimit-remaining"] == "0" for h in n429)
    st = fresh_sandbox.stats()
    kinds = {f["kind"]: f["count"] for f in st["faults"] if f["vendor"] == "uplynk"}
    assert kinds["http_500"] == n500 and kinds["truncate"] == truncated
    by_status = {
        r["status"]: r["count"] for r in st["requests"] if r["path"] == "/uplynk/api2/asset/list"
    }
    assert by_status[500] == n500 and by_status[429] == len(n429) and sum(by_status.values()) == 400


def test_faults_are_scoped_to_a_vendor_and_cleared(fresh_sandbox, up):
    fresh_sandbox.faults(scope="ibm", p_500=1.0)
    assert all(s == 200 for s, _, _ in statuses(up, 20))
    fresh_sandbox.faults(p_503=1.0)  # scope "all"
    assert all(s == 503 for s, _, _ in statuses(up, 5))
    # the control API itself is never faulted
    assert fresh_sandbox.now_ms() > 0
    fresh_sandbox.clear_faults()
    assert all(s == 200 for s, ok, _ in statuses(up, 5))


def test_fault_sequence_is_deterministic_from_the_seed(fresh_sandbox, up):
    seqs = []
    for _ in range(2):
        fresh_sandbox.faults(p_500=0.3, seed=123)
        seqs.append([s for s, _, _ in statuses(up, 40)])
    assert seqs[0] == seqs[1] and 500 in seqs[0]


def test_slow_and_timeout_faults(fresh_sandbox, up):
    fresh_sandbox.faults(p_timeout=1.0, timeout_s=1.5)
    with pytest.raises(httpx.ReadTimeout):
        up.http.get("/api2/asset/list", params={"msg": "x", "sig": "y"}, timeout=0.3)
    fresh_sandbox.faults(p_slow=1.0, slow_s=0.2)
    r = up.raw("/api2/asset/list", {"limit": 1})
    assert r.status_code == 200 and r.json()["error"] == 0
    assert r.elapsed.total_seconds() >= 0.2
    fresh_sandbox.clear_faults()


def test_bad_fault_fields_are_rejected(fresh_sandbox):
    with pytest.raises(RuntimeError):
        fresh_sandbox.faults(p_explode=1.0)


def test_stats_count_and_reset(fresh_sandbox, up):
    up.ok("/api2/asset/list", limit=1)
    up.call("/api2/asset/get", id="nope")
    st = fresh_sandbox.stats()
    assert st["total_requests"] == 2 and st["by_vendor"] == {"uplynk": 2}
    fresh_sandbox.reset_stats()
    assert fresh_sandbox.stats()["total_requests"] == 0


def test_expected_stream_matches_what_the_api_serves(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, malformed_fraction=0.02)
    rows = list(fresh_sandbox.expected_uplynk())
    assert len(rows) == 2000 and [r["_index"] for r in rows] == list(range(2000))
    mal = [r for r in rows if r["malformed"]]
    assert 10 <= len(mal) <= 80
    live = [r for r in rows if "deleted" not in r and "id" in r]
    got = up.ok("/api2/asset/get", ids=[r["id"] for r in live[:300]])["assets"]
    assert got == [
        {k: v for k, v in r.items() if k not in ("malformed", "_index")} for r in live[:300]
    ]
    # malformed ones are served malformed, every time
    m = next(r for r in mal if "id" in r and "deleted" not in r)
    served = up.ok("/api2/asset/get", id=m["id"])["asset"]
    assert served == up.ok("/api2/asset/get", id=m["id"])["asset"]


def test_truth_rows_join_uplynk_ids_to_other_vendors(fresh_sandbox):
    rows = list(fresh_sandbox.truth())
    canon = [r for r in rows if r["canonical_index"] is not None]
    assert len(canon) == 2000
    ids = {r["id"] for r in fresh_sandbox.expected_uplynk()}
    assert {r["uplynk_id"] for r in canon} == ids
    assert any(r["ibm_video_id"] for r in canon) and any(r["uplynk_id"] is None for r in rows)


def test_reset_with_the_same_seed_and_epoch_serves_identical_pages(fresh_sandbox, up):
    epoch = fresh_sandbox.now_ms() - 10_000
    pages = []
    for _ in range(2):
        fresh_sandbox.reset(seed=3, assets=1500, epoch_ms=epoch)
        pages.append(up.ok("/api2/asset/list", order="-lastmod", limit=100, skip=100)["assets"])
    assert pages[0] == pages[1]
    fresh_sandbox.reset(seed=4, assets=1500, epoch_ms=epoch)
    assert up.ok("/api2/asset/list", order="-lastmod", limit=100, skip=100)["assets"] != pages[0]


def test_control_reports_now_and_rejects_bad_input(fresh_sandbox):
    t0 = fresh_sandbox.now_ms()
    fresh_sandbox.advance(3600)
    assert fresh_sandbox.now_ms() >= t0 + 3_600_000
    with pytest.raises(RuntimeError):
        fresh_sandbox._call("POST", "/advance", {"x": 1})
    with pytest.raises(RuntimeError):
        fresh_sandbox._call("POST", "/reset", {"assets": 10, "colour": "red"})
    info = fresh_sandbox.world()
    assert info["seed"] == 7 and info["initial_assets"] == 2000


def test_list_throughput_is_reported(fresh_sandbox, up, capsys):
    """Not an assertion on speed: prints the figure for the report."""
    import time

    fresh_sandbox.reset(seed=1, assets=20000)
    up.ok("/api2/asset/list", limit=100)
    t = time.perf_counter()
    n = 0
    for k in range(100):
        n += len(up.ok("/api2/asset/list", skip=k * 100, limit=100)["assets"])
    dt = time.perf_counter() - t
    with capsys.disabled():
        print(f"\n[sandbox] asset/list end-to-end (client parse included): {n / dt:,.0f} assets/s")
    assert n == 10000
    assert orjson.dumps({"n": n})
