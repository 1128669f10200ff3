"""Splink (Fellegi-Sunter, EM training, on DuckDB) against the connector's own scorer, on the
probabilistic stage of reconciliation: precision, recall and time per fuzzy pair.

    .venv/bin/pip install -e '.[splink]'          # the bench-only extra
    .venv/bin/python bench/reconcile_splink.py --json      # 100,000 Uplynk assets
    .venv/bin/python bench/reconcile_splink.py --uplynk 1000000 --ibm 100000 --valt 50000

Both see the same input: the sandbox world's rows (bench/xref_world.py) in a fresh warehouse,
reconciled once by the connector (``python -m connector reconcile``, a child process); its
normalised records (meta.xref_records: norm_title, nums, first/last word, duration, date) are
then, per fuzzy pair of rules.toml (ibm~uplynk, valt~uplynk, iris~uplynk), split into the left
records and the right records that no key rule tied to the other system, which is what the
connector's fuzzy stage matches. Splink links them with:

- blocking: the same normalised title; or the same first word, numbers and 4 s duration
  bucket; or the same last word, numbers and bucket (the connector's B1-B3);
- comparisons: title (exact, Levenshtein <= 1, <= 2, <= 5), numbers (exact), duration
  (|gap| < 1 s, <= 2.5 s, <= 5 s), creation date (<= 2 h, <= 48 h; IRIS has none);
- training: lambda from the exact-title rule (recall 0.6), u by random sampling, m by EM
  (blocked on title, then on first word + numbers);
- decision: ``cluster_using_single_best_links`` at match probability >= ``--threshold``
  (one record per system per cluster: the one-to-one rule).

The connector's links are its meta.xref_links of rules ``fuzzy:<pair>`` and
``duplicate:<pair>``. Truth: two records of the same content (xref_world.truth), both in the
pair's input. Times: Splink's training + prediction + clustering per pair; the connector's
whole run (key rules, fuzzy stage, clusters, core.asset_xref) as one figure, since its fuzzy
stage is not timed apart: a comparison that favours Splink. ``--json``: the last stdout line
is one JSON object of every figure; human output goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reconcile import EPOCH_MS, load_world, log, run_child  # noqa: E402
from bench.xref_world import build  # noqa: E402
from connector.reconcile import load_rules  # noqa: E402

INPUT = """
SELECT r.system_id, r.norm_title, r.nums, r.first_token, r.last_token, r.duration_s,
       r.created_at, CAST(floor(r.duration_s / 4.0) AS BIGINT) AS b
FROM meta.xref_records AS r
WHERE r.system = $system AND r.norm_title <> ''
  AND NOT EXISTS (
      SELECT 1 FROM meta.xref_links AS k
      WHERE k.rule NOT LIKE 'fuzzy:%' AND k.rule NOT LIKE 'duplicate:%'
        AND ((k.left_system = $system AND k.left_id = r.system_id AND k.right_system = $other)
          OR (k.right_system = $system AND k.right_id = r.system_id
              AND k.left_system = $other)))
