"""Probabilistic matching of what the key rules leave: blocking, scoring, deciding.

Per fuzzy pair of ``rules.toml`` (left system against right system):

1. :func:`block_and_score` finds the candidate pairs that touch a dirty record
   (``add_candidates.sql``: the same normalised title, or the same first/last word and
   numbers with durations in neighbouring buckets, or created within a day with such
   durations; never all pairs), then scores them batch by batch (:func:`score_table`: the
   titles' rapidfuzz Indel similarity, the numbers in them, their first words, the duration
   and date gaps, each
   mapped to a weight of ``[scoring]`` and summed, log-odds, Fellegi-Sunter style) and stores
   them with their scores;
3. :func:`decide` (in the final transaction, over every stored pair) links each left record to
   its best candidate when it scores at least ``threshold`` and beats the runner-up by
   ``margin``, keeps right records one-to-one, lets re-uploads join where the pair allows
   ``many = "right"``, and records every undecided case in ``core.xref_conflicts``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from rapidfuzz import process
from rapidfuzz.distance import Indel

from connector.warehouse import WriteTx, sql_file

from .rules import FuzzyPair, Rules


def _params(pair: FuzzyPair) -> dict[str, str]:
    return {"rule": pair.rule, "left_system": pair.left, "right_system": pair.right}


def block_and_score(
    tx: WriteTx, pair: FuzzyPair, rules: Rules, *, full: bool, batch_rows: int
) -> int:
    """Forget the pair's candidates touching dirty records, block them again and store them
    scored; returns the number of pairs added. The new pairs' features are read as a stream
    of ``batch_rows``-row Arrow batches, each scored at once (rapidfuzz ``cpdist`` over the
    batch, numpy for the weights: no Python loop per pair), and all are inserted in one
    statement."""
    s = rules.scoring
    tx.run(sql_file(__file__, "drop_dirty_candidates"), _params(pair))
    tx.run(sql_file(__file__, "new_pairs_clear"))
    for restrict in ("none",) if full else ("left", "right"):
        tx.run(
            sql_file(__file__, "add_candidates"),
            {
                **_params(pair),
                "restrict": restrict,
                "bucket_s": s["duration_bucket_s"],
                "max_block": int(s["max_block"]),
            },
        )
    reader = tx.execute(
        sql_file(__file__, "new_pair_features"),
        {"left_system": pair.left, "right_system": pair.right},
    ).to_arrow_reader(batch_rows)
    scored = [score_table(pa.Table.from_batches([batch]), s) for batch in reader]
    if not scored:
        return 0
    scores = pa.concat_tables(scored)
    tx.run(sql_file(__file__, "insert_candidates"), {"rule": pair.rule}, inputs={"scores": scores})
    return scores.num_rows


def _levels(values: np.ndarray, bounds: list[tuple[float, float]], other: float) -> np.ndarray:
    """Weight of each value: the first (upper bound, weight) it is below or at; NaN -> 0."""
    out = np.full(len(values), other, dtype=np.float64)
    done = np.isnan(values)
    out[done] = 0.0
    for bound, weight in bounds:
        hit = ~done & (values <= bound)
        out[hit] = weight
        done |= hit
    return out


def score_table(rows: pa.Table, s: dict[str, float]) -> pa.Table:
    """Scores of candidate pairs (``unscored_chunk.sql``'s columns) -> left_id, right_id,
    score, title_match, duration_gap."""
    left = rows.column("left_title").to_pylist()
    right = rows.column("right_title").to_pylist()
    sim = process.cpdist(left, right, scorer=Indel.normalized_similarity, workers=1)
    exact = np.array([a == b for a, b in zip(left, right, strict=True)], dtype=bool)
    title = np.where(
        exact,
        s["title_exact"],
        np.where(
            sim >= s["title_typo_min"],
            s["title_typo"],
            np.where(sim >= s["title_close_min"], s["title_close"], s["title_other"]),
        ),
    )
    agree = rows.column("nums_agree").to_numpy(zero_copy_only=False)
    no_nums = rows.column("no_nums").to_numpy(zero_copy_only=False)
    numbers = np.where(no_nums, 0.0, np.where(agree, s["numbers_agree"], s["numbers_differ"]))
    first = rows.column("first_agree").to_numpy(zero_copy_only=False)
    first_word = np.where(first, s["first_word_agree"], s["first_word_differ"])
    gap = rows.column("duration_gap").to_numpy(zero_copy_only=False).astype(np.float64)
    duration = _levels(
        gap,
        [
            (0.999, s["duration_same"]),
            (2.5, s["duration_near"]),
            (5.0, s["duration_loose"]),
        ],
        s["duration_other"],
    )
    hours = rows.column("created_gap_h").to_numpy(zero_copy_only=False).astype(np.float64)
    created = _levels(
        hours, [(2.0, s["created_same"]), (48.0, s["created_near"])], s["created_other"]
    )
    return pa.table(
        {
            "left_id": rows.column("left_id"),
            "right_id": rows.column("right_id"),
            "score": pa.array(title + numbers + first_word + duration + created, pa.float64()),
            "title_match": pa.array(sim >= s["title_typo_min"]),
            "duration_gap": pa.array(gap, pa.float64(), from_pandas=True),
        }
    )


def decide(tx: WriteTx, pair: FuzzyPair, rules: Rules, now: object) -> int:
    """Link the pair's records from the stored scores (after the key links are in
    meta.xref_links) and record its conflicts; returns the number of links made."""
    s = rules.scoring
    params = {**_params(pair), "threshold": s["threshold"], "dup_s": s["duplicate_seconds"]}
    tx.run(sql_file(__file__, "rank_fuzzy"), params)
    claim = {"margin": s["margin"], "many": pair.many}
    tx.run(sql_file(__file__, "claim_fuzzy"), claim)
    links = tx.run(
        sql_file(__file__, "insert_fuzzy_links"),
        {
            "left_system": pair.left,
            "right_system": pair.right,
            "name": pair.name,
            "margin": s["margin"],
        },
    )
    tx.run(
        sql_file(__file__, "insert_fuzzy_conflicts"),
        {**_params(pair), "margin": s["margin"], "many": pair.many, "now": now},
    )
    return links
