"""Reconcile benchmark: precision and recall of core.asset_xref against the world's truth,
time and peak memory of a full run, a re-run and an incremental run after 1,000 changes.
(The Splink comparison of the probabilistic stage is bench/reconcile_splink.py.)

    .venv/bin/python bench/reconcile.py                       # 1,000,000 Uplynk, 100,000 IBM,
                                                             # 50,000 VALT, every IRIS id
    .venv/bin/python bench/reconcile.py --uplynk 100000 --ibm 10000 --valt 5000 --json

Rows come straight from the sandbox world's derivations (bench/xref_world.py), inserted into
a fresh warehouse; each reconcile run is its own child process (``python -m connector
reconcile``), so its wall time and peak RSS (os.wait4) are its own. Pairwise links: every two
records of one cluster (different systems, or two Uplynk re-uploads). Human-readable output
goes to stderr; ``--json`` prints every figure as one JSON object on stdout's last line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.xref_world import build  # noqa: E402
from connector.warehouse import Warehouse  # noqa: E402

EPOCH_MS = 1_760_000_000_000
PRED_PAIRS = """
SELECT a.system AS sa, a.system_id AS ia, b.system AS sb, b.system_id AS ib,
       a.rule AS rule_a, b.rule AS rule_b
FROM core.asset_xref a JOIN core.asset_xref b
  ON a.canonical_id = b.canonical_id AND (a.system, a.system_id) < (b.system, b.system_id)
"""


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def run_child(env: dict[str, str], *args: str) -> dict:
    """``python -m connector reconcile`` in a child: its report, wall time and peak RSS."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector", "reconcile", *args], env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"reconcile failed:\n{stderr[-3000:]}")
    report = json.loads(stdout.strip().splitlines()[-1])
    rss = usage.ru_maxrss / 1024
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(rss, 1), "report": report}


