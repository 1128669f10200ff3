"""Helpers for the IRIS loopback tests: run the syncs against the sandbox, and restate the
sandbox's ground truth as the rows the README's data dictionary promises.

Expected rows never come from the code under test: ``GET /_control/iris/expected`` (every
IRIS asset as the data API serves it now, its platform_id, source_url_kind, refresh flags and
the recommendations a Watch returns), ``/_control/iris/default_recs``,
``/_control/media/expected`` and the Uplynk catalog are mapped to columns here, by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.config import IrisSettings
from connector.http import RetryPolicy
from connector.iris import SyncOptions, SyncReport, sync_iris
from connector.warehouse import Warehouse
from tests.uplynk_helpers import ROOT, run_uplynk, sandbox_assets

FAST_RETRY = RetryPolicy(max_attempts=8, max_elapsed_s=60.0, initial_wait_s=0.01, max_wait_s=0.2)
DAY_S = 86_400
# source_url_kind (sandbox) -> (state, http_status) a probe must find; `slow` depends on the
# probe's timeout and is decided by kind_state()
KIND_STATE: dict[str, tuple[str, int | None]] = {
    "live": ("live", 200),
    "redirect": ("live", 200),
    "gone_404": ("gone", 404),
    "gone_410": ("gone", 410),
    "forbidden": ("forbidden", 403),
    "expired": ("expired", None),
    "not_available": ("not_available", None),
}
RESOLUTION_COLUMNS = (
    "asset_id",
    "platform_id",
    "iris_id",
    "echoed_platform_id",
    "default_recs",
    "recommendations",
    "uplynk_lastmod_at",
    "watched_at",
)
ASSET_COLUMNS = (
    "iris_id",
    "platform_id",
    "title",
    "description",
    "source_url",
    "source_url_expires_at",
    "source_url_state",
    "thumbnail_url",
    "closed_caption_url",
    "length_s",
    "source_keywords",
    "billing_id",
    "checked_at",
)
CHECK_COLUMNS = (
    "system",
    "asset_id",
    "url",
    "status",
    "reason",
    "http_status",
    "expires_at",
    "final_url",
    "checked_at",
)
_TIMESTAMPS = {
    "uplynk_lastmod_at",
    "watched_at",
    "source_url_expires_at",
    "checked_at",
    "expires_at",
    "fetched_at",
    "requested_at",
    "new_url_expires_at",
}


def iris_settings(sandbox) -> IrisSettings:
    return IrisSettings.from_env(sandbox.env)


def new_warehouse(tmp_path: Path, name: str = "wh") -> Warehouse:
    return Warehouse(tmp_path / f"{name}.duckdb", tmp_path / f"{name}-lake")


def with_uplynk(sandbox, tmp_path: Path, name: str = "wh") -> Warehouse:
    """A warehouse holding the sandbox's Uplynk catalog (the Watch walk's seeds)."""
    warehouse = new_warehouse(tmp_path, name)
    run_uplynk(sandbox, warehouse)
    return warehouse


def run_iris(sandbox, warehouse: Warehouse, **options: Any) -> SyncReport:
    retry = options.pop("retry", FAST_RETRY)
    return sync_iris(
        iris_settings(sandbox), warehouse, SyncOptions(**options), retry=retry, timeout=10.0
    )


def cli(sandbox, warehouse: Warehouse, *args: str) -> subprocess.Popen:
    """``python -m connector <args>`` against the sandbox and ``warehouse``."""
    env = {**os.environ, **sandbox.env}
    env["CONNECTOR_WAREHOUSE"] = str(warehouse.path)
    env["CONNECTOR_LAKE"] = str(warehouse.lake_root)
    return subprocess.Popen(
        [sys.executable, "-m", "connector", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


# -- ground truth, restated -------------------------------------------------------------------


def without_token(url: str | None) -> str | None:
    """The sandbox's CDN URL (``...?token=<hex>&expires=<s>``) as the data dictionary says
    it is stored: the ``token`` parameter removed, ``expires`` kept."""
    if url is None or url == "NOT_AVAILABLE":
        return None
    return re.sub(r"([?&])token=[^&]*&?", r"\1", url).rstrip("?&")


def kind_state(kind: str, slow_is: str) -> tuple[str, int | None]:
    """(state, http_status) for a source_url_kind; ``slow_is`` is ``timeout`` when the
    probe's timeout is below the sandbox's ``slow_s``, else ``live``."""
    if kind == "slow":
        return ("timeout", None) if slow_is == "timeout" else ("live", 200)
    return KIND_STATE[kind]


def keywords(value: Any) -> list[str] | None:
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else value
    return [k.strip() for k in parts if k.strip()]


@dataclass
class IrisTruth:
    """The sandbox's IRIS world now: assets by iris_id, by exact platform_id, and the
    default recommendations (for the ``number`` asked)."""

    number: int
    by_id: dict[str, dict] = field(default_factory=dict)
    by_platform: dict[str, dict] = field(default_factory=dict)
    default_recs: list[str] = field(default_factory=list)
    anchor_s: int = 0

    def recommendations_for(self, platform_id: str) -> tuple[str | None, list[str]]:
        """(echoed iris_id or None, recommended iris_ids) of a Watch for ``platform_id``:
        IRIS matches the platform_id exactly, else answers its defaults."""
        row = self.by_platform.get(platform_id)
        if row is None:
            return None, list(self.default_recs)
        return row["iris_id"], list(row["recommendations"])


def iris_truth(sandbox, number: int = 10) -> IrisTruth:
    truth = IrisTruth(number, anchor_s=sandbox.iris_config()["anchor_s"])
    for row in sandbox.expected_iris(number):
        truth.by_id[row["iris_id"]] = row
        if row["platform_id"] is not None:
            truth.by_platform[row["platform_id"]] = row
    truth.default_recs = sandbox.iris_default_recs(number)
    return truth


def seeds(sandbox) -> dict[str, dict]:
    """The sandbox's live, well-formed Uplynk assets that have an external_id."""
    return {a: r for a, r in sandbox_assets(sandbox).live.items() if r["external_id"]}


