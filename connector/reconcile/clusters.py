"""Clusters from pairwise links: connected components, vectorised (no loop per record).

:func:`components` takes the links' two ends as Arrow string arrays (``system:system_id``) and
labels every linked record with the smallest record of its cluster (string order), the label
``core.asset_xref``'s canonical ids are derived from (``xref_next.sql`` reads the labels as
an Arrow table: they are never stored). Records are numbered
in sorted order, so "smallest" is the smallest number; each step lowers both ends of every
link to the smaller of their labels (``np.minimum.at``) and then jumps each label to its
label's label, until nothing changes: a few steps for clusters of a handful of records.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_STEPS = 10_000


def components(left: pa.Array, right: pa.Array) -> tuple[pa.Table, int]:
    """(system, system_id, label) for every node ``system:system_id`` of the links
    ``left[k] - right[k]``, label = the smallest node of its connected component; and the
    number of steps it took."""
    ends = pa.chunked_array([pc.cast(left, pa.string()), pc.cast(right, pa.string())])
    nodes = pc.unique(ends)
    nodes = nodes.take(pc.sort_indices(nodes))
    a = pc.index_in(left, value_set=nodes).to_numpy(zero_copy_only=False).astype(np.int64)
    b = pc.index_in(right, value_set=nodes).to_numpy(zero_copy_only=False).astype(np.int64)
    label = np.arange(len(nodes), dtype=np.int64)
    steps = 0
    while len(a):
        steps += 1
        if steps > MAX_STEPS:
            raise RuntimeError(f"cluster labels still changing after {MAX_STEPS} steps")
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    parts = pc.split_pattern(nodes, ":", max_splits=1)  # system names hold no ':'
    return (
        pa.table(
            {
                "system": pc.list_element(parts, 0),
                "system_id": pc.list_element(parts, 1),
                "label": nodes.take(pa.array(label)),
            }
        ),
        steps,
    )
