"""The sandbox's added vendor latency (sandbox/latency.py) over loopback: set per vendor at
start and through /_control/latency, served without blocking the event loop, with the most
requests in flight per vendor recorded in /_control/stats.

Only lower bounds of a delay are asserted (a sleep never ends early); the one upper bound
(concurrent delayed requests overlap) has a 2x margin over what a blocking delay would take.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest

from sandbox.latency import Delay, Latency, parse_spec
from sandbox.server import SandboxProcess

START_MS = 300  # every vendor at start, but IBM (0) and VALT (jitter)


@pytest.fixture(scope="module")
def sb():
    with SandboxProcess(seed=3, assets=200, latency=f"{START_MS},ibm=0,valt=100:50") as s:
        yield s


@pytest.fixture
def lat_sb(sb):
    """The module's sandbox with the latency it started with and zeroed stats."""
    sb.clear_latency()
    sb.latency(default=START_MS, ibm=0, valt={"ms": 100, "jitter_ms": 50})
    sb.reset_stats()
    yield sb


def timed_get(sb, path: str) -> float:
    t = time.perf_counter()
    httpx.get(sb.base_url + path, timeout=30)
    return time.perf_counter() - t


def test_the_latency_given_at_start_delays_each_vendor_by_its_own_amount(lat_sb):
    # unknown paths answer 404 at once: only the added latency is left
    assert timed_get(lat_sb, "/uplynk/api2/nothing") >= START_MS / 1000
    assert timed_get(lat_sb, "/media-cdn/nothing") >= START_MS / 1000  # the default
    assert timed_get(lat_sb, "/ibm/api/nothing") < START_MS / 1000
    # the control API is never delayed
    t = time.perf_counter()
    lat_sb.stats()
    assert time.perf_counter() - t < START_MS / 1000


def test_the_control_api_changes_latency_live_and_a_world_reset_keeps_it(lat_sb):
    lat_sb.latency(ibm={"ms": 400, "jitter_ms": 0}, cdn=0)
    cfg = lat_sb.latency()
    assert cfg["ibm"] == {"ms": 400, "jitter_ms": 0} and cfg["default"]["ms"] == START_MS
    assert timed_get(lat_sb, "/ibm/api/nothing") >= 0.4
    assert timed_get(lat_sb, "/valt-cdn/nothing") < START_MS / 1000  # "cdn" covers both CDNs
    lat_sb.reset(seed=3, assets=200)
    assert timed_get(lat_sb, "/ibm/api/nothing") >= 0.4
    lat_sb.clear_latency()
    assert timed_get(lat_sb, "/uplynk/api2/nothing") < START_MS / 1000
    assert lat_sb.latency()["default"] == {"ms": 0.0, "jitter_ms": 0.0}


def test_a_bad_latency_body_is_refused_and_changes_nothing(lat_sb):
    r = httpx.post(lat_sb.control_url + "/latency", json={"uplynk": {"ms": -5}})
    assert r.status_code == 400
    r = httpx.post(lat_sb.control_url + "/latency", json={"uplynk": {"seconds": 1}})
    assert r.status_code == 400
    assert lat_sb.latency()["default"]["ms"] == START_MS and "uplynk" not in lat_sb.latency()


async def _concurrent(base: str, path: str, n: int) -> float:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as c:
        t = time.perf_counter()
        await asyncio.gather(*(c.get(path) for _ in range(n)))
        return time.perf_counter() - t


def test_delayed_requests_overlap_and_their_most_in_flight_is_recorded(lat_sb):
    n = 16
    wall = asyncio.run(_concurrent(lat_sb.base_url, "/uplynk/api2/nothing", n))
    # a blocking delay would serve them one after another: n x 0.3 s = 4.8 s
    assert START_MS / 1000 <= wall < n * START_MS / 1000 / 2
    st = lat_sb.stats()
    assert st["max_in_flight"]["uplynk"] == n
    assert st["by_vendor"]["uplynk"] == n
    # sequential requests to another vendor: one at a time
    for _ in range(3):
        httpx.get(lat_sb.base_url + "/iris/nothing", timeout=30)
    assert lat_sb.stats()["max_in_flight"]["iris"] == 1
    # a stats reset starts the maximum again
    lat_sb.reset_stats()
    timed_get(lat_sb, "/uplynk/api2/nothing")
    assert lat_sb.stats()["max_in_flight"] == {"uplynk": 1}