def restate_resolution(record: dict, truth: IrisTruth) -> dict:
    """An Uplynk asset -> its raw.iris_resolutions row (watched_at left out)."""
    ext = record["external_id"]
    iris_id, recs = truth.recommendations_for(ext)
    return {
        "asset_id": record["id"],
        "platform_id": ext,
        "iris_id": iris_id,
        "echoed_platform_id": None if iris_id is None else truth.by_id[iris_id]["platform_id"],
        "default_recs": iris_id is None,
        "recommendations": len(recs),
        "uplynk_lastmod_at": record["lastmod"] or None,
    }


def restate_asset(row: dict, slow_is: str) -> dict:
    """An IRIS asset as the data API serves it now -> its raw.iris_assets row (checked_at
    left out): tokens removed, keywords as a list, billing_id as text."""
    return {
        "iris_id": row["iris_id"],
        "platform_id": row["platform_id"],
        "title": row["title"],
        "description": row["description"],
        "source_url": without_token(row["source_url"]),
        "source_url_expires_at": None if row["expires"] is None else row["expires"] * 1000,
        "source_url_state": kind_state(row["source_url_kind"], slow_is)[0],
        "thumbnail_url": row["thumbnail_url"],
        "closed_caption_url": row["closed_caption_url"],
        "length_s": None if row["length_secs"] is None else float(row["length_secs"]),
        "source_keywords": keywords(row["source_keywords"]),
        "billing_id": None if row["billing_id"] is None else str(row["billing_id"]),
    }


# -- what the warehouse holds -------------------------------------------------------------------


def table_columns(warehouse: Warehouse, table: str) -> tuple[str, ...]:
    schema, name = table.split(".")
    with warehouse.read() as con:
        return tuple(
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, name],
            ).fetchall()
        )


def stored(warehouse: Warehouse, table: str, columns: tuple[str, ...] | None = None) -> list[dict]:
    """Every row of ``table`` as dicts (timestamps as epoch ms); with ``columns``, fails
    when the table has a column the restatements do not cover."""
    have = table_columns(warehouse, table)
    if columns is not None:
        assert have == columns, f"{table} changed: restate its columns in tests/iris_helpers.py"
    select = ", ".join(f"epoch_ms({c})" if c in _TIMESTAMPS else c for c in have)
    with warehouse.read() as con:
        rows = con.execute(f"SELECT {select} FROM {table}").fetchall()
    return [dict(zip(have, r, strict=True)) for r in rows]


