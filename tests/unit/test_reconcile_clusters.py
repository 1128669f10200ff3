"""Cluster labels from pairwise links (connector/reconcile/clusters.py): every record of a
connected group gets the group's smallest record as its label, however the links run."""

from __future__ import annotations

import pyarrow as pa

from connector.reconcile.clusters import components


def _labels(pairs: list[tuple[str, str]]) -> dict[str, str]:
    table, _ = components(pa.array([a for a, _ in pairs]), pa.array([b for _, b in pairs]))
    return {f"{s}:{i}": label for s, i, label in zip(*table.to_pydict().values(), strict=True)}


def test_each_group_is_labelled_by_its_smallest_record_and_groups_stay_apart():
    got = _labels([("ibm:7", "uplynk:u9"), ("iris:i1", "uplynk:u9"), ("valt:v2", "uplynk:u3")])
    assert got == {
        "uplynk:u9": "ibm:7",
        "ibm:7": "ibm:7",
        "iris:i1": "ibm:7",
        "valt:v2": "uplynk:u3",
        "uplynk:u3": "uplynk:u3",
    }


def test_a_long_chain_linked_in_any_order_is_one_group():
    nodes = [f"uplynk:{k:04d}" for k in range(300)]
    order = sorted(range(299), key=lambda k: (k * 7919) % 299)  # links in scrambled order
    got = _labels([(nodes[k + 1], nodes[k]) for k in order])
    assert set(got.values()) == {"uplynk:0000"} and len(got) == 300


def test_an_id_holding_a_colon_keeps_it_and_no_links_give_no_rows():
    assert _labels([("uplynk:a:b", "ibm:1")]) == {"uplynk:a:b": "ibm:1", "ibm:1": "ibm:1"}
    table, steps = components(pa.array([], pa.string()), pa.array([], pa.string()))
    assert table.num_rows == 0 and steps == 0
