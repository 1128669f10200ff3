"""The VALT archive job end to end, over loopback against the sandbox and its CDN.

Expected values: the sandbox's recordings (retention restated by hand), the bytes and sha256
its CDN serves per video (``expected_valt``), the JWTs it minted (``valt_tokens``) and what
it counted (``valt_stats``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from tests.valt_helpers import (
    DAY_MS,
    jwt_claims,
    new_warehouse,
    restated_retention_until,
    rows,
    run_archive,
    run_valt,
    sandbox_recordings,
    stored_videos,
)

WITHIN_DAYS = 7


def expected_selection(sandbox, now_ms: int, within_days: float = WITHIN_DAYS) -> dict:
    """(record_id, video_id) -> the sandbox's video (bytes, sha256, its 1-based number) of
    live recordings whose restated retention_until is at most within_days ahead."""
    live, _ = sandbox_recordings(sandbox, with_sha=True)
    out = {}
    for rid, record in live.items():
        until = restated_retention_until(record)
        if until is not None and until <= now_ms + within_days * DAY_MS:
            for n, video in enumerate(record["videos"], 1):
                out[(rid, str(video["id"]))] = dict(video, n=n, record=record)
    return out


def synced(sandbox, tmp_path: Path, **knobs):
    """A warehouse synced from the sandbox (knobs set first) and "now"."""
    sandbox.valt_config(**knobs)
    wh = new_warehouse(tmp_path)
    now = sandbox.now_ms()
    run_valt(sandbox, wh, now_ms=now)
    sandbox.valt_reset_stats()
    return wh, now


def keep_only(wh, keys) -> None:
    """Leave only these videos in raw.valt_videos: a warehouse with one video to archive."""
    with wh.write() as tx:
        tx.execute("CREATE TEMP TABLE keep (record_id VARCHAR, video_id VARCHAR)")
        tx.execute(
            "INSERT INTO keep VALUES " + ", ".join("(?, ?)" for _ in keys),
            [x for k in keys for x in k],
        )
        tx.execute(
            "DELETE FROM raw.valt_videos WHERE (record_id, video_id) NOT IN (SELECT * FROM keep)"
        )


def audit(wh) -> dict:
    return {
        (r[0], r[1]): r[2:]
        for r in rows(
            wh,
            "SELECT record_id, video_id, result, path, bytes, sha256, dry_run, run_id "
            "FROM meta.valt_archive",
        )
    }


def test_a_dry_run_audits_what_it_would_archive_and_calls_nothing(fresh_sandbox, tmp_path):
    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=4096)
    want = expected_selection(fresh_sandbox, now)
    assert len(want) >= 10, "too few expiring videos: the test proves little"
    report = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, dry_run=True, now_ms=now)
    got = audit(wh)
    assert set(got) == set(want)
    for (rid, vid), row in got.items():
        assert row[:3] == ("would_archive", f"valt_archive/{rid}/{vid}.mp4", None)
        assert row[4] is True
    stats = fresh_sandbox.valt_stats()["requests"]
    assert stats.get("download", 0) == stats.get("cdn", 0) == stats.get("login", 0) == 0
    assert not (wh.lake_root / "valt_archive").exists()
    assert report.selected == len(want) == report.inserted


def test_archive_writes_the_sandboxs_bytes_and_stores_urls_without_their_token(
    fresh_sandbox, tmp_path
):
    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=20_000, download_shape="mixed")
    want = expected_selection(fresh_sandbox, now)
    report = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now)
    assert report.results == {"archived": len(want)}
    got = audit(wh)
    assert set(got) == set(want)
    for key, video in want.items():
        result, path, nbytes, sha, dry, _ = got[key]
        assert (result, nbytes, sha, dry) == ("archived", video["bytes"], video["sha256"], False)
        data = (wh.lake_root / path).read_bytes()
        assert len(data) == video["bytes"] and hashlib.sha256(data).hexdigest() == video["sha256"]
    # URLs: stored without the token, with the expiry of the JWT the sandbox minted
    ttl = fresh_sandbox.valt_config()["download_ttl_s"]
    minted = fresh_sandbox.valt_tokens()["url_tokens"]
    claims = [jwt_claims(f"x?access_token={t}") for t in minted]
    assert len(minted) == len(want) and all(c["exp"] - c["iat"] == ttl for c in claims)
    base = fresh_sandbox.env["VALT_BASE_URL"].rsplit("/valt", 1)[0]
    videos = stored_videos(wh)
    for (rid, vid), video in want.items():
        row = videos[(rid, vid)]
        n = video["n"]
        assert row["url"].startswith(
            f"{base}/valt-cdn/distribution/{rid}/{n}_{rid}_{n}.mp4?filename="
        )
        assert "access_token" not in row["url"]
        assert row["url_expires_at"] in {c["exp"] * 1000 for c in claims}
        assert row["minted_at"] <= row["url_expires_at"]
    # idempotent: nothing is fetched again
    fresh_sandbox.valt_reset_stats()
    again = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now)
    assert fresh_sandbox.valt_stats()["requests"].get("cdn", 0) == 0, (
        "archived videos fetched again"
    )
    assert again.already_archived == len(want) and again.results == {}
    assert len(audit(wh)) == len(want)


def test_a_tampered_archive_file_is_fetched_again(fresh_sandbox, tmp_path):
    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=8_000)
    want = expected_selection(fresh_sandbox, now)
    key = sorted(want)[0]
    keep_only(wh, [key])
    run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now)
    path = wh.lake_root / f"valt_archive/{key[0]}/{key[1]}.mp4"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    report = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now)
    assert report.results == {"archived": 1}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == want[key]["sha256"]


def test_a_download_cut_mid_file_resumes_with_range_and_ends_with_the_sandboxs_sha(
    fresh_sandbox, tmp_path
):
    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=300_000)
    want = expected_selection(fresh_sandbox, now)
    keys = sorted(want)[:3]
    keep_only(wh, keys)
    fresh_sandbox.valt_config(cdn_drop_after_bytes=100_000, cdn_drop_times=4)
    report = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now, concurrency=1)
    stats = fresh_sandbox.valt_stats()
    assert stats["cdn_dropped"] == 4, "the CDN cut no connection: the test proves nothing"
    served = sum(want[k]["bytes"] for k in keys)
    assert stats["cdn_bytes_served"] == served, "bytes fetched twice: not resumed with Range"
    assert report.range_resumes == 4 and report.results == {"archived": 3}
    for key in keys:
        _, path, nbytes, sha, _, _ = audit(wh)[key]
        assert (nbytes, sha) == (want[key]["bytes"], want[key]["sha256"])
        assert hashlib.sha256((wh.lake_root / path).read_bytes()).hexdigest() == sha


def independent_download(sandbox, rid: str, vid: str, last_byte: int) -> bytes:
    """Bytes 0..last_byte of a video, fetched without the connector."""
    env = sandbox.env
    with httpx.Client(timeout=30) as http:
        login = {"username": env["VALT_USERNAME"], "password": env["VALT_PASSWORD"]}
        token = http.post(f"{env['VALT_BASE_URL']}/api/v3/login", json=login).json()
        token = token["data"]["access_token"]
        body = http.get(
            f"{env['VALT_BASE_URL']}/api/v3/records/download/{rid}/{vid}",
            params={"access_token": token},
        ).json()
        url = body.get("url") or body["data"]["url"]
        return http.get(url, headers={"Range": f"bytes=0-{last_byte}"}).content


def test_a_part_file_left_by_a_killed_run_is_resumed_not_fetched_again(fresh_sandbox, tmp_path):
    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=200_000)
    want = expected_selection(fresh_sandbox, now)
    key = sorted(want)[0]
    keep_only(wh, [key])
    head = independent_download(fresh_sandbox, *key, last_byte=77_776)
    part = wh.lake_root / f"valt_archive/{key[0]}/{key[1]}.mp4.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(head)
    fresh_sandbox.valt_reset_stats()
    report = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now)
    stats = fresh_sandbox.valt_stats()
    assert stats["cdn_bytes_served"] == want[key]["bytes"] - 77_777, "bytes fetched twice"
    assert report.resumed_from_part == 1 and report.results == {"archived": 1}
    assert audit(wh)[key][3] == want[key]["sha256"]
    assert not part.exists()


def test_an_url_that_expires_mid_download_is_minted_again(fresh_sandbox, tmp_path):
    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=300_000, download_ttl_s=3)
    want = expected_selection(fresh_sandbox, now)
    key = sorted(want)[0]
    keep_only(wh, [key])
    # paced at 50 kB/s, the first request is cut after ~200 kB and ~4 s: the URL (3 s) has
    # expired by the resume, and the new one has 3 s to start its request (slack for a
    # loaded machine: the CDN checks `exp` when a request starts)
    fresh_sandbox.valt_config(
        cdn_rate_bytes_s=50_000, cdn_drop_after_bytes=200_000, cdn_drop_times=1
    )
    report = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now, remint_margin_s=0)
    stats = fresh_sandbox.valt_stats()
    assert stats["cdn_dropped"] == 1, "the download was not cut: the test proves nothing"
    assert report.urls_minted == stats["urls_minted"] == 2
    assert stats["responses_403"] == 0  # replaced before it expired, never refused
    assert report.results == {"archived": 1} and audit(wh)[key][3] == want[key]["sha256"]
    last = jwt_claims(f"x?access_token={fresh_sandbox.valt_tokens()['url_tokens'][-1]}")
    assert stored_videos(wh)[key]["url_expires_at"] == last["exp"] * 1000


def test_a_403_from_the_cdn_mints_a_new_url_once(fresh_sandbox, tmp_path):
    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=30_000, download_shape="top")
    want = expected_selection(fresh_sandbox, now)
    key = sorted(want)[0]
    keep_only(wh, [key])
    rid, n = key[0], want[key]["n"]
    base = fresh_sandbox.env["VALT_BASE_URL"].rsplit("/valt", 1)[0]
    forged = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJleHAiOjQwMDAwMDAwMDB9.Zm9yZ2Vk"
    fresh_sandbox.defects(
        kind="set_value",
        vendor="valt",
        path="/valt/api/v3/records/download/*",
        times=1,
        params={
            "path": "url",
            "value": f"{base}/valt-cdn/distribution/{rid}/{n}_{rid}_{n}.mp4?access_token={forged}",
        },
    )
    report = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now)
    stats = fresh_sandbox.valt_stats()
    assert sum(r["applied"] for r in fresh_sandbox.defects_status()) == 1
    assert {"endpoint": "cdn", "status": 403, "count": 1} in stats["responses"]
    assert report.urls_minted == 2 and report.results == {"archived": 1}
    assert audit(wh)[key][3] == want[key]["sha256"]


def test_a_video_the_vendor_no_longer_has_is_audited_not_found_and_the_rest_archived(
    fresh_sandbox, tmp_path
):
    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=5_000)
    want = expected_selection(fresh_sandbox, now)
    gone_rid = sorted(want)[0][0]
    fresh_sandbox.valt_churn(delete_ids=[gone_rid])
    report = run_archive(fresh_sandbox, wh, within_days=WITHIN_DAYS, now_ms=now)
    results = {k: v[0] for k, v in audit(wh).items()}
    assert {k for k, r in results.items() if r == "not_found"} == {
        k for k in want if k[0] == gone_rid
    }
    assert report.results["archived"] == len(want) - report.results["not_found"]


@pytest.mark.parametrize("apply", [False, True])
def test_the_command_line_runs_the_archive_job(fresh_sandbox, tmp_path, apply):
    from tests.valt_helpers import cli

    wh, now = synced(fresh_sandbox, tmp_path, video_bytes=2_000)
    proc = cli(
        fresh_sandbox, wh, "archive", "valt", "--within-days", "7", *(["--apply"] if apply else [])
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert (b'"dry_run":false' in out) == apply
    assert {r[0] for r in audit(wh).values()} == ({"archived"} if apply else {"would_archive"})
