"""Upsert throughput of the warehouse: ``python bench/warehouse_upsert.py [--rows N]``.

Scenarios (each batch in its own ``Warehouse.write()``: open file, BEGIN, MERGE, COMMIT,
close, which includes DuckDB's checkpoint on close):
  build      a table of N rows built up from 50k-row batches of new keys
  changed    50k rows with changed values, keys spread over the whole table
  unchanged  the same 50k rows again (counted unchanged, nothing rewritten)
  full       one N-row batch, every row changed
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pyarrow as pa

from connector.warehouse import Warehouse  # noqa: E402

DDL = """
CREATE TABLE IF NOT EXISTS raw.bench_assets (
    asset_id VARCHAR NOT NULL, external_id VARCHAR, title VARCHAR, duration_ms BIGINT,
    created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, status VARCHAR, meta JSON,
    tags VARCHAR[], deleted_at TIMESTAMPTZ
);
"""
TS = pa.timestamp("ms", tz="UTC")


def batch(ids: np.ndarray, ver: int) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "asset_id": pa.array([f"a{i:08d}" for i in ids]),
            "external_id": pa.array([f"ext-{i}" for i in ids]),
            "title": pa.array([f"Title {i} v{ver}" for i in ids]),
            "duration_ms": pa.array(ids * 1000 + ver, pa.int64()),
            "created_at": pa.array(1_600_000_000_000 + ids, TS),
            "updated_at": pa.array(1_700_000_000_000 + ids + ver, TS),
            "status": pa.array(["ready"] * n),
            "meta": pa.array([f'{{"rating": {i % 5}, "v": {ver}}}' for i in ids]),
            "tags": pa.array([["news", "sport"]] * n, pa.list_(pa.string())),
            "deleted_at": pa.nulls(n, TS),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    n, b = args.rows, args.batch
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        mig = Path(tmp) / "migrations"
        mig.mkdir()
        core = (
            Path(__file__).resolve().parent.parent / "connector/warehouse/migrations/0001_core.sql"
        )
        (mig / "0001_core.sql").write_text(core.read_text())
        (mig / "0002_bench.sql").write_text(DDL)
        wh = Warehouse(Path(tmp) / "w.duckdb", Path(tmp) / "lake", migrations_dir=mig)
        wh.migrate()
        batches = [batch(np.arange(lo, min(lo + b, n)), 0) for lo in range(0, n, b)]
        t0, in_upsert = time.perf_counter(), 0.0
        for bt in batches:
            with wh.write() as tx:
                t1 = time.perf_counter()
                tx.upsert("raw.bench_assets", bt, ["asset_id"])
                in_upsert += time.perf_counter() - t1
        out["build_rows_per_s"] = n / (time.perf_counter() - t0)
        out["build_upsert_call_rows_per_s"] = n / in_upsert

        ids = np.sort(np.random.default_rng(7).choice(n, b, replace=False))
        changed = batch(ids, 1)
        for name in ("changed", "unchanged"):
            t0 = time.perf_counter()
            with wh.write() as tx:
                t1 = time.perf_counter()
                c = tx.upsert("raw.bench_assets", changed, ["asset_id"])
                in_upsert = time.perf_counter() - t1
            out[f"{name}_rows_per_s"] = b / (time.perf_counter() - t0)
            out[f"{name}_upsert_call_rows_per_s"] = b / in_upsert
            out[f"{name}_counts"] = [c.inserted, c.updated, c.unchanged]

        full = pa.concat_tables(batch(np.arange(lo, min(lo + b, n)), 2) for lo in range(0, n, b))
        t0 = time.perf_counter()
        with wh.write() as tx:
            t1 = time.perf_counter()
            tx.upsert("raw.bench_assets", full, ["asset_id"])
            in_upsert = time.perf_counter() - t1
        out["full_rows_per_s"] = n / (time.perf_counter() - t0)
        out["full_upsert_call_rows_per_s"] = n / in_upsert
    if args.json:
        print(json.dumps(out))
        return
    print("rows/s: end-to-end write() (open, BEGIN, upsert, COMMIT, close+checkpoint) | upsert()")
    labels = {
        "build": f"build {n:,} rows from {b:,}-row batches",
        "changed": f"re-upsert {b:,} changed rows into {n:,}",
        "unchanged": f"re-upsert the same {b:,} (unchanged)",
        "full": f"one {n:,}-row upsert, all changed",
    }
    for k, label in labels.items():
        print(
            f"{label:<45} {out[k + '_rows_per_s']:>10,.0f} | "
            f"{out[k + '_upsert_call_rows_per_s']:>10,.0f}"
        )


if __name__ == "__main__":
    main()