def evaluate(wh: Warehouse, truth) -> dict:
    """Precision/recall per system pair, recall per truth path and noise, per-rule precision
    of the links, decoys merged."""
    pred = wh.query_arrow(PRED_PAIRS)
    links = wh.query_arrow("SELECT * FROM meta.xref_links")
    con = duckdb.connect()
    con.register("truth", truth)
    con.register("pred", pred)
    con.register("links", links)
    con.execute(
        "CREATE TABLE tp AS SELECT a.system sa, a.system_id ia, b.system sb, b.system_id ib, "
        "b.via via_b, a.via via_a, b.noise noise_b FROM truth a JOIN truth b "
        "ON a.content = b.content AND (a.system, a.system_id) < (b.system, b.system_id)"
    )
    pairs = con.execute(
        """
        WITH p AS (SELECT sa || '~' || sb AS pair, ia, ib FROM pred),
             t AS (SELECT sa || '~' || sb AS pair, ia, ib FROM tp)
        SELECT coalesce(p.pair, t.pair) AS pair,
               count(p.ia) AS predicted, count(t.ia) AS true_pairs,
               count(p.ia) FILTER (WHERE t.ia IS NOT NULL) AS correct
        FROM p FULL JOIN t ON p.pair = t.pair AND p.ia = t.ia AND p.ib = t.ib
        GROUP BY ALL ORDER BY 1
        """
    ).fetchall()
    per_pair = {
        name: {
            "predicted": pr,
            "true": tr,
            "precision": round(c / pr, 5) if pr else None,
            "recall": round(c / tr, 5) if tr else None,
        }
        for name, pr, tr, c in pairs
    }
    by_path = con.execute(
        """
        SELECT sa || '~' || sb || ' via ' || CASE WHEN sa = 'uplynk' AND sb = 'uplynk'
               THEN coalesce(nullif(via_a, ''), via_b) ELSE coalesce(nullif(via_b, ''), via_a) END,
               count(*), count(p.ia)
        FROM tp LEFT JOIN pred p USING (sa, ia, sb, ib)
        WHERE (sa = 'uplynk' OR sb = 'uplynk') GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    noise = con.execute(
        """
        SELECT split_part(noise_b, '/', 1), count(*), count(p.ia)
        FROM tp LEFT JOIN pred p USING (sa, ia, sb, ib)
        WHERE sa IN ('ibm', 'iris') AND sb = 'uplynk' OR sa = 'uplynk' AND sb = 'valt'
        GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    rules = con.execute(
        """
        SELECT l.rule, count(*), count(*) FILTER (WHERE a.content = b.content)
        FROM links l
        JOIN truth a ON a.system = l.left_system AND a.system_id = l.left_id
        JOIN truth b ON b.system = l.right_system AND b.system_id = l.right_id
        GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    decoys = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE p.ia IS NOT NULL OR p2.ia IS NOT NULL)
        FROM truth t
        LEFT JOIN (SELECT DISTINCT sa, ia FROM pred) p ON p.sa = t.system AND p.ia = t.system_id
        LEFT JOIN (SELECT DISTINCT sb, ib AS ia FROM pred) p2
               ON p2.sb = t.system AND p2.ia = t.system_id
        WHERE t.decoy IS NOT NULL
        """
    ).fetchone()
    return {
        "pairs": per_pair,
        "recall_by_path": {
            k: {"true": n, "found": f, "recall": round(f / n, 5)} for k, n, f in by_path
        },
        "recall_by_title_noise": {k: round(f / n, 5) for k, n, f in noise},
        "precision_by_rule": {k: {"links": n, "precision": round(c / n, 5)} for k, n, c in rules},
        "decoys": {"total": decoys[0], "merged": decoys[1]},
    }


def apply_changes(wh: Warehouse, n: int) -> dict:
    """``n`` changes that keep the truth: Uplynk titles gaining " (HD)" (40%), IBM lengths
    off by one more second (30%), VALT names upper-cased (30%)."""
    counts = {"uplynk": int(n * 0.4), "ibm": int(n * 0.3)}
    counts["valt"] = n - counts["uplynk"] - counts["ibm"]
    with wh.write() as tx:
        tx.run(
            "UPDATE raw.uplynk_assets SET title = title || ' (HD)' WHERE asset_id IN "
            "(SELECT asset_id FROM raw.uplynk_assets ORDER BY hash(asset_id) LIMIT $n)",
            {"n": counts["uplynk"]},
        )
        tx.run(
            "UPDATE raw.ibm_videos SET length_s = length_s + 1 WHERE video_id IN "
            "(SELECT video_id FROM raw.ibm_videos ORDER BY hash(video_id) LIMIT $n)",
            {"n": counts["ibm"]},
        )
        tx.run(
            "UPDATE raw.valt_recordings SET name = upper(name) WHERE record_id IN "
            "(SELECT record_id FROM raw.valt_recordings ORDER BY hash(record_id) LIMIT $n)",
            {"n": counts["valt"]},
        )
    return counts


def load_world(world) -> tuple[Warehouse, dict[str, str]]:
    """A fresh warehouse in a temp folder holding the world's raw rows, and the environment
    that points ``python -m connector`` at it."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    wh = Warehouse(tmp / "w.duckdb", tmp / "lake")
    for table, rows in world.tables.items():
        for start in range(0, rows.num_rows, 200_000):
            with wh.write() as tx:
                tx.run(
                    f"INSERT INTO {table} BY NAME SELECT * FROM rows",
                    inputs={"rows": rows.slice(start, 200_000)},
                )
    env = {
        **os.environ,
        "CONNECTOR_WAREHOUSE": str(tmp / "w.duckdb"),
        "CONNECTOR_LAKE": str(tmp / "lake"),
    }
    return wh, env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--uplynk", type=int, default=1_000_000)
    ap.add_argument("--ibm", type=int, default=100_000)
    ap.add_argument("--valt", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    t0 = time.monotonic()
    world = build(args.seed, args.uplynk, args.ibm, args.valt, EPOCH_MS)
    sizes = {t: tbl.num_rows for t, tbl in world.tables.items()}
    log(f"world built in {time.monotonic() - t0:.1f}s: {sizes}")
    wh, env = load_world(world)
    out: dict = {"sizes": sizes, "seed": args.seed, "source": "sandbox world derivations (no HTTP)"}

    out["full"] = run_child(env)
    log(f"full run: {out['full']['wall_s']}s, peak {out['full']['peak_rss_mb']} MB")
    out["quality"] = evaluate(wh, world.truth)
    out["rerun"] = run_child(env)
    log(f"re-run: {out['rerun']['wall_s']}s, xref rows changed {out['rerun']['report']['updated']}")
    out["changes"] = apply_changes(wh, args.changes)
    out["incremental"] = run_child(env)
    log(f"incremental after {args.changes} changes: {out['incremental']['wall_s']}s")
    out["quality_after_changes"] = evaluate(wh, world.truth)["pairs"]
    _print(out)
    if args.json:
        print(json.dumps(out, default=str))


def _print(out: dict) -> None:
    q = out["quality"]
    for pair, f in q["pairs"].items():
        ok = f["precision"] is not None and f["recall"] is not None
        mark = "PASS" if ok and f["precision"] >= 0.995 and f["recall"] >= 0.97 else "MISS"
        log(
            f"{pair:15s} predicted {f['predicted']:8d} true {f['true']:8d} "
            f"P {f['precision']} R {f['recall']}  {mark}"
        )
    for path, f in q["recall_by_path"].items():
        log(f"recall {path:32s} {f['found']:8d}/{f['true']:<8d} {f['recall']}")
    for rule, f in q["precision_by_rule"].items():
        log(f"precision {rule:45s} {f['links']:8d} links  {f['precision']}")
    log(f"title noise recall: {q['recall_by_title_noise']}")
    log(f"decoys merged: {q['decoys']['merged']} of {q['decoys']['total']}")
    for phase in ("full", "rerun", "incremental"):
        f = out[phase]
        mark = "PASS" if f["wall_s"] < 60 and f["peak_rss_mb"] < 2048 else "MISS"
        log(f"{phase:12s} {f['wall_s']:7.2f}s  peak {f['peak_rss_mb']:7.1f} MB  {mark}")


if __name__ == "__main__":
    main()