def test_jitter_spreads_delays_around_the_fixed_latency_never_below_zero():
    lat = Latency({"default": Delay(100, 40), "valt": Delay(10, 50)}, seed=1)
    draws = [lat.draw_s("uplynk") * 1000 for _ in range(2000)]
    assert 60 <= min(draws) < 65 and 135 < max(draws) <= 140
    assert abs(sum(draws) / len(draws) - 100) < 3
    assert min(lat.draw_s("valt") for _ in range(500)) == 0.0
    assert {lat.draw_s("ibm") for _ in range(50)} != {0.1}


def test_latency_specs_name_a_vendor_or_every_vendor():
    assert parse_spec("150") == {"default": Delay(150, 0)}
    assert parse_spec("150:30, uplynk=50, cdn=0:5") == {
        "default": Delay(150, 30),
        "uplynk": Delay(50, 0),
        "cdn": Delay(0, 5),
    }
    lat = Latency(parse_spec("150,cdn=20,valt-cdn=7"))
    assert lat.for_vendor("media-cdn") == Delay(20) and lat.for_vendor("valt-cdn") == Delay(7)
    assert lat.for_vendor("iris") == Delay(150)
    for bad in ("fast", "uplynk=-1", "uplynk=1:x"):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_the_command_line_refuses_a_bad_latency():
    r = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--latency", "uplynk=soon"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "--latency" in r.stderr


def test_a_sync_keeps_no_more_requests_in_flight_than_its_concurrency_variable(lat_sb, tmp_path):
    lat_sb.latency(default=100)
    env = {
        **{k: v for k, v in lat_sb.env.items() if k.startswith("UPLYNK_")},
        "PATH": os.environ.get("PATH", ""),
        "CONNECTOR_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "CONNECTOR_LAKE": str(tmp_path / "lake"),
        "CONNECTOR_PROGRESS": "0",
        "UPLYNK_CONCURRENCY": "3",
    }
    r = subprocess.run(
        [sys.executable, "-m", "connector", "sync", "uplynk"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    st = lat_sb.stats()
    assert st["by_vendor"]["uplynk"] > 3  # two listing pages and more
    assert st["max_in_flight"]["uplynk"] == 3


def _sync(env: dict[str, str], source: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "connector", "sync", source],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]


def _env(sb, tmp_path, prefixes: tuple[str, ...], **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in sb.env.items() if k.startswith(prefixes)},
        "PATH": os.environ.get("PATH", ""),
        "CONNECTOR_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "CONNECTOR_LAKE": str(tmp_path / "lake"),
        "CONNECTOR_PROGRESS": "0",
        **extra,
    }


def test_an_iris_sync_keeps_its_calls_refreshes_included_within_iris_concurrency(lat_sb, tmp_path):
    """Watch calls, data API reads and the refreshes running beside them share one limit."""
    env = _env(lat_sb, tmp_path, ("UPLYNK_", "IRIS_"), IRIS_CONCURRENCY="4")
    lat_sb.clear_latency()
    _sync(env, "uplynk")  # the seeds IRIS resolves
    lat_sb.latency(default=50)
    lat_sb.reset_stats()
    lat_sb.iris_reset_stats()
    _sync(env, "iris")
    iris = lat_sb.iris_stats()
    assert sum(iris["refreshes"].values()) > 0, "no refresh: the test proves nothing"
    # the refreshes ran while the reads went on (both calls in flight at once)
    assert iris["reads_before_first_refresh"] < iris["requests"]["video_assets"]
    assert lat_sb.stats()["max_in_flight"]["iris"] == 4


def test_an_ibm_sync_keeps_listing_and_expiration_calls_together_within_its_concurrency(
    lat_sb, tmp_path
):
    """The channel listings and the expiration checks beside them share one limit."""
    env = _env(lat_sb, tmp_path, ("IBM_",), IBM_VIDEO_CONCURRENCY="6")
    lat_sb.reset(seed=3, assets=2000)  # channels of several pages: checks start mid-listing
    try:
        lat_sb.latency(default=20, ibm=20)
        lat_sb.reset_stats()
        _sync(env, "ibm")
        ibm = lat_sb.ibm_stats()["requests"]
        assert ibm["videos"] >= 12 and ibm["expiration"] > 200, ibm
        assert lat_sb.stats()["max_in_flight"]["ibm"] == 6
    finally:
        lat_sb.reset(seed=3, assets=200)