def by_key(rows: list[dict], key: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in rows:
        assert r[key] not in out, f"{key} {r[key]} stored twice"
        out[r[key]] = r
    return out


def latest_snapshots(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Each seed's latest snapshot: [(rank, iris_id, platform_id, default_recs)] by rank."""
    out: dict[str, list[tuple]] = {}
    rows = stored(warehouse, "raw.iris_recommendations")
    latest: dict[str, int] = {}
    for r in rows:
        latest[r["seed_platform_id"]] = max(latest.get(r["seed_platform_id"], 0), r["fetched_at"])
    for r in sorted(rows, key=lambda r: r["rank"]):
        if r["fetched_at"] == latest[r["seed_platform_id"]]:
            out.setdefault(r["seed_platform_id"], []).append(
                (
                    r["rank"],
                    r["recommended_iris_id"],
                    r["recommended_platform_id"],
                    r["default_recs"],
                )
            )
    return out


def _diff(got: dict | None, want: dict) -> str:
    if got is None:
        return "missing"
    return ", ".join(f"{k}: {got.get(k)!r} != {v!r}" for k, v in want.items() if got.get(k) != v)


def assert_resolutions_match(
    want_seeds: dict[str, dict], warehouse: Warehouse, truth: IrisTruth
) -> dict[str, dict]:
    """raw.iris_resolutions and each seed's latest snapshot against the sandbox's seeds
    (:func:`seeds`) and IRIS truth; returns the stored resolutions by asset_id."""
    got = by_key(stored(warehouse, "raw.iris_resolutions", RESOLUTION_COLUMNS), "asset_id")
    snapshots = latest_snapshots(warehouse)
    problems = []
    if set(got) != set(want_seeds):
        problems.append(
            f"seeds: {len(set(want_seeds) - set(got))} missing, {len(set(got) - set(want_seeds))} extra"
        )
    for asset_id, record in want_seeds.items():
        want = restate_resolution(record, truth)
        row = got.get(asset_id)
        diff = _diff(row, want)
        if diff:
            problems.append(f"resolution {asset_id}: {diff}")
            continue
        _, recs = truth.recommendations_for(record["external_id"])
        default = want["default_recs"]
        snapshot_want = [
            (rank, iid, truth.by_id[iid]["platform_id"], default)
            for rank, iid in enumerate(recs, start=1)
        ]
        if snapshots.get(record["external_id"], []) != snapshot_want:
            problems.append(f"snapshot of {record['external_id']} differs")
    assert not problems, f"{len(problems)} differences, e.g. {problems[:4]}"
    return got


def known_iris_ids(truth: IrisTruth, seed_records: dict[str, dict]) -> set[str]:
    """The iris_ids a sync knows after resolving ``seed_records``: echoes and every
    recommendation of their Watch answers."""
    known: set[str] = set()
    for record in seed_records.values():
        echo, recs = truth.recommendations_for(record["external_id"])
        known.update(recs)
        if echo is not None:
            known.add(echo)
    return known


def assert_assets_match(
    warehouse: Warehouse, truth: IrisTruth, ids: set[str], slow_is: str
) -> dict[str, dict]:
    """raw.iris_assets and the IRIS rows of raw.media_url_checks for ``ids`` against the
    sandbox now; returns the stored assets by iris_id."""
    assets = by_key(stored(warehouse, "raw.iris_assets", ASSET_COLUMNS), "iris_id")
    checks = {
        r["asset_id"]: r
        for r in stored(warehouse, "raw.media_url_checks", CHECK_COLUMNS)
        if r["system"] == "iris"
    }
    problems = []
    if set(assets) != ids:
        problems.append(f"ids: {len(ids - set(assets))} missing, {len(set(assets) - ids)} extra")
    for iris_id in ids:
        row = truth.by_id[iris_id]
        want = restate_asset(row, slow_is)
        diff = _diff(assets.get(iris_id), want)
        if diff:
            problems.append(f"asset {iris_id} ({row['source_url_kind']}): {diff}")
        if row["source_url_kind"] == "not_available":
            if iris_id in checks:
                problems.append(f"{iris_id}: NOT_AVAILABLE has a URL check")
            continue
        state, status = kind_state(row["source_url_kind"], slow_is)
        want_check = {
            "url": without_token(row["source_url"]),
            "status": state,
            "http_status": status,
            "expires_at": row["expires"] * 1000,
        }
        diff = _diff(checks.get(iris_id), want_check)
        if diff:
            problems.append(f"check {iris_id} ({row['source_url_kind']}): {diff}")
    assert not problems, f"{len(problems)} differences, e.g. {problems[:4]}"
    return assets


def ledger(warehouse: Warehouse) -> list[dict]:
    return sorted(
        stored(warehouse, "raw.iris_source_url_refreshes"),
        key=lambda r: (r["iris_id"], r["requested_at"]),
    )


def assert_ledger_rules_hold(warehouse: Warehouse) -> None:
    """No request after a not_available or gave_up row of the same id; not_available rows
    were never sent; no id was sent two refreshes in one run; no intent left pending."""
    problems = []
    barred_since: dict[str, int] = {}
    per_run: dict[tuple[str, str], int] = {}
    for r in ledger(warehouse):
        iid = r["iris_id"]
        if r["requested"] and iid in barred_since:
            problems.append(f"{iid} requested at {r['requested_at']} after {barred_since[iid]}")
        if r["outcome"] == "not_available" and r["requested"]:
            problems.append(f"{iid}: a refresh was sent for NOT_AVAILABLE")
        if r["outcome"] in ("not_available", "gave_up"):
            barred_since.setdefault(iid, r["requested_at"])
        if r["requested"]:
            key = (iid, r["run_id"])
            per_run[key] = per_run.get(key, 0) + 1
    problems += [f"{k} refreshed {n} times in one run" for k, n in per_run.items() if n > 1]
    with warehouse.read() as con:
        pending = con.execute("SELECT count(*) FROM meta.iris_refresh_pending").fetchone()[0]
    if pending:
        problems.append(f"{pending} refresh intents left pending")
    assert not problems, f"{len(problems)} ledger problems, e.g. {problems[:4]}"


def refreshed_since_anchor(row: dict, truth: IrisTruth) -> bool:
    """Whether the URL served now was minted by a refresh: first URLs expire before the
    anchor (kind expired) or 2 to 14 days after it (sandbox/iris_catalog.py), a refreshed one
    ``url_ttl_s`` after the refresh."""
    return (
        row["expires"] is not None and truth.anchor_s < row["expires"] < truth.anchor_s + 2 * DAY_S
    )