"""


def splink_pair(left, right, threshold: float) -> tuple[set[tuple[str, str]], dict]:
    """Link ``left`` to ``right`` (Arrow tables of INPUT's columns) with Splink; returns the
    links (left_id, right_id) and the phase times."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    con = duckdb.connect()
    con.execute("SET threads = 2")
    db = DuckDBAPI(connection=con)
    has_dates = left.column("created_at").null_count < left.num_rows
    comparisons = [
        cl.LevenshteinAtThresholds("norm_title", [1, 2, 5]),
        cl.ExactMatch("nums"),
        cl.CustomComparison(
            output_column_name="duration_s",
            comparison_levels=[
                {
                    "sql_condition": '"duration_s_l" IS NULL OR "duration_s_r" IS NULL',
                    "label_for_charts": "null",
                    "is_null_level": True,
                },
                {
                    "sql_condition": 'abs("duration_s_l" - "duration_s_r") < 1',
                    "label_for_charts": "<1s",
                },
                {
                    "sql_condition": 'abs("duration_s_l" - "duration_s_r") <= 2.5',
                    "label_for_charts": "<=2.5s",
                },
                {
                    "sql_condition": 'abs("duration_s_l" - "duration_s_r") <= 5',
                    "label_for_charts": "<=5s",
                },
                {"sql_condition": "ELSE", "label_for_charts": "else"},
            ],
        ),
    ]
    if has_dates:
        comparisons.append(
            cl.AbsoluteTimeDifferenceAtThresholds(
                "created_at", input_is_string=False, metrics=["hour", "hour"], thresholds=[2, 48]
            )
        )
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="system_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            block_on("norm_title"),
            block_on("first_token", "nums", "b"),
            block_on("last_token", "nums", "b"),
        ],
        retain_matching_columns=False,
    )
    times: dict[str, float] = {}
    t0 = time.monotonic()
    sdf_l = db.register(left, table_name="l_input")
    sdf_r = db.register(right, table_name="r_input")
    linker = Linker([sdf_l, sdf_r], settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("norm_title")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("norm_title"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_token", "nums")
    )
    times["train_s"] = round(time.monotonic() - t0, 2)
    t1 = time.monotonic()
    pred = linker.inference.predict(threshold_match_probability=threshold / 2)
    times["predict_s"] = round(time.monotonic() - t1, 2)
    t2 = time.monotonic()
    clusters = linker.clustering.cluster_using_single_best_links(
        pred, duplicate_free_datasets=["l_input", "r_input"], threshold_match_probability=threshold
    )
    rows = con.execute(
        f"SELECT cluster_id, source_dataset, system_id FROM {clusters.physical_name}"
    ).fetchall()
    times["cluster_s"] = round(time.monotonic() - t2, 2)
    times["total_s"] = round(time.monotonic() - t0, 2)
    by_cluster: dict[str, dict[str, str]] = {}
    for cid, source, sid in rows:
        by_cluster.setdefault(cid, {})[source] = sid
    links = {(m["l_input"], m["r_input"]) for m in by_cluster.values() if len(m) == 2}
    con.close()
    return links, times


def score(links: set[tuple[str, str]], true: set[tuple[str, str]]) -> dict:
    correct = len(links & true)
    return {
        "links": len(links),
        "true": len(true),
        "precision": round(correct / len(links), 5) if links else None,
        "recall": round(correct / len(true), 5) if true else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--uplynk", type=int, default=100_000)
    ap.add_argument("--ibm", type=int, default=10_000)
    ap.add_argument("--valt", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threshold", type=float, default=0.9, help="Splink match probability")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    world = build(args.seed, args.uplynk, args.ibm, args.valt, EPOCH_MS)
    wh, env = load_world(world)
    out: dict = {"sizes": {t: tbl.num_rows for t, tbl in world.tables.items()}}
    out["connector_run"] = run_child(env)
    log(f"connector, whole run: {out['connector_run']['wall_s']}s")
    truth = duckdb.connect()
    truth.register("truth", world.truth)
    out["pairs"] = {}
    for pair in load_rules().fuzzy:
        left = wh.query_arrow(INPUT, {"system": pair.left, "other": pair.right})
        right = wh.query_arrow(INPUT, {"system": pair.right, "other": pair.left})
        truth.register("l_ids", left.select(["system_id"]))
        truth.register("r_ids", right.select(["system_id"]))
        true = set(
            truth.execute(
                "SELECT a.system_id, b.system_id FROM truth a JOIN truth b USING (content) "
                "WHERE a.system = $l AND b.system = $r "
                "AND a.system_id IN (SELECT system_id FROM l_ids) "
                "AND b.system_id IN (SELECT system_id FROM r_ids)",
                {"l": pair.left, "r": pair.right},
            ).fetchall()
        )
        # the connector's links between the same inputs (a re-upload joining a keyed record
        # is outside them, as it is for Splink)
        ids_l = set(left.column("system_id").to_pylist())
        ids_r = set(right.column("system_id").to_pylist())
        mine = {
            (a, b)
            for a, b in wh.query(
                "SELECT left_id, right_id FROM meta.xref_links WHERE rule IN ($f, $d)",
                {"f": f"fuzzy:{pair.name}", "d": f"duplicate:{pair.name}"},
            )
            if a in ids_l and b in ids_r
        }
        theirs, times = splink_pair(left, right, args.threshold)
        got = {
            "inputs": {"left": left.num_rows, "right": right.num_rows},
            "connector": score(mine, true),
            "splink": {**score(theirs, true), **times},
        }
        out["pairs"][pair.name] = got
        log(
            f"{pair.name:12s} inputs {left.num_rows}x{right.num_rows}, true {len(true)}\n"
            f"  connector  P {got['connector']['precision']}  R {got['connector']['recall']}\n"
            f"  splink     P {got['splink']['precision']}  R {got['splink']['recall']}  "
            f"{times['total_s']}s (train {times['train_s']}, predict {times['predict_s']}, "
            f"cluster {times['cluster_s']})"
        )
    out["splink_total_s"] = round(sum(p["splink"]["total_s"] for p in out["pairs"].values()), 2)
    log(
        f"time: connector whole run {out['connector_run']['wall_s']}s, "
        f"splink fuzzy stage alone {out['splink_total_s']}s"
    )
    if args.json:
        print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
